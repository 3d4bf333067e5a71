"""What runs inside the training process. `PROBE_DIR` goes first on the child's PYTHONPATH."""

from pathlib import Path

PROBE_DIR = Path(__file__).resolve().parent
