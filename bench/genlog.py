"""Deterministic generator of realistic RL-Swarm training logs (seeded; same args, same bytes).

    .venv/bin/python bench/genlog.py --lines 1000000 OUT     # ~1M lines, ~110 MB

Mixes the formats of /work/shared/corpus/rlswarm/cases: hydra/genrl lines, hivemind
stamps, `[animal] ` python logging, colorlog ANSI lines, HF metric dicts, tqdm bars with
`\\r` redraws and pip noise; about one incident per 50k lines (CUDA OOM traceback,
`Killed`, P2PDaemonError, accelerate `current_batch`, a 40-minute silence, NaN losses,
a DHT BlockingIOError, a chain-submit HTTP 400), cycling through the kinds.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

START = 1752001633.132  # 2025-07-08 19:07:13 UTC, as in the corpus
INCIDENT_EVERY = 50_000
HYDRA = "genrl.logging_utils.global_defs"
ANIMALS = ["purring slimy gecko", "timid untamed condor", "long scampering elephant"]
PEERS = [
    "QmNuSzgPVoR9e23oMasKGQd183Q3khia1e3ytX3eg43ei7",
    "QmP6pJA5A6u1hZrK8kCLsw9CpczySd3g8DdJDgUM657wW3",
]
TRAINER = "hivemind_exp.trainer.hivemind_grpo_trainer"
VENV = "/root/rl-swarm/.venv/lib/python3.12/site-packages"
REWARDS = [
    "consensus_reward_func",
    "question_recreation_reward_func",
    "final_correctness_reward_func",
    "strict_format_reward_func",
    "soft_format_reward_func",
    "xmlcount_reward_func",
]
PIP = [
    "Requirement already satisfied: {p} in ./.venv/lib/python3.12/site-packages (from -r requirements.txt (line {n})) ({v})",
    "Collecting {p}=={v} (from -r requirements.txt (line {n}))",
    "  Downloading {p}-{v}-py3-none-any.whl.metadata (3.{n} kB)",
    "  Using cached {p}-{v}-py3-none-any.whl ({n}.4 MB)",
    "     \u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501 {n}.1/{n}.1 MB 41.7 MB/s eta 0:00:00",
]
PKGS = [
    ("torch", "2.7.1"),
    ("transformers", "4.52.4"),
    ("trl", "0.19.0"),
    ("accelerate", "1.7.0"),
    ("protobuf", "5.29.0"),
    ("hivemind", "1.2.0.dev0"),
    ("datasets", "3.6.0"),
    ("wandb", "0.20.1"),
]


class Log:
    """Clock and counters shared by the line makers."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.t = START
        self.round = 7780
        self.step = 0
        self.animal = ANIMALS[seed % len(ANIMALS)]

    def tick(self, mean: float = 0.4) -> None:
        self.t += self.rng.expovariate(1.0 / mean)

    def hydra(self, msg: str, level: str = "INFO", logger: str = HYDRA) -> str:
        ms = int(self.t * 1000) % 1000
        return f"[{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(self.t))},{ms:03d}][{logger}][{level}] - {msg}\n"

    def hivemind(self, msg: str, level: str = "INFO") -> str:
        ms = int(self.t * 1000) % 1000
        return f"{time.strftime('%b %d %H:%M:%S', time.gmtime(self.t))}.{ms:03d} [{level}] {msg}\n"

    def animal_log(self, msg: str, level: str = "INFO") -> str:
        ms = int(self.t * 1000) % 1000
        tag = self.animal.replace(" ", "_")
        return f"[{tag}] {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(self.t))},{ms:03d} {level}: {msg}\n"

    def colour(self, msg: str, level: str = "INFO") -> str:
        code = {"INFO": "32", "WARNING": "33", "ERROR": "31"}[level]
        return f"\x1b[{code}m{level}:{TRAINER}:{self.animal}:{msg}\x1b[0m\n"


def _round_lines(g: Log) -> str:
    g.round += g.rng.random() < 0.03
    r = g.round
    return g.rng.choice(
        [
            g.hydra(f"\U0001f41d Joining round: {r}"),
            g.hydra(f"Starting round: {r}/1000000."),
            g.hydra(
                f"Already finished round: {r}. Next check in {g.rng.choice([5, 10, 20, 40])}.0s."
            ),
            g.animal_log(
                f"Already finished round: {r}. Next check in {g.rng.choice([5, 10, 20])}.0s."
            ),
            g.hydra(f"Peer ID [{g.rng.choice(PEERS)}] is already registered! Continuing."),
        ]
    )


