"""The reference supervisor for the live benchmarks: the least a log-rule supervisor must do.

    .venv/bin/python bench/relay.py PACKDIR [PACKDIR...] -- COMMAND...

Starts COMMAND with its stdout on a pipe (stderr passes through), copies each read to our
stdout, splits lines, tries every `log` regex of the packs on every line, and for each match
appends one JSON line to .rlswarm/alerts.jsonl (open, write, close: as the tool's journal).
No cooldowns, no ANSI stripping, no engine: a floor to compare `rlswarm-rules run` with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replay_bench import load_regexes


def main() -> int:
    split = sys.argv.index("--")
    regexes = [r for d in sys.argv[1:split] for r in load_regexes(Path(d))]
    journal = Path(".rlswarm/alerts.jsonl")
    journal.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(sys.argv[split + 1 :], stdout=subprocess.PIPE, env=env, bufsize=0)
    assert proc.stdout is not None
    fd, out, pending = proc.stdout.fileno(), sys.stdout.fileno(), b""
    while data := os.read(fd, 65536):
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
        pending += data
        cut = pending.rfind(b"\n") + 1
        lines, pending = pending[:cut].decode("utf-8", "replace").split("\n"), pending[cut:]
        now = time.time()
        for line in lines:
            for regex in regexes:
                if regex.search(line):
                    with journal.open("a", encoding="utf-8") as f:
                        f.write(json.dumps({"t": now, "rule": regex.pattern, "line": line}) + "\n")
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
