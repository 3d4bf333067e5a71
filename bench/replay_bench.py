"""Replay speed per rule count: `rlswarm-rules replay` vs `grep -c -E -f` vs a naive Python loop.

    .venv/bin/python bench/replay_bench.py LOG [--repeat 3] [--sizes 10,40,200] [--json OUT]

Every figure is the best (lowest) wall time of --repeat runs, taken in turns (tool, grep,
naive, tool, ...) so that a noisy neighbour hits all three alike. `naive` is this file run as
`replay_bench.py naive PACKDIR LOG` in a subprocess: read lines, try every compiled regex
on every line, print how many lines matched any (which must equal grep's count). Once per
rule count the tool also runs without its cache of compiled rules (`cold`: a first run with
new rules) and on an empty log (`empty`: the fixed cost of starting and loading the rules).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "bench" / "rules"
TOOL = ROOT / ".venv" / "bin" / "rlswarm-rules"


def load_regexes(pack_dir: Path) -> list[re.Pattern[str]]:
    """Every `log` rule of the packs in `pack_dir`, compiled as the tool would (ignore_case)."""
    import yaml  # in .venv; only the naive loop and the relay need it

    out = []
    for pack in sorted(pack_dir.glob("*.yaml")):
        for rule in yaml.safe_load(pack.read_text(encoding="utf-8")).get("rules", []):
            if "log" in rule:
                out.append(re.compile(rule["log"], re.IGNORECASE if rule.get("ignore_case") else 0))
    return out


def naive(pack_dir: Path, log: Path) -> None:
    regexes = load_regexes(pack_dir)
    hits = 0
    with log.open(encoding="utf-8", errors="replace", newline="\n") as f:
        for line in f:
            matched = False
            for regex in regexes:
                if regex.search(line):
                    matched = True
            hits += matched
    print(hits)


def count_lines(log: Path) -> int:
    n = 0
    with log.open("rb") as f:
        while chunk := f.read(1 << 22):
            n += chunk.count(b"\n")
    return n


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `cmd`; wall and CPU seconds, exit code, stdout (stripped) and stderr's last lines."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.DEVNULL if cmd[0] == str(TOOL) else subprocess.PIPE  # the tool: > /dev/null
    proc = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall": wall,
        "cpu": cpu,
        "rc": proc.returncode,
        "cmd": " ".join(cmd),
        "out": (proc.stdout or b"").decode(errors="replace").strip()[-300:],
        "err": proc.stderr.decode(errors="replace").strip()[-600:],
    }


def commands(size: int, log: Path) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    rules = RULES / f"r{size}"
    return {
        "tool": ([str(TOOL), "replay", "--rules", str(rules), "--format", "jsonl", str(log)], None),
        "grep": (
            ["grep", "-c", "-E", "-f", str(RULES / f"r{size}.ere"), str(log)],
            {**os.environ, "LC_ALL": "C"},
        ),
        "naive": ([sys.executable, __file__, "naive", str(rules), str(log)], None),
    }


def extra_runs(size: int, log: Path) -> tuple[float | None, float | None]:
    """The tool once without its cache of compiled rules (`RLSWARM_CACHE=off`: what a first
    run with new rules takes), and once on an empty log (the fixed cost: start-up, imports,
    loading the rules)."""
    cmd, _ = commands(size, log)["tool"]
    cold = timed(cmd, {**os.environ, "RLSWARM_CACHE": "off"})
    empty = log.with_name("empty.log")
    empty.write_bytes(b"")
    fixed = timed([*cmd[:-1], str(empty)])
    return (
        cold["wall"] if cold["rc"] == 0 else None,
        fixed["wall"] if fixed["rc"] == 0 else None,
    )


def bench(log: Path, sizes: list[int], repeat: int) -> dict[str, Any]:
    lines = count_lines(log)
    results: dict[str, Any] = {
        "log": str(log),
        "lines": lines,
        "bytes": log.stat().st_size,
        "repeat": repeat,
        "sizes": {},
    }
    for size in sizes:
        best: dict[str, dict[str, Any]] = {}
        for _ in range(repeat):
            for name, (cmd, env) in commands(size, log).items():
                run = timed(cmd, env)
                ok = run["rc"] == 0 or (name == "grep" and run["rc"] == 1)
                if not ok:
                    print(
                        f"FAILED ({name}, r{size}): rc={run['rc']}: {run['cmd']}\n{run['err']}",
                        file=sys.stderr,
                    )
                run["ok"] = ok
                if name not in best or (ok and run["wall"] < best[name]["wall"]):
                    best[name] = run
        wall = {k: (r["wall"] if r["ok"] else None) for k, r in best.items()}
        tool, grep, nv = wall["tool"], wall["grep"], wall["naive"]
        cold, fixed = extra_runs(size, log)
        results["sizes"][str(size)] = {
            "tool_s": tool,
            "tool_cold_s": cold,
            "tool_fixed_s": fixed,
            "tool_cpu_s": best["tool"]["cpu"],
            "grep_s": grep,
            "naive_s": nv,
            "tool_lps": lines / tool if tool else None,
            "tool_vs_grep": tool / grep if tool and grep else None,
            "tool_vs_naive": tool / nv if tool and nv else None,
            "grep_hits": best["grep"]["out"],
            "naive_hits": best["naive"]["out"],
            "tool_footer": best["tool"]["err"].splitlines()[-1:],
            "failures": [
                r["cmd"] + f" -> rc {r['rc']}: " + r["err"] for r in best.values() if not r["ok"]
            ],
        }
        print(
            f"  r{size}: tool {fmt(tool, '.2f')} s (cold cache {fmt(cold, '.2f')} s, empty log "
            f"{fmt(fixed, '.2f')} s), grep {fmt(grep, '.2f')} s, naive {fmt(nv, '.2f')} s",
            file=sys.stderr,
        )
    return results


def fmt(value: float | None, spec: str) -> str:
    """`value` formatted, or FAIL right-aligned to the same width."""
    if value is None:
        width = int(re.match(r"\d*", spec).group() or 0)  # type: ignore[union-attr]
        return "FAIL".rjust(width)
    return format(value, spec)


def table(res: dict[str, Any]) -> list[str]:
    out = [
        f"replay of {res['log']} ({res['lines']:,} lines, {res['bytes'] / 1e6:.1f} MB), "
        f"best of {res['repeat']}:",
        f"{'rules':>5}  {'tool s':>7}  {'cold s':>6}  {'empty s':>7}  {'tool lines/s':>12}  "
        f"{'grep s':>6}  {'naive s':>7}  {'tool/grep':>9}  {'tool/naive':>10}  "
        "matched lines grep=naive",
    ]
    for size, r in res["sizes"].items():
        agree = "yes" if r["grep_hits"] == r["naive_hits"] else "NO"
        out.append(
            f"{size:>5}  {fmt(r['tool_s'], '7.2f')}  {fmt(r.get('tool_cold_s'), '6.2f')}  "
            f"{fmt(r.get('tool_fixed_s'), '7.2f')}  {fmt(r['tool_lps'], '12,.0f')}  "
            f"{fmt(r['grep_s'], '6.2f')}  {fmt(r['naive_s'], '7.2f')}  "
            f"{fmt(r['tool_vs_grep'], '8.1f')}x  {fmt(r['tool_vs_naive'], '9.2f')}x  "
            f"{r['grep_hits']}={r['naive_hits']} {agree}"
        )
        out += [f"       FAILED: {f}" for f in r["failures"]]
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "naive":
        naive(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("log", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="10,40,200")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    res = bench(args.log, [int(s) for s in args.sizes.split(",")], args.repeat)
    print("\n".join(table(res)))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
