"""Live supervision under `rlswarm-rules run`: flood pass-through, alert latency, CPU/RSS.

    .venv/bin/python bench/live_bench.py [--repeat 3] [--json OUT]      (or: bench/run live)

References, measured in the same invocation: (a) the child alone writing to a file (as run
by hand, and with PYTHONUNBUFFERED=1 as `run` starts it); (b) and (c) bench/relay.py, a
minimal supervisor (pipe, copy, every regex on every line, JSONL journal) under the same load.
(a) takes the best of --repeat; (b) and (c) run once each (they aggregate 200 and 30 samples).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from genlog import generate  # noqa: E402

TOOL = HERE.parent / ".venv" / "bin" / "rlswarm-rules"
R40 = HERE / "rules" / "r40"
CHILD = [sys.executable, str(HERE / "child.py")]
FLOOD_LINES, PROBES, PROBE_EVERY, RATE, RATE_SECONDS = 1_000_000, 200, 0.1, 1000, 30
PROBE = re.compile(r"BENCH-LATENCY-PROBE seq=(\d+) t=([\d.]+)")
LATENCY_PACK = """\
rules:
  - id: bench-latency-probe
    severity: info
    log: 'BENCH-LATENCY-PROBE seq=(?P<seq>\\d+) t=(?P<sent>[\\d.]+)'
    cooldown: 0s
    summary: 'probe {seq}'
    examples:
      fires: ['INFO:bench:BENCH-LATENCY-PROBE seq=1 t=1752001633.132']
