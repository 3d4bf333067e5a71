"""Wiring for `run` and `watch`: rules, engine, pipeline, sinks, sources, and the summary."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from engine import packs
from engine.alerts import ConsoleSink, JsonlSink
from engine.core import Engine
from engine.durations import format_duration
from engine.model import Action, Decision, Sample
from engine.pipeline import Pipeline, Sink
from engine.rule import RuleSet
from engine.runner import RunOptions, Supervisor, install_signals, wait_for_signal
from engine.sources.child import Terminal
from engine.sources.metrics import Sampler
from engine.sources.probe import ProbeListener
from engine.sources.tail import Tailer

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_SCRIPT = DEMO_DIR / "train.py"
DEMO_RULES = DEMO_DIR / "demo.yaml"


def demo_command(fault: str | None) -> list[str]:
    return [sys.executable, str(DEMO_SCRIPT), *(["--fault", fault] if fault else [])]


def rule_paths(given: Sequence[Path], demo: bool) -> list[Path]:
    paths = list(given) or packs.default_paths()
    return [*paths, DEMO_RULES] if demo else paths


def _sinks(terminal: Terminal, state_dir: Path, dry_run: bool) -> list[Sink]:
    console = ConsoleSink(terminal, colour=_is_tty(terminal.stderr_fd))
    return [console] if dry_run else [console, JsonlSink(state_dir / "alerts.jsonl")]


def _is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _project(name: str) -> str:
    return name or socket.gethostname()


def run(rules: RuleSet, opts: RunOptions, project: str = "", verbose: bool = False) -> int:
    """Supervise `opts.command`; returns the exit code `run` should exit with."""
    terminal = Terminal()
    engine = Engine(rules, host=socket.gethostname(), project=_project(project))
    supervisor: list[Supervisor] = []

    def on_action(action: Action, decision: Decision) -> None:
        supervisor[0].request(action, decision)

    def notice(text: str) -> None:
        terminal.notice(terminal.stderr_fd, f"[rlswarm-rules] {text}")

    pipeline = Pipeline(
        engine,
        _sinks(terminal, opts.state_dir, opts.dry_run),
        notice,
        on_action,
        time.time,
        verbose=verbose,
    )
    pipeline.start()
    probe = ProbeListener(pipeline.post_probe, time.time)
    tailer = Tailer(opts.watch, pipeline.post_chunk, time.time) if opts.watch else None
    if tailer:
        tailer.start()
    supervisor.append(Supervisor(opts, pipeline, terminal, probe.path))
    install_signals(supervisor[0].on_signal)
    notice(f"{len(rules.enabled)} rules loaded; running: {' '.join(opts.command)}")
    summary = supervisor[0].run()
    if tailer:
        tailer.stop()
    pipeline.stop()
    probe.close()
    for line in summary_lines(
        pipeline, summary.exit_code, summary.runtime_s, summary.restarts, opts
    ):
        notice(line)
    return summary.exit_code


def summary_lines(
    pipeline: Pipeline, code: int, runtime: float, restarts: int, opts: RunOptions
) -> list[str]:
    tally = pipeline.tally
    lines = [
        f"summary: exit code {code} after {format_duration(runtime)}, {restarts} restarts, "
        f"{tally.lines:,} lines observed"
    ]
    if tally.patched:
        applied = [m for m in tally.patched if m.get("applied")]
        versions = sorted({str(m.get("version")) for m in tally.patched})
        state = f"applied in {len(applied)} process(es)" if applied else "not needed"
        lines.append(f"accelerate empty-loader fix: {state} (accelerate {', '.join(versions)})")
    elif opts.patch:
        lines.append(f"probe: active in {tally.probes} Python process(es); accelerate not loaded")
    sent = tally.notifications
    if sent:
        by = Counter(d.severity.label for d in sent if d.reason.value != "resolved")
        rules = ", ".join(sorted({d.rule for d in sent}))
        counts = ", ".join(f"{n} {sev}" for sev, n in sorted(by.items()))
        lines.append(f"alerts: {counts or 'only resolutions'} ({rules})")
    else:
        lines.append("alerts: none")
    if tally.dropped_bytes:
        lines.append(
            f"{tally.dropped_bytes:,} output bytes were too fast to evaluate (still captured)"
        )
    if tally.internal_errors:
        lines.append(f"{tally.internal_errors} internal errors in rule evaluation")
    if not opts.dry_run:
        lines.append(
            f"alerts journal: {opts.state_dir / 'alerts.jsonl'}; "
            f"output captured in {opts.state_dir / 'logs' / 'run.log'}"
        )
    return lines


def watch(
    rules: RuleSet,
    files: Sequence[str],
    interval: float,
    state_dir: Path,
    project: str = "",
    dry_run: bool = False,
) -> int:
    """Follow `files` (and the host's metrics) until interrupted."""
    terminal = Terminal()
    engine = Engine(rules, host=socket.gethostname(), project=_project(project))

    def notice(text: str) -> None:
        terminal.notice(terminal.stderr_fd, f"[rlswarm-rules] {text}")

    def on_action(action: Action, decision: Decision) -> None:
        notice(
            f"rule '{decision.rule}' asks to {action.value}; `watch` starts nothing, so it cannot"
        )

    pipeline = Pipeline(engine, _sinks(terminal, state_dir, dry_run), notice, on_action, time.time)
    pipeline.start()
    tailer = Tailer(files, pipeline.post_chunk, time.time)
    tailer.start()
    sampler = Sampler(disk_path=os.getcwd())
    notice(f"{len(rules.enabled)} rules loaded; watching {', '.join(files)} (Ctrl-C to stop)")
    stop = every(interval, lambda: pipeline.post(Sample(time.time(), sampler.sample())))
    wait_for_signal()
    stop()
    tailer.stop()
    pipeline.stop()
    notice(
        f"stopped; {pipeline.tally.lines:,} lines observed, "
        f"{len(pipeline.tally.notifications)} alerts"
    )
    return 0


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
