"""A whole `run` or `watch`, from start to summary: the wiring, the sources, the supervisor.

Signals are taken by a `stopping.Stopping`: for `run`, with `--grace` (the supervisor
passes them on to the child, and the exit drain, `Stack.close`, ends by the first
one's deadline, or at once at a second); for `watch`, the first ends the watching and
the drain gets `wiring.DRAIN_S`.

Threads started here: `every` (`watch`'s metrics every `interval`); the tailer, the
probe listener, the supervisor, the wiring and `Stopping` start their own. Times given
to the sources are wall-clock times (`time.time`).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from engine.durations import format_duration
from engine.model import Action, Decision, Sample
from engine.packs import loader as packs
from engine.supervise.pipeline import Notified, Tally
from engine.supervise.sources.metrics import Sampler
from engine.supervise.sources.probe import ProbeListener
from engine.supervise.sources.tail import Tailer
from engine.supervise.stopping import Stopping
from engine.supervise.supervisor import RunOptions, Supervisor
from engine.supervise.wiring import DRAIN_S, Alerting, Stack, build

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
DEMO_SCRIPT = DEMO_DIR / "train.py"
DEMO_RULES = DEMO_DIR / "demo.yaml"


@dataclass(frozen=True)
class WatchOptions:
    """What `watch` follows, how often it samples, where its outbox is (if it has one)."""

    files: Sequence[str]  # paths or globs, followed from their end
    interval: float = 10.0  # how often the host's metrics are sampled
    dry_run: bool = False  # alerts printed, not delivered
    state_dir: Path = Path(".rlswarm")


def demo_command(fault: str | None) -> list[str]:
    return [sys.executable, str(DEMO_SCRIPT), *(["--fault", fault] if fault else [])]


def rule_paths(given: Sequence[Path], demo: bool) -> list[Path]:
    paths = list(given) or packs.default_paths()
    return [*paths, DEMO_RULES] if demo else paths


def _quick_exit() -> None:
    """At interpreter exit, skip Python's final garbage collections over everything `run`
    loaded (Apprise, aiohttp...: time spent for nothing, the process is ending; see
    bench/README.md); modules are still torn down and the standard streams flushed."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def run(alerting: Alerting, opts: RunOptions) -> int:
    """Supervise `opts.command`; returns the exit code `run` should exit with."""
    _quick_exit()
    stopping = Stopping(opts.grace)
    stopping.install()  # first: a signal while starting is kept; the supervisor starts nothing
    # delivery and the dashboard are set up while the training starts
    stack = build(alerting, opts.state_dir, opts.dry_run, "run", defer=True)
    probe = ProbeListener(stack.pipeline.post_probe, time.time)
    watch = [*opts.watch, *opts.preset.watch]
    tailer = Tailer(watch, stack.pipeline.post_chunk, time.time) if watch else None
    supervisor = Supervisor(opts, stack.pipeline, stack.terminal, probe.path, stopping=stopping)
    supervisor.probe_sync = probe.sync
    stack.pipeline.on_action = supervisor.request
    if not opts.dry_run:
        stack.capture = opts.state_dir / "logs" / "run.log"
    if tailer:
        tailer.start()
    quiet = alerting.quiet  # -q: no start lines, the summary's first line only
    if (opts.preset.name or opts.preset.answers) and not quiet:
        preset = opts.preset
        env = ", ".join(k if v is None else f"{k}={v}" for k, v in preset.env)
        stack.notice(
            f"preset {preset.name or '(command line)'}: {len(preset.answers)} answers, "
            f"keeping {', '.join(preset.keep) or 'nothing'}, "
            f"following {', '.join(preset.watch) or 'no files'}"
            + (f", setting {env}" if env else "")
        )
    rules, channels = alerting.rules, alerting.channels
    names = ", ".join(c.name for c in channels.channels if c.enabled)
    for line in alerting.said:
        stack.notice(line)
    if not quiet:
        stack.notice(
            f"{len(rules.enabled)} rules, channels: {names}; running: {' '.join(opts.command)}"
        )
    summary = supervisor.run()
    if tailer:
        tailer.stop()
    probe.close()
    extra = stack.close(stopping)
    code, runtime, restarts = summary.exit_code, summary.runtime_s, summary.restarts
    lines = summary_lines(stack.tally, code, runtime, restarts, opts)
    for line in (lines[:1] if quiet else lines) + extra:
        stack.notice(line)
    return summary.exit_code


