"""Alert storms and floods under `rlswarm-rules run`: how fast alerts are evaluated, and how
late the alert for a crash line right after a flood comes.

    .venv/bin/python bench/storm_bench.py [--repeat 3] [--json OUT]      (or: bench/run storm)

- storm: a child prints N distinct alerting lines as fast as it can; one rule with
  `cooldown: 0s` notifies each (console, journal). Evaluation rate: N over the time from the
  child's first line to the last alert on the terminal (printed in the evaluating thread).
  With `group_by` on a distinct number instead, the core folds the groups past its cap.
- flood: 1M tqdm redraws (55 MB) and 200 MB of log lines, each followed by a CUDA OOM line;
  latency: from the OOM line's write to its alert on the terminal.

Reference, same invocation: the child alone writing the same output into a pipe that `cat`
empties (how fast the storm or flood comes). Figures are the best of --repeat.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TOOL = HERE.parent / ".venv" / "bin" / "rlswarm-rules"
STORM_LINES = 20_000
GROUP_LINES = 100_000
TARGET_ALERTS_S = 5000
TARGET_LATENCY_S = 1.0

PACKS = {
    "storm": """\
rules:
  - id: storm
    severity: error
    log: 'ALERT (?P<n>\\d+)'
    cooldown: 0s
    examples: {fires: ["ALERT 1"]}
""",
    "groups": """\
rules:
  - id: storm
    severity: error
    log: 'ALERT (?P<n>\\d+)'
    group_by: "{n}"
    examples: {fires: ["ALERT 1"]}
""",
}

CHILD = """\
    import sys, time
    mode, n = sys.argv[1], int(sys.argv[2])
    w = sys.stdout.buffer.write
    print(f"BENCH-START {time.time():.6f}", file=sys.stderr, flush=True)
    if mode == "alerts":
        for i in range(n):
            w(b"ALERT %d\\n" % i)
    elif mode == "redraw":
        for i in range(n):
            bar = b"\\xe2\\x96\\x88" * (i // 100000)
            w(b"\\r\\x1b[32mTraining: %3d%%|%s| %7d/1000000 [00:05]\\x1b[0m" % (i // 10000, bar, i))
    else:  # n MB of log lines
        block = b"INFO step 12345 loss=0.1234 reward=0.5678 lr=5e-07 kl=0.0012 all fine\\n" * 13_000
        for _ in range(n):
            w(block)
    sys.stdout.buffer.flush()
    print(f"BENCH-OOM {time.time():.6f}", file=sys.stderr, flush=True)
    w(b"\\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\\n")
    sys.stdout.buffer.flush()
    time.sleep(1)
"""


def watch(cmd: list[str], cwd: Path) -> dict[str, Any]:
    """Run `cmd`, timestamping its standard error lines as they come."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marks: dict[str, Any] = {"alerts": 0, "last_alert": None, "oom_alert": None}
    assert proc.stderr is not None

    def read() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            now, line = time.time(), raw.decode(errors="replace")
            if line.startswith("BENCH-START "):
                marks["start"] = float(line.split()[1])
            elif line.startswith("BENCH-OOM "):
                marks["oom_written"] = float(line.split()[1])
            elif "] ERROR storm" in line:
                marks["alerts"] += 1
                marks["last_alert"] = now
            elif "CRITICAL cuda-oom" in line:
                marks["oom_alert"] = marks["oom_alert"] or now
            elif "summary:" in line:
                marks["summary"] = now

    reader = threading.Thread(target=read)
    reader.start()
    proc.wait(timeout=900)
    reader.join()
    return marks


def alone(child: Path, mode: str, n: int) -> float:
    """Seconds the child takes to write its output into a pipe that `cat` empties."""
    cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(child))} {mode} {n} | cat > /dev/null"
    started = time.perf_counter()
    subprocess.run(["sh", "-c", cmd], stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started - 1.0  # its closing sleep


def storm(work: Path, child: Path, pack: str, n: int) -> dict[str, Any]:
    folder = work / pack
    (folder / "rules").mkdir(parents=True, exist_ok=True)
    (folder / "rules" / "p.yaml").write_text(PACKS[pack])
    marks = watch([str(TOOL), "run", "--", sys.executable, str(child), "alerts", str(n)], folder)
    end = marks["last_alert"] if pack == "storm" else marks.get("summary")
    seconds = end - marks["start"]
    return {"lines": n, "alerts": marks["alerts"], "seconds": seconds, "rate": n / seconds}


def flood(work: Path, child: Path, mode: str, n: int) -> dict[str, Any]:
    folder = work / f"flood-{mode}"
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [str(TOOL), "run", "--rules", str(HERE.parent / "rules"), "--"]
    marks = watch([*cmd, sys.executable, str(child), mode, str(n)], folder)
    late = marks["oom_alert"] - marks["oom_written"] if marks["oom_alert"] else None
    return {"latency": late, "written_s": marks["oom_written"] - marks["start"]}


def best(runs: list[dict[str, Any]], key: str, low: bool) -> dict[str, Any]:
    good = [r for r in runs if r.get(key) is not None]
    if not good:
        return runs[0]
    return min(good, key=lambda r: r[key]) if low else max(good, key=lambda r: r[key])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rlswarm-storm-") as tmp:
        work = Path(tmp)
        child = work / "child.py"
        child.write_text(textwrap.dedent(CHILD))
        for pack, n in (("storm", STORM_LINES), ("groups", GROUP_LINES)):
            run = best([storm(work, child, pack, n) for _ in range(args.repeat)], "rate", False)
            ref = min(alone(child, "alerts", n) for _ in range(args.repeat))
            label = "alert storm, each line notified" if pack == "storm" else (
                "alert storm, a distinct group a line"
            )  # fmt: skip
            rows.append(
                {
                    "measurement": f"{label} ({n:,} lines, best of {args.repeat})",
                    "result": f"{run['rate']:,.0f} lines/s evaluated "
                    f"({run['alerts']:,} alerts on the terminal in {run['seconds']:.2f} s)",
                    "reference": f"child alone {ref:.2f} s ({n / ref:,.0f} lines/s)",
                    "ratio": f"{run['seconds'] / ref:.1f}x the child",
                    "target": f">= {TARGET_ALERTS_S:,}/s",
                    "met": run["rate"] >= TARGET_ALERTS_S,
                }
            )
        for mode, n, label in (
            ("redraw", 1_000_000, "1M redraws"),
            ("lines", 200, "200 MB of lines"),
        ):
            run = best([flood(work, child, mode, n) for _ in range(args.repeat)], "latency", True)
            ref = min(alone(child, mode, n) for _ in range(args.repeat))
            late = run["latency"]
            rows.append(
                {
                    "measurement": f"OOM alert right after {label} (best of {args.repeat})",
                    "result": "no alert" if late is None else f"{late:.2f} s after its write",
                    "reference": f"child alone {ref:.2f} s; under run {run['written_s']:.2f} s",
                    "ratio": f"{run['written_s'] / ref:.2f}x the child",
                    "target": f"<= {TARGET_LATENCY_S:.0f} s",
                    "met": late is not None and late <= TARGET_LATENCY_S,
                }
            )
    for row in rows:
        print(
            f"{row['measurement']:<58} {row['result']:<62} {row['reference']:<46} "
            f"{row['ratio']:<16} {row['target']:<9} {'MET' if row['met'] else 'NOT MET'}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
