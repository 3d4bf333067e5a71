"""Training stand-ins for the live benchmarks (stdlib only, so they start fast).

python bench/child.py flood 1000000          # 1M lines of ~60 bytes as fast as it can, OOM last
python bench/child.py probe 200 0.1          # a probe line every 0.1 s, with its write time
python bench/child.py paced LINES_FILE 1000 30   # LINES_FILE's lines at 1,000 lines/s for 30 s
"""

from __future__ import annotations

import sys
import time

LAST_LINE = (
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has 11.58 GiB"
)


def flood(n: int) -> None:
    """n lines: n - 1 metric lines of 61 bytes, then the crash line a supervisor must not miss."""
    write = sys.stdout.write
    for i in range(n - 1):
        write(
            f"step {i:07d} loss=0.{i % 9973:04d} reward=0.{i % 7919:04d} "
            f"lr=5e-07 kl=0.{i % 6007:04d} ok\n"
        )  # one write (one syscall when unbuffered) per line, like print()
    write(f"{LAST_LINE}\n")


def probe(n: int, interval: float) -> None:
    start = time.monotonic()
    for i in range(n):
        time.sleep(max(0.0, start + (i + 1) * interval - time.monotonic()))
        sys.stdout.write(f"INFO:bench:BENCH-LATENCY-PROBE seq={i} t={time.time():.6f}\n")
        sys.stdout.flush()


def paced(path: str, rate: int, seconds: float) -> None:
    """`rate` lines a second in 100 batches a second, on an absolute schedule (no drift)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        lines = f.readlines()  # split at "\n" only: a tqdm line keeps its "\r" redraws
    per_tick, tick = max(1, rate // 100), 1.0 / 100
    start, k = time.monotonic(), 0
    for n in range(int(seconds * 100)):
        time.sleep(max(0.0, start + n * tick - time.monotonic()))
        sys.stdout.write("".join(lines[(k + j) % len(lines)] for j in range(per_tick)))
        sys.stdout.flush()
        k += per_tick


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "flood":
        flood(int(args[0]))
    elif mode == "probe":
        probe(int(args[0]), float(args[1]))
    else:
        paced(args[0], int(args[1]), float(args[2]))
