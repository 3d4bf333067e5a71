"""What runs inside the training process. `PROBE_DIR` goes first on the child's PYTHONPATH.

May import: nothing of engine (the probe runs in the child's interpreter, standard library only).
"""

from pathlib import Path

PROBE_DIR = Path(__file__).resolve().parent
