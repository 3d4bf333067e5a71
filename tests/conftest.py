from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

# Messages show local time with its zone; tests read them in UTC wherever they run.
os.environ["TZ"] = "UTC"
time.tzset()
# Every `run`/`watch` the tests start serves its dashboard on a free port, never on 5000.
os.environ.setdefault("RLSWARM_DASHBOARD_PORT", "0")
# Rules, channels and state are found as in a fresh account: not in the user's config folder
# (~/.config/rlswarm-rules/) nor where the variables of the search order point.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="rlswarm-tests-config-")
for _name in ("RLSWARM_RULES", "RLSWARM_CHANNELS", "RLSWARM_STATE_DIR"):
    os.environ.pop(_name, None)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "rlswarm"


@pytest.fixture
def root() -> Path:
    return ROOT
