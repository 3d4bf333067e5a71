from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "rlswarm"


@pytest.fixture
def root() -> Path:
    return ROOT
