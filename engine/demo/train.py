"""A tiny accelerate training on the CPU, for about a minute: what `rlswarm-rules run` starts
when given no command.

It trains a small regression model and, like real runs whose data runs dry
for a round, meets one epoch whose data loader yields nothing: the shape that
crashes accelerate 1.6.0-1.8.1 unless the runner's fix is in place.
`--fault` makes it misbehave on purpose so the rules have something to catch:

- `oom`: the training step raises torch.OutOfMemoryError (no GPU is needed);
- `stall`: it stops making progress and hangs;
- `crash`: the training step raises an exception (exit code 1);
- `nan`: the loss diverges to NaN and stays there.

Run as a script with the training environment's Python; needs torch and accelerate.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterator

import accelerate
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader, Dataset, Sampler

FAULT_EPOCH = 4


class Samples(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Samples of y = 3a - 2b + 0.5c + noise."""

    def __init__(self, size: int) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 3, generator=gen)
        self.y = self.x @ torch.tensor([3.0, -2.0, 0.5]) + 0.01 * torch.randn(size, generator=gen)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i].reshape(1)


class DryRound(Sampler[int]):
    """Visits every sample in order, except that pass number `dry_pass` visits none:
    a round in which no new data arrived."""

    def __init__(self, size: int, dry_pass: int) -> None:
        self.size = size
        self.dry_pass = dry_pass
        self.passes = 0

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        self.passes += 1
        if self.passes != self.dry_pass:
            yield from range(self.size)


def bar(done: int, total: int, loss: float) -> str:
    filled = int(20 * done / total)
    return f"\rtraining: {done:>3}/{total} [{'#' * filled:<20}] loss={loss:.4f}"


def misbehave(fault: str | None, epoch: int, model: torch.nn.Module) -> None:
    if fault is None or epoch < FAULT_EPOCH:
        return
    if fault == "oom":
        raise torch.OutOfMemoryError(
            "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
            "8.00 GiB of which 1.20 GiB is free. (simulated by the demo's --fault oom)"
        )
    if fault == "crash":
        raise RuntimeError("demo fault: the training step failed (simulated by --fault crash)")
    if fault == "stall":
        print(f"[demo] epoch {epoch}: waiting for peers... (simulated hang)", flush=True)
        while True:
            time.sleep(3600)
    if fault == "nan":
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(math.inf)


def train(epochs: int, steps: int, step_seconds: float, fault: str | None) -> float:
    accelerator = Accelerator(cpu=True)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loader = DataLoader(Samples(steps * 4), batch_size=4, sampler=DryRound(steps * 4, dry_pass=3))
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    loss_value = math.nan
    for epoch in range(1, epochs + 1):
        misbehave(fault, epoch, model)
        seen = 0
        for batch in loader:
            if batch is None:  # defensive, as many training loops are
                continue
            x, y = batch
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            accelerator.backward(loss)
            optimizer.step()
            seen += 1
            loss_value = loss.item()
            sys.stderr.write(bar(seen, steps, loss_value))
            sys.stderr.flush()
            if seen % 10 == 0:
                print(f"[demo] epoch {epoch}/{epochs} step {seen}/{steps} loss={loss_value:.4f}")
                print(f"{{'loss': {loss_value:.4f}, 'epoch': {epoch - 1 + seen / steps:.2f}}}")
            time.sleep(step_seconds)
        sys.stderr.write("\n")
        if seen == 0:
            print(f"[demo] epoch {epoch}/{epochs}: the data loader yielded no batch; epoch skipped")
        else:
            print(f"[demo] epoch {epoch}/{epochs} done: loss={loss_value:.4f}")
    return loss_value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fault", choices=["oom", "stall", "crash", "nan"])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--step-seconds", type=float, default=0.15)
    args = parser.parse_args(argv)
    print(
        f"[demo] tiny regression on the CPU: torch {torch.__version__}, accelerate "
        f"{accelerate.__version__}, {args.epochs} epochs of {args.steps} steps; "
        "epoch 3 has no data",
        flush=True,
    )
    loss = train(args.epochs, args.steps, args.step_seconds, args.fault)
    print(f"[demo] training finished: final loss={loss:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
