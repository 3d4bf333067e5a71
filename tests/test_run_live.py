"""`run` at a trickle, end to end: output coalesced for at most the pump's rest, never lost.

A real child writes stamped lines under `rlswarm-rules run`; each alert record carries the
time its line was read (`t`), so the journal shows how long each line waited and which lines
were read together.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from engine.supervise.sources.pump import REST_S

RULES = """\
rules:
  - id: stamped
    severity: info
    log: 'STAMP (?P<n>\\d+) t=(?P<sent>[\\d.]+)'
    cooldown: 0s
    summary: "stamp {n}"
    examples: {fires: ["STAMP 1 t=1.5"]}
"""
CHILD = """\
import sys, time
for i in range(40):
    time.sleep(0.01)
    sys.stdout.write(f"STAMP {i} t={time.time():.6f}\\n")
time.sleep(0.5)
sys.stdout.write(f"STAMP 40 t={time.time():.6f}\\n")  # after a quiet spell
sys.stdout.write(f"the end, no newline t={time.time():.6f}")
"""


def test_a_trickle_under_run_is_read_together_within_the_rest_and_the_tail_kept(
    tmp_path: Path,
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    (tmp_path / "child.py").write_text(textwrap.dedent(CHILD))
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--", sys.executable, "child.py"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    ended = time.time()
    assert proc.returncode == 0, proc.stderr.decode()
    shown = proc.stdout.split(b"\n")
    assert [line.split(b" t=")[0] for line in shown] == [
        *(b"STAMP %d" % i for i in range(41)),
        b"the end, no newline",
    ]  # byte for byte, the unterminated tail included
    journal = (tmp_path / ".rlswarm" / "alerts.jsonl").read_text()
    records = [json.loads(r) for r in journal.splitlines()]
    read_at = {int(r["values"]["n"]): (r["t"], float(r["values"]["sent"])) for r in records}
    assert sorted(read_at) == list(range(41))
    waits = [t - sent for t, sent in read_at.values()]
    assert max(waits) < REST_S + 0.2, waits  # no line waits much longer than the rest
    reads = len({t for n, (t, _) in read_at.items() if n < 40})
    assert reads <= 20, reads  # 40 writes 10 ms apart: read together, about one read per rest
    last_write = float(shown[-1].split(b" t=")[1])
    assert ended - last_write < 1.5, ended - last_write  # the exit ends `run` promptly