def _hivemind(g: Log) -> str:
    n = g.rng.randrange(1, 40)
    return g.rng.choice(
        [
            g.hivemind(
                f"[hivemind.dht.routing:{n}] Adding {n} peers to the routing table, bucket size 20"
            ),
            g.hivemind(
                "Checking that identity from `/root/rl-swarm/swarm.pem` is not used by other peers"
            ),
            g.hivemind(
                f"[hivemind.averaging.matchmaking:{n}] Averager found group of {n % 7 + 1} peers"
            ),
            g.hivemind(
                f"[hivemind.p2p.p2p_daemon:{n}] Received {n * 1337} bytes from {g.rng.choice(PEERS)}"
            ),
            g.hivemind(
                f"[hivemind.dht.protocol:{n}] Store request for key round_{g.round}_stage_{n % 3} ok",
                "DEBUG",
            ),
        ]
    )


def _colour(g: Log) -> str:
    r = g.round
    return g.rng.choice(
        [
            g.colour(
                f"Already finished round: {r}. Next check in {g.rng.choice([5, 10, 20, 80, 160])}.0s."
            ),
            g.colour(f"\U0001f4c8 Training round: {r} stage: {g.rng.randrange(3)}"),
            g.colour(f"\U0001f3c6 Submitting winners for round {r}: ['{g.rng.choice(PEERS)}']"),
            g.colour(
                f"Model saved to runs/gsm8k/multinode/Qwen2.5-0.5B-Instruct-Gensyn-Swarm-{g.animal.replace(' ', '_')}"
            ),
            g.colour(f"Could not retrieve local outputs for round {r} stage 1", "WARNING"),
        ]
    )


def _metrics(g: Log) -> str:
    g.step += 1
    u = g.rng.random
    rewards = ", ".join(
        f"'rewards/{k}': {u() * (k != 'consensus_reward_func'):.16g}" for k in REWARDS
    )
    return (
        f"{{'loss': {u() * 1e-4:.6g}, 'grad_norm': {u() * 9:.16g}, 'learning_rate': {5e-7 * u():.6g}, "
        f"{rewards}, 'reward': {u():.16g}, 'reward_std': {u() / 2:.16g}, "
        f"'completion_length': {100 + u() * 150:.14g}, 'kl': {u() / 500:.16g}, 'epoch': {g.step % 20 / 4}}}\n"
    )


