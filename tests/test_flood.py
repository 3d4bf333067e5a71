"""Output faster than evaluation: only what no rule matches is shed, never a line a rule may
match (the prefilter sees every byte), and lines keep their numbers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.core.engine import Engine
from engine.logs.lines import Splitter
from engine.logs.skim import Lookout, shed
from engine.match.cache import default_dir
from engine.match.prefilter import accelerated, available
from engine.model import Decision
from engine.packs import yamlio
from engine.packs.compile import compile_packs
from engine.packs.rule import RuleSet
from engine.supervise import pipeline as pipeline_module
from engine.supervise.pipeline import Pipeline

pytestmark = pytest.mark.skipif(not available(), reason="hyperscan not installed")

PACK = """\
signals:
  - name: step
    log: 'step (?P<value>\\d+)'
rules:
  - id: oom
    severity: critical
    log: 'CUDA out of memory'
    cooldown: 0s
    examples: {fires: ["CUDA out of memory"]}
"""


def rules() -> RuleSet:
    compiled = compile_packs([yamlio.parse(PACK, "p.yaml")])
    assert compiled.ok, compiled.problems
    return compiled.rules


def lookout(rule_set: RuleSet) -> Lookout:
    matcher = accelerated(rule_set.patterns, default_dir())
    signals = len(rule_set.signals)
    rules_only = accelerated(rule_set.patterns[signals:], default_dir())
    return Lookout(matcher, rule_set.silence_gap, rule_set.context, signals, rules_only)


def test_shed_keeps_every_rule_line_and_the_last_line_of_each_signal() -> None:
    region = (
        b"noise 1\n"
        b"\x1b[32mstep 1\x1b[0m\rstep 2\rnoise\n"
        b"CUDA out of memory (a)\n"
        b"noise \xff\n"  # not UTF-8: read as the decoder would
        b"step 3\n"
        b"CUDA out of memory (b)\rnoise\n"
        b"noise 2\n"
    )
    result = shed(region, lookout(rules()))
    assert result is not None
    texts, numbers = Splitter().feed(result.data)
    assert list(zip(numbers, texts, strict=True)) == [
        (3, "CUDA out of memory (a)"),
        (5, "step 3"),
        (6, "CUDA out of memory (b)"),
    ]
    assert result.skipped == 7  # noise 1, step 1, step 2, noise, noise \xff, noise, noise 2
    assert result.data.count(b"\n") == region.count(b"\n")


class Collect:
    def __init__(self) -> None:
        self.got: list[Decision] = []

    def send(self, decision: Decision) -> None:
        self.got.append(decision)


def test_a_full_queue_keeps_the_lines_a_rule_may_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """The evaluation thread is not running: the queue fills at once, and each chunk after
    that is queued with its rule lines only. None is dropped; the alert has its line."""
    monkeypatch.setattr(pipeline_module, "MAX_QUEUED_BYTES", 64 * 1024)
    rule_set = rules()
    sink = Collect()
    pipeline = Pipeline(
        Engine(rule_set), [sink], lambda _: None, lambda *_: None, time.time,
        lookout=lookout(rule_set),
    )  # fmt: skip
    lines = [f"step {i} loss=0.{i % 97:02d} and some words to make it long" for i in range(40_000)]
    lines[31_234] = "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"
    data = "".join(f"{line}\n" for line in lines).encode()
    for at in range(0, len(data), 5000):  # cut anywhere, partial lines included
        pipeline.post_chunk("stdout", time.time(), data[at : at + 5000])
    pipeline.start()
    pipeline.stop()
    (alert,) = [d for d in sink.got if d.rule == "oom"]
    assert (alert.line_no, alert.line) == (31_235, lines[31_234])
    tally = pipeline.tally
    assert tally.dropped_bytes == 0 and tally.skipped_lines > 30_000
    assert tally.lines == 40_000


def clocked_pipeline(now: list[float]) -> tuple[Pipeline, Collect]:
    """A pipeline over the pack, reading its time from `now[0]`, and what it decided."""
    rule_set, sink = rules(), Collect()
    pipeline = Pipeline(
        Engine(rule_set), [sink], lambda _: None, lambda *_: None, lambda: now[0],
        lookout=lookout(rule_set),
    )  # fmt: skip
    return pipeline, sink


def test_behind_the_output_only_rule_lines_and_each_signals_latest_are_read() -> None:
    """Chunks read two seconds ago: the batch is behind, so of the lines only the signal
    matches, the latest is read; the rule's lines all are."""
    now = [990.0]
    pipeline, sink = clocked_pipeline(now)
    text = "".join(f"step {i}\n" if i % 100 else "CUDA out of memory\n" for i in range(1, 1001))
    pipeline.start()
    now[0] = 1000.0
    pipeline.post_chunk("stdout", 998.0, text.encode())
    pipeline.stop()
    assert [d.line_no for d in sink.got if d.rule == "oom"] == list(range(100, 1001, 100))
    assert pipeline.engine.metrics["step"] == 999
    assert pipeline.tally.hasty_lines == 1000 and pipeline.tally.lines == 1000


def test_output_that_waited_for_the_start_is_not_behind() -> None:
    """Lines read while `run` was still setting up delivery waited for that, not for
    evaluation: they are read one by one, and nothing is said to have gone by."""
    now = [998.0]
    pipeline, sink = clocked_pipeline(now)
    pipeline.post_chunk("stdout", 998.0, b"step 1\nstep 2\nCUDA out of memory\n")
    now[0] = 1000.0
    pipeline.start()
    pipeline.stop()
    assert [d.line_no for d in sink.got if d.rule == "oom"] == [3]
    assert pipeline.tally.hasty_lines == 0 and pipeline.tally.lines == 3


CHILD = """\
    import sys, time
    w = sys.stdout.buffer.write
    mode = sys.argv[1]
    if mode == "redraw":  # 1M tqdm redraws, with colour
        for i in range(1_000_000):
            w(b"\\r\\x1b[32mTraining: %3d%%|\\xe2\\x96\\x88\\xe2\\x96\\x88    | %7d/1000000\\x1b[0m"
              % (i // 10000, i))
    else:  # 100 MB of log lines as fast as it can, a crash line in the middle
        line = b"INFO step 12345 loss=0.1234 reward=0.5678 lr=5e-07 kl=0.0012 all is fine\\n"
        block = line * 10_000
        for k in range(130):
            w(block)
            if k == 65:
                w(b"RuntimeError: CUDA out of memory. Tried to allocate 9.00 GiB (middle)\\n")
    sys.stdout.buffer.flush()
    print(f"last written {time.time():.3f}", file=sys.stderr, flush=True)
    w(b"\\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\\n")
    sys.stdout.buffer.flush()
    time.sleep(2)
"""


@pytest.mark.parametrize("mode", ["redraw", "flood"])
def test_a_crash_line_in_or_after_a_flood_alerts(tmp_path: Path, mode: str) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "p.yaml").write_text(PACK)
    (tmp_path / "child.py").write_text(textwrap.dedent(CHILD))
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--", sys.executable, "child.py", mode],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    journal = (tmp_path / ".rlswarm" / "alerts.jsonl").read_text().splitlines()
    alerts = [json.loads(line) for line in journal]
    oom = [a for a in alerts if a["rule"] == "oom"]
    expected = ["(middle)", "2.00 GiB"] if mode == "flood" else ["2.00 GiB"]
    assert [next(e for e in expected if e in a["line"]) for a in oom] == expected
    assert "came too fast to evaluate and were not" not in proc.stderr  # nothing dropped