def summary_lines(
    tally: Tally, code: int, runtime: float, restarts: int, opts: RunOptions
) -> list[str]:
    lines = [
        f"summary: exit code {code} after {format_duration(runtime)}, {restarts} restarts, "
        f"{tally.lines:,} lines observed"
    ]
    if tally.patched:
        applied = [m for m in tally.patched if m.get("applied")]
        versions = sorted({str(m.get("version")) for m in tally.patched})
        state = f"applied in {len(applied)} process(es)" if applied else "not needed"
        lines.append(f"accelerate empty-loader fix: {state} (accelerate {', '.join(versions)})")
    elif opts.patch and tally.probes:
        lines.append(f"probe: active in {tally.probes} Python process(es); accelerate not loaded")
    lines.append(_alert_line(tally.notifications))
    lines += _shed_lines(tally)
    for sink, n in tally.sink_failures.items():
        lines.append(f"{n} alerts could not be handed to {sink}")
    for name, n in sorted(tally.overruns.items()):
        lines.append(f"{name}: {n} line(s) not evaluated by it, its search over the time budget")
    if tally.internal_errors:
        lines.append(f"{tally.internal_errors} internal errors in rule evaluation")
    if not opts.dry_run:
        lines.append(f"output captured in {opts.state_dir / 'logs' / 'run.log'}")
    return lines


def _shed_lines(tally: Tally) -> list[str]:
    """What evaluation left out because the output came faster than it could go."""
    out = []
    if tally.skipped_lines or tally.hasty_lines:
        out.append(
            "output came faster than it could be evaluated: "
            f"{tally.hasty_lines + tally.skipped_lines:,} lines went by while evaluation was "
            "behind, where only the lines a rule may match and the latest line of each signal "
            f"were read ({tally.skipped_lines:,} of them passed the full queue unread); every "
            "line a rule may match was evaluated"
        )
    if tally.dropped_bytes:
        out.append(
            f"{tally.dropped_bytes:,} output bytes came too fast to evaluate and were not "
            "(a pattern hyperscan does not take, or a terminal title escape, kept them from "
            "being sorted out); they are still on the terminal and in the capture"
        )
    return out


def _alert_line(sent: Notified) -> str:
    if not sent:
        return "alerts: none"
    rules = ", ".join(sorted(sent.rules))
    counts = ", ".join(f"{n} {sev}" for sev, n in sorted(sent.by_severity.items()))
    return f"alerts: {counts or 'only resolutions'} ({rules})"


def watch(alerting: Alerting, opts: WatchOptions) -> int:
    """Follow `opts.files` (and the host's metrics) until interrupted."""
    _quick_exit()
    stopping = Stopping(DRAIN_S)
    stopping.install()  # first: a Ctrl-C while starting stops the same way as later
    stack = build(alerting, opts.state_dir, opts.dry_run, "watch")
    stack.pipeline.on_action = partial(_nothing_is_done, stack)
    tailer = Tailer(opts.files, stack.pipeline.post_chunk, time.time)
    tailer.start()
    sampler = Sampler(disk_path=os.getcwd())
    for line in alerting.said:
        stack.notice(line)
    if not alerting.quiet:
        stack.notice(
            f"{len(alerting.rules.enabled)} rules loaded; watching {', '.join(opts.files)} "
            "(Ctrl-C stops)"
        )
    stop = every(opts.interval, lambda: stack.pipeline.post(Sample(time.time(), sampler.sample())))
    stopping.wait_for_signal()
    stop()
    tailer.stop()
    extra = stack.close(stopping)
    told = [_alert_line(stack.tally.notifications)] if not alerting.quiet else []
    for line in [f"stopped; {stack.tally.lines:,} lines observed", *told, *extra]:
        stack.notice(line)
    return 0


def _nothing_is_done(stack: Stack, action: Action, decision: Decision) -> None:
    """`watch`'s answer to a rule's action: it started nothing, so it does nothing."""
    stack.notice(
        f"rule '{decision.rule}' asks to {action.value}; `watch` started "
        "nothing, so nothing is done"
    )


def every(seconds: float, action: Callable[[], None]) -> Callable[[], None]:
    """Run `action` now and every `seconds` in a daemon thread; returns the stop function."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            action()
            if stop.wait(seconds):
                return

    threading.Thread(target=loop, name="every", daemon=True).start()
    return stop.set
