from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

# Messages show local time with its zone; tests read them in UTC wherever they run.
os.environ["TZ"] = "UTC"
time.tzset()

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "rlswarm"


@pytest.fixture
def root() -> Path:
    return ROOT