"""


def supervisors(work: Path) -> dict[str, list[str]]:
    """Command prefixes (before the child's argv) of the tool and of the reference relay."""
    lat = work / "latency"
    lat.mkdir(exist_ok=True)
    (lat / "pack.yaml").write_text(LATENCY_PACK)
    return {
        "tool": [str(TOOL), "run", "--rules", str(R40), "--rules", str(lat), "--"],
        "relay": [sys.executable, str(HERE / "relay.py"), str(R40), str(lat), "--"],
    }


def fresh(work: Path, name: str) -> Path:
    cwd = work / name
    shutil.rmtree(cwd, ignore_errors=True)
    cwd.mkdir()
    return cwd


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process we started (and what it started) after a timeout: TERM, then KILL."""
    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        kids = []
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    for kid in kids:
        try:
            kid.kill()
        except psutil.Error:
            pass


def launch(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    out, err = (cwd / "stdout.txt").open("wb"), (cwd / "stderr.txt").open("wb")
    return subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)


def finish(
    proc: subprocess.Popen[bytes], cmd: list[str], cwd: Path, timeout: float
) -> dict[str, Any]:
    """Wait for `proc`; a hang past `timeout` is reported, with the command and its stderr."""
    try:
        rc: int | None = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        rc = None
    err = (cwd / "stderr.txt").read_text(errors="replace")
    problem = None
    if rc is None:
        problem = f"HANG (> {timeout:.0f}s, stopped): {' '.join(cmd)}\n{err[-800:]}"
    elif rc != 0:
        problem = f"exit code {rc}: {' '.join(cmd)}\n{err[-800:]}"
    observed = re.search(r"([\d,]+) lines observed", err)
    too_fast = re.search(r"([\d,]+) output bytes were too fast", err)
    return {
        "rc": rc,
        "problem": problem,
        "observed": int(observed.group(1).replace(",", "")) if observed else None,
        "too_fast_bytes": int(too_fast.group(1).replace(",", "")) if too_fast else 0,
    }


def flood(work: Path, repeat: int) -> dict[str, Any]:
    child = [*CHILD, "flood", str(FLOOD_LINES)]
    plain = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    cases = {
        "alone": (child, plain),
        "alone_unbuffered": (child, {**plain, "PYTHONUNBUFFERED": "1"}),
    }
    cases.update({name: ([*prefix, *child], plain) for name, prefix in supervisors(work).items()})
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeat):
        for name, (cmd, env) in cases.items():
            cwd = fresh(work, f"flood-{name}")
            start = time.perf_counter()
            proc = launch(cmd, cwd, env)
            res = finish(proc, cmd, cwd, 600)
            res["wall"] = time.perf_counter() - start
            res["lines_out"] = sum(1 for _ in (cwd / "stdout.txt").open("rb"))
            journal = cwd / ".rlswarm" / "alerts.jsonl"
            res["last_alerted"] = journal.exists() and b"CUDA out of memory" in journal.read_bytes()
            ok = res["problem"] is None and res["lines_out"] == FLOOD_LINES
            if name not in best or (ok and res["wall"] < best[name]["wall"]):
                best[name] = {**res, "ok": ok}
    return best


def tail_journal(proc: subprocess.Popen[bytes], journal: Path, timeout: float) -> list[float]:
    """Latencies (ms) from each probe line's own write time to its record appearing in `journal`."""
    latencies: dict[int, float] = {}
    handle, pending = None, b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = proc.poll() is not None
        if handle is None and journal.exists():
            handle = journal.open("rb")
        if handle is not None and (data := handle.read()):
            now = time.time()
            pending += data
            *records, pending = pending.split(b"\n")
            for record in records:
                m = PROBE.search(str(json.loads(record).get("line") or ""))
                if m and int(m.group(1)) not in latencies:
                    latencies[int(m.group(1))] = (now - float(m.group(2))) * 1000
        if done:
            break
        time.sleep(0.001)
    if handle is not None:
        handle.close()
    return sorted(latencies.values())


def pct(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted `values`."""
    return values[max(0, math.ceil(q * len(values)) - 1)] if values else None


def latency(work: Path) -> dict[str, Any]:
    out = {}
    for name, prefix in supervisors(work).items():
        cwd = fresh(work, f"latency-{name}")
        cmd = [*prefix, *CHILD, "probe", str(PROBES), str(PROBE_EVERY)]
        proc = launch(cmd, cwd)
        lat = tail_journal(proc, cwd / ".rlswarm" / "alerts.jsonl", PROBES * PROBE_EVERY + 60)
        res = finish(proc, cmd, cwd, 30)
        out[name] = {
            **res,
            "received": len(lat),
            "p50": pct(lat, 0.5),
            "p99": pct(lat, 0.99),
            "max": lat[-1] if lat else None,
        }
    return out


def wakeups(pid: int) -> int:
    """Voluntary context switches of all of `pid`'s threads so far: each is a thread going to
    sleep, so, over a window, about its wake-ups (psutil counts the main thread's only)."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
        except OSError:  # the thread ended meanwhile
            continue
    return total


def resources(work: Path) -> dict[str, Any]:
    lines = work / "paced-lines.log"
    lines.write_text("".join(generate(30_000, seed=11)), encoding="utf-8")
    out = {}
    for name, prefix in supervisors(work).items():
        cwd = fresh(work, f"rate-{name}")
        cmd = [*prefix, *CHILD, "paced", str(lines), str(RATE), str(RATE_SECONDS)]
        proc = launch(cmd, cwd)
        me = psutil.Process(proc.pid)
        start = time.monotonic()
        marks: list[tuple[float, float]] = []  # (seconds since launch, CPU seconds used)
        wakes: list[int] = []  # wake-ups so far, at each mark (Linux only: else empty)
        rss: list[float] = []
        while proc.poll() is None and len(marks) < RATE_SECONDS + 30:
            time.sleep(1.0)
            try:
                used = me.cpu_times()
                marks.append((time.monotonic() - start, used.user + used.system))
                rss.append(me.memory_info().rss / 2**20)
                if sys.platform == "linux":
                    wakes.append(wakeups(proc.pid))
            except psutil.Error:
                break
        res = finish(proc, cmd, cwd, 30)
        out[name] = {**res, "samples": len(marks), **cpu_shares(marks)}
        out[name]["rss_max"] = max(rss, default=None)
        out[name]["wakeups_per_s"] = wakeup_rate(marks, wakes)
    return out


def cpu_shares(marks: list[tuple[float, float]]) -> dict[str, Any]:
    """CPU share (% of a core) while the child writes at the set rate: from 2 s after launch
    (start-up) to the sample before the child's last second (then comes the shutdown), as
    the CPU time used over that window; and the largest and the start-up one-second shares."""
    shares = [
        100 * (c1 - c0) / (t1 - t0)
        for (t0, c0), (t1, c1) in zip([(0.0, 0.0), *marks], marks, strict=False)
    ]
    window = [m for m in marks if 2.0 <= m[0] <= RATE_SECONDS - 1.0]
    if len(window) < 2:
        return {"cpu_mean": None, "cpu_max": None, "cpu_startup": shares[:2]}
    (t0, c0), (t1, c1) = window[0], window[-1]
    inside = shares[marks.index(window[0]) + 1 : marks.index(window[-1]) + 1]
    return {
        "cpu_mean": 100 * (c1 - c0) / (t1 - t0),
        "cpu_max": max(inside, default=None),
        "cpu_startup": shares[:2],
        "cpu_window_s": t1 - t0,
    }


def wakeup_rate(marks: list[tuple[float, float]], wakes: list[int]) -> float | None:
    """Wake-ups a second over the same window as `cpu_shares`' mean."""
    window = [i for i, m in enumerate(marks) if 2.0 <= m[0] <= RATE_SECONDS - 1.0]
    if len(window) < 2 or len(wakes) != len(marks):
        return None
    first, last = window[0], window[-1]
    return (wakes[last] - wakes[first]) / (marks[last][0] - marks[first][0])


PARTS = {"latency": latency, "resources": resources}


def f(value: float | None, spec: str = ".1f") -> str:
    return "FAIL" if value is None else format(value, spec)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def table(res: dict[str, Any]) -> list[str]:
    fl, la, rs = res["flood"], res["latency"], res["resources"]
    out = [f"(a) {FLOOD_LINES:,} lines of 61 bytes, stdout to a file, best of {res['repeat']}:"]
    for name, r in fl.items():
        vs = f"vs alone {ratio(r['wall'], fl['alone']['wall']):>6}"
        vs += f"  vs alone unbuffered {ratio(r['wall'], fl['alone_unbuffered']['wall']):>6}"
        if r.get("observed") is not None:
            vs += f", lines evaluated {r['observed']:,}"
        if name in ("tool", "relay"):
            vs += f", final OOM line alerted: {'yes' if r['last_alerted'] else 'NO'}"
        if not r["ok"]:
            vs += f"  PROBLEM: lines out {r['lines_out']:,}; {r['problem'] or ''}"
        out.append(f"    {name:<17} {r['wall']:7.2f} s  {vs}")
    out.append(
        f"(b) alert latency, {PROBES} probe lines {PROBE_EVERY * 1000:.0f} ms apart, "
        "line written -> journal record seen:"
    )
    for name, r in la.items():
        out.append(
            f"    {name:<6} p50 {f(r['p50'])} ms  p99 {f(r['p99'])} ms  max {f(r['max'])} ms  "
            f"({r['received']}/{PROBES} received; "
            f"p99 vs relay {ratio(r['p99'], la['relay']['p99'])})"
            + (f"  PROBLEM: {r['problem']}" if r["problem"] else "")
        )
    out.append(
        f"(c) {RATE:,} lines/s for {RATE_SECONDS} s, supervisor process only, while the child "
        "writes (from 2 s after launch to its last second):"
    )
    for name, r in rs.items():
        startup = ", ".join(f"{c:.0f}%" for c in r["cpu_startup"])
        out.append(
            f"    {name:<6} CPU mean {f(r['cpu_mean'], '.2f')}% max {f(r['cpu_max'])}% of a core "
            f"(start-up {startup}), {f(r['wakeups_per_s'], '.0f')} wake-ups/s, "
            f"RSS max {f(r['rss_max'])} MB; vs relay: CPU "
            f"{ratio(r['cpu_mean'], rs['relay']['cpu_mean'])}, RSS "
            f"{ratio(r['rss_max'], rs['relay']['rss_max'])}"
            + (f"  PROBLEM: {r['problem']}" if r["problem"] else "")
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--only", choices=["flood", "latency", "resources"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rlswarm-live-") as tmp:
        work = Path(tmp)
        res: dict[str, Any] = {"repeat": args.repeat}
        for part in ("flood", "latency", "resources"):
            if args.only in (None, part):
                print(f"  live: {part} ...", file=sys.stderr)
                res[part] = flood(work, args.repeat) if part == "flood" else PARTS[part](work)
    if args.only is None:
        print("\n".join(table(res)))
    else:
        print(json.dumps(res[args.only], indent=1))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
