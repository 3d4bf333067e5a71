"""Where `rlswarm-rules run` spends its CPU, thread by thread (Linux only).

    .venv/bin/python bench/threads.py                 # child at 1,000 lines/s (as live_bench)
    .venv/bin/python bench/threads.py --idle          # child silent (sleep)
    .venv/bin/python bench/threads.py -- --no-dashboard   # options after -- go to `run`

Runs the tool over bench/child.py's paced lines (or `sleep`) for --seconds and prints, for
each of its threads, the CPU share (% of a core, from /proc/PID/task/TID/schedstat, in
nanoseconds) and wake-ups a second (voluntary context switches) between 3 s after launch
and 2 s before the child's end. Python does not name its threads for the system, so the
tool runs with a sitecustomize (on PYTHONPATH, in a temporary folder) that gives each
thread its Python name through prctl(PR_SET_NAME).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from genlog import generate  # noqa: E402

TOOL = HERE.parent / ".venv" / "bin" / "rlswarm-rules"
NAMING = """\
import ctypes, threading
_prctl = ctypes.CDLL(None).prctl
_start = threading.Thread._bootstrap_inner
def _named(self):
    try:
        _prctl(15, self.name[:15].encode(), 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass
    _start(self)
threading.Thread._bootstrap_inner = _named
"""
Usage = dict[str, tuple[float, int]]  # thread name: (CPU seconds, voluntary switches)


def snapshot(pid: int) -> Usage:
    """CPU time and voluntary context switches of each of `pid`'s threads, by name."""
    out: Usage = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            name = (task / "comm").read_text().strip()
            cpu = int((task / "schedstat").read_text().split()[0]) / 1e9
            status = (task / "status").read_text().splitlines()
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
        switches = next(
            (int(s.split()[1]) for s in status if s.startswith("voluntary_ctxt_switches:")), 0
        )
        was = out.get(name, (0.0, 0))
        out[name] = (was[0] + cpu, was[1] + switches)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--idle", action="store_true", help="the child prints nothing")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("run_options", nargs="*", help="more options for `run` (after --)")
    args = ap.parse_args()
    if not Path("/proc/self/task").exists():
        sys.exit("bench/threads.py reads /proc: Linux only")
    with tempfile.TemporaryDirectory(prefix="rlswarm-threads-") as tmp:
        work = Path(tmp)
        (work / "sitecustomize.py").write_text(NAMING)
        lines = work / "paced-lines.log"
        lines.write_text("".join(generate(30_000, seed=11)), encoding="utf-8")
        paced = [sys.executable, str(HERE / "child.py"), "paced", str(lines), "1000"]
        child = ["sleep"] if args.idle else paced
        child.append(str(args.seconds))
        cmd = [str(TOOL), "run", "--rules", str(HERE / "rules" / "r40"), *args.run_options]
        path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), tmp) if p)
        proc = subprocess.Popen(
            [*cmd, "--", *child],
            cwd=work,
            env={**os.environ, "PYTHONPATH": path},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(3.0)
        before, start = snapshot(proc.pid), time.monotonic()
        time.sleep(args.seconds - 5.0)
        after, window = snapshot(proc.pid), time.monotonic() - start
        proc.wait()
    rows = []
    for name, (cpu, switches) in after.items():
        cpu0, switches0 = before.get(name, (0.0, 0))
        rows.append((100 * (cpu - cpu0) / window, (switches - switches0) / window, name))
    print(f"{'thread':<18} {'CPU % of a core':>16} {'wake-ups/s':>11}   ({window:.0f} s window)")
    for cpu, wakes, name in sorted(rows, reverse=True):
        print(f"{name:<18} {cpu:16.2f} {wakes:11.1f}")
    print(f"{'all':<18} {sum(r[0] for r in rows):16.2f} {sum(r[1] for r in rows):11.1f}")
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
