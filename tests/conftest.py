from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

# Messages show local time with its zone; tests read them in UTC wherever they run.
os.environ["TZ"] = "UTC"
time.tzset()
# Every `run`/`watch` the tests start serves its dashboard on a free port, never on 5000.
os.environ.setdefault("RLSWARM_DASHBOARD_PORT", "0")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "rlswarm"


@pytest.fixture
def root() -> Path:
    return ROOT
