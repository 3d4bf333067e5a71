"""Throughput of LogClock.push on synthetic logs (not a test; run it by hand).

    .venv/bin/python tests/bench_timestamps.py

Prints lines/s and microseconds per line for a 200k-line mix of timed and untimed lines,
and for all-untimed and all-timed logs, pushed in blocks of 10k lines (best of 5 runs).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.logs.timestamps import LogClock

N = 200_000
BLOCK = 10_000
RUNS = 5

UNTIMED = [
    "Traceback (most recent call last):",
    '  File "/usr/lib/python3.10/concurrent/futures/_base.py", line 458, in result',
    "    return self.__get_result()",
    "INFO:hivemind_exp.trainer.hivemind_grpo_trainer:timid untamed condor:"
    "🐝 Joining round: 483 starting at stage: 0",
    "{'loss': 0.0, 'grad_norm': 7.092657089233398, 'learning_rate': 0.0, 'epoch': 5.0}",
    "wandb: You can sync this run to the cloud by running:",
    ">> Waiting for modal userData.json to be created...",
    "100%|██████████████████████████████| 20/20 [11:48<00:00, 35.44s/it]",
    "",
    "[PRINT] some captured print output with 12:30 and 2.7.1 in it",
]


def _hydra(t: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
    ms = int(t * 1000) % 1000
    return f"[{stamp},{ms:03d}][genrl.logging_utils.global_defs][INFO] - Starting round: 7782"


def _animal(t: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
    ms = int(t * 1000) % 1000
    return f"[purring_slimy_gecko] {stamp},{ms:03d} INFO: 🐝 Joining round: 7781"


def _hivemind(t: float) -> str:
    stamp = time.strftime("%b %d %H:%M:%S", time.gmtime(t))
    ms = int(t * 1000) % 1000
    return f"{stamp}.{ms:03d} [ERROR] [hivemind.dht.dht._run:130] [Errno 11] Resource"


def _iso(t: float) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    return f"{stamp}.{int(t * 1e6) % 1_000_000:06d}Z level=info msg=step"


TIMED: list[Callable[[float], str]] = [_hydra, _hydra, _hydra, _animal, _hivemind, _iso]


def make(timed_share: float, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    t = 1_751_000_000.0
    lines = []
    for _ in range(N):
        t += rng.expovariate(1 / 0.2)
        if rng.random() < timed_share:
            lines.append(rng.choice(TIMED)(t))
        else:
            lines.append(rng.choice(UNTIMED))
    return lines


def run(lines: list[str]) -> float:
    best = float("inf")
    for _ in range(RUNS):
        clock = LogClock(2025)
        got = 0
        start = time.perf_counter()
        for i in range(0, len(lines), BLOCK):
            got += len(clock.push(lines[i : i + BLOCK]))
        got += len(clock.flush())
        best = min(best, time.perf_counter() - start)
        assert got == len(lines)
    return best


def main() -> None:
    for label, share in (("mix 60% timed", 0.6), ("untimed only", 0.0), ("timed only", 1.0)):
        seconds = run(make(share))
        sys.stdout.write(
            f"{label:15s} {N / seconds:12,.0f} lines/s  {seconds / N * 1e6:5.2f} us/line\n"
        )


if __name__ == "__main__":
    main()