def _tqdm(g: Log) -> str:
    total = 20
    out = []
    start = g.rng.randrange(0, 12)
    for i in range(start, start + g.rng.randrange(2, 8)):
        i = min(i, total)
        pct = i * 100 // total
        bar = ("\u2588" * (i // 2)).ljust(10)
        out.append(
            f"\r{pct:3d}%|{bar}| {i}/{total} [{i:02d}:{i * 7 % 60:02d}<04:{i * 13 % 60:02d}, {14.3 + i:.2f}s/it]"
        )
    return "".join(out) + "\n"


def _pip(g: Log) -> str:
    p, v = g.rng.choice(PKGS)
    return g.rng.choice(PIP).format(p=p, v=v, n=g.rng.randrange(1, 9)) + "\n"


def _benign(g: Log) -> str:
    return g.rng.choice(
        [
            f"{VENV}/torch/utils/data/dataloader.py:665: UserWarning: 'pin_memory' argument is set as true but no accelerator is found, then device pinned memory won't be used.\n",
            "WARN:huggingface_hub._login:Token has not been saved to git credential helper.\n",
            "`use_cache=True` is incompatible with gradient checkpointing. Setting `use_cache=False`.\n",
            f"Generating train split: {g.rng.randrange(30, 400)} examples [00:00, 3359.66 examples/s]\n",
            "wandb: Tracking run with wandb version 0.20.1\n",
        ]
    )


def _short(g: Log) -> str:
    return g.rng.choice(
        [
            "***** train metrics *****\n",
            f"  train_loss               =        {g.rng.random() / 1000:.4f}\n",
            f"  train_runtime            = 0:{g.rng.randrange(10, 59)}:22.63\n",
            "  total_flos               =        0GF\n",
            ">> Waiting for modal userData.json to be created...\n",
            "wandb:\n",
        ]
    )


MAKERS: list[tuple[Callable[[Log], str], float]] = [
    (_round_lines, 40),
    (_hivemind, 18),
    (_colour, 14),
    (_metrics, 2),
    (_tqdm, 4),
    (_pip, 6),
    (_benign, 6),
    (_short, 20),
]


def _traceback(frames: list[tuple[str, int, str, str]]) -> list[str]:
    out = ["Traceback (most recent call last):\n"]
    for path, line, func, code in frames:
        out += [f'  File "{VENV}/{path}", line {line}, in {func}\n', f"    {code}\n"]
    return out


def _incident(g: Log, kind: int) -> list[str]:
    if kind == 0:
        return [
            g.hydra("Exception occurred during game run.", "ERROR"),
            *_traceback(
                [
                    ("genrl/game/game_manager.py", 169, "run_game", "self.run_game_round()"),
                    ("torch/_tensor.py", 648, "backward", "torch.autograd.backward("),
                ]
            ),
            f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {g.rng.choice(['2.32 GiB', '1.50 GiB', '512.00 MiB'])}. "
            "GPU 0 has a total capacity of 11.58 GiB of which 115.75 MiB is free. Including non-PyTorch memory, "
            "this process has 11.18 GiB memory in use.\n",
        ]
    if kind == 1:
        return [
            _tqdm(g).rstrip("\n")
            + f"./run_rl_swarm.sh: line 142: {g.rng.randrange(10000, 300000)} Killed"
            "                  python -m rgym_exp.runner.swarm_launcher --config-path rgym_exp/config\n",
            ">> Shutting down trainer...\n",
            "Terminated\n",
        ]
    if kind == 2:
        return [
            g.hivemind(
                "Checking that identity from `/root/rl-swarm/swarm.pem` is not used by other peers"
            ),
            "Error executing job with overrides: []\n",
            *_traceback(
                [
                    (
                        "hivemind/dht/dht.py",
                        151,
                        "wait_until_ready",
                        "self._ready.result(timeout=timeout)",
                    ),
                ]
            ),
            "hivemind.p2p.p2p_daemon_bindings.utils.P2PDaemonError: Daemon failed to start in 15.0 seconds\n",
        ]
    if kind == 3:
        return [
            *_traceback([("accelerate/data_loader.py", 576, "__iter__", "yield current_batch")]),
            "UnboundLocalError: cannot access local variable 'current_batch' where it is not associated with a value\n",
            "wandb: You can sync this run to the cloud by running:\n",
        ]
    if kind == 4:
        g.t += 40 * 60  # a 40-minute silence, then the node goes on
        return [g.hydra(f"Already finished round: {g.round}. Next check in 300.0s.")]
    if kind == 5:
        return [re.sub(r"'(loss|grad_norm)': [^,]+", r"'\1': nan", _metrics(g)) for _ in range(3)]
    if kind == 6:
        return [
            g.hivemind(
                "[hivemind.dht.dht._run:131] [Errno 11] Resource temporarily unavailable", "ERROR"
            ),
            "BlockingIOError: [Errno 11] Resource temporarily unavailable\n",
            "Process DHT-1:\n",
        ]
    return [
        g.hydra("Failed to submit to chain.", "ERROR"),
        "This is most likely transient and will recover.\n",
        "requests.exceptions.HTTPError: 400 Client Error: Bad Request for url: http://localhost:3000/api/submit-reward\n",
    ]


INCIDENT_KINDS = 8


def generate(lines: int, seed: int = 7, incidents: bool = True) -> Iterator[str]:
    """Exactly `lines` newline-terminated lines (a tqdm line holds several `\\r` redraws)."""
    g = Log(seed)
    makers = [m for m, _ in MAKERS]
    weights = [w for _, w in MAKERS]
    count = max(1, round(lines / INCIDENT_EVERY)) if incidents else 0
    at = sorted(int((i + 0.5 + g.rng.uniform(-0.3, 0.3)) * lines / count) for i in range(count))
    at.append(lines + 1)
    kind, k, n = 0, 0, 1
    yield g.hydra("Using Model: Gensyn/Qwen2.5-0.5B-Instruct")
    while n < lines:
        if n >= at[k]:
            block = _incident(g, kind % INCIDENT_KINDS)
            kind, k = kind + 1, k + 1
        else:
            block = [g.rng.choices(makers, weights)[0](g)]
        for line in block[: lines - n]:
            g.tick()
            n += 1
            yield line


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out", type=Path)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    buf: list[str] = []
    size = 0
    with args.out.open("wb") as out:
        for line in generate(args.lines, args.seed):
            buf.append(line)
            if len(buf) >= 10_000:
                size += out.write("".join(buf).encode())
                buf.clear()
        size += out.write("".join(buf).encode())
    print(f"{args.out}: {args.lines:,} lines, {size / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
