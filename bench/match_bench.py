"""The matcher alone: `Matcher.scan` over a log in blocks, hyperscan prefilter vs pure Python.

    .venv/bin/python bench/match_bench.py LOG [--sizes 10,40,200] [--block 10000] [--repeat 1]

LOG is bench/run's generated 1M-line log (${TMPDIR:-/tmp}/rlswarm-bench/train-*.log). The
log is split into lines as replay does (engine.logs.lines.Splitter) and cut into --block-line
blocks; for each rule pack of bench/rules, both matchers scan every block (best wall time
of --repeat) and must return the same hits: lines, patterns, spans and groups.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.replay_bench import RULES, load_regexes  # noqa: E402
from engine.logs.lines import Splitter  # noqa: E402
from engine.match.cache import default_dir  # noqa: E402
from engine.match.matcher import Hit, Matcher  # noqa: E402
from engine.match.prefilter import accelerated  # noqa: E402
from engine.packs.rule import Pattern  # noqa: E402

Key = tuple[int, int, tuple[int, int], tuple[str | None, ...]]


def read_blocks(log: Path, size: int) -> list[list[str]]:
    splitter = Splitter()
    texts, _ = splitter.feed(log.read_bytes())
    texts += splitter.flush()[0]
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def run(matcher: Matcher, blocks: Sequence[list[str]], repeat: int) -> tuple[float, list[Key]]:
    best, keys = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        found: list[list[Hit]] = [matcher.scan(block, "stdout") for block in blocks]
        best = min(best, time.perf_counter() - start)
        keys = [
            (b, h.pattern, h.match.span(), h.match.groups())
            for b, hits in enumerate(found)
            for h in hits
        ]
    return best, keys


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("log", type=Path)
    ap.add_argument("--sizes", default="10,40,200")
    ap.add_argument("--block", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    blocks = read_blocks(args.log, args.block)
    lines = sum(map(len, blocks))
    print(f"Matcher.scan over {lines:,} lines in {len(blocks)} blocks of {args.block:,}:")
    print(
        f"{'rules':>5}  {'build s':>7}  {'fast s':>7}  {'naive s':>7}  {'speedup':>7}  "
        f"{'fast lines/s':>12}  {'hits':>6}  {'fallback':>8}  same"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        patterns = [Pattern(r) for r in load_regexes(RULES / f"r{size}")]
        start = time.perf_counter()
        fast = accelerated(patterns, default_dir())
        build = time.perf_counter() - start
        fast_s, fast_keys = run(fast, blocks, args.repeat)
        naive_s, naive_keys = run(Matcher(patterns), blocks, args.repeat)
        same = "yes" if fast_keys == naive_keys else "NO"
        print(
            f"{size:>5}  {build:7.2f}  {fast_s:7.2f}  {naive_s:7.2f}  {naive_s / fast_s:6.1f}x  "
            f"{lines / fast_s:12,.0f}  {len(fast_keys):>6}  {len(fast.fallback):>8}  {same}"
        )


if __name__ == "__main__":
    main()
