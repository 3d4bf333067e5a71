"""The observation path never holds up the child, and loses no alert when it is slow."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from engine.core.engine import Engine
from engine.model import Action, Decision
from engine.packs import yamlio
from engine.packs.compile import compile_packs
from engine.supervise.pipeline import Pipeline
from engine.supervise.sources.child import Child, Terminal, child_environment

PACK = """\
rules:
  - id: every-line
    severity: info
    log: '^line (?P<n>\\d+)$'
    cooldown: 0s
    examples: {fires: [line 1]}
"""


class SlowSink:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.got: list[Decision] = []

    def send(self, decision: Decision) -> None:
        time.sleep(self.delay)
        self.got.append(decision)


class BrokenSink:
    def send(self, decision: Decision) -> None:
        raise OSError("the disk is full")


def test_slow_alerts_never_slow_the_child_and_none_is_lost(tmp_path: Path) -> None:
    compiled = compile_packs([yamlio.parse(PACK, "p.yaml")])
    assert compiled.ok
    slow = SlowSink(0.002)
    notices: list[str] = []
    actions: list[Action] = []
    pipeline = Pipeline(
        Engine(compiled.rules),
        [slow, BrokenSink()],
        notices.append,
        lambda a, d: actions.append(a),
        time.time,
    )
    pipeline.start()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    drained: list[bytes] = []

    def drain(fd: int) -> None:
        while chunk := os.read(fd, 65536):
            drained.append(chunk)

    readers = [threading.Thread(target=drain, args=(fd,)) for fd in (out_r, err_r)]
    for reader in readers:
        reader.start()
    code = "import sys\nfor i in range(2000): print(f'line {i}')"
    started = time.monotonic()
    child = Child(
        [sys.executable, "-c", code],
        child_environment(os.environ, None),
        Terminal(out_w, err_w),
        pipeline.post_chunk,
    )
    child.proc.wait(30)
    child.drain()
    child.release()
    child_done = time.monotonic() - started
    pipeline.stop()
    os.close(out_w)
    os.close(err_w)
    for reader in readers:
        reader.join()
    # 2000 alerts at 2 ms each take 4 s to hand out; the child was never held up by that.
    assert child_done < 3.5, child_done
    assert len(b"".join(drained).splitlines()) == 2000
    assert [d.values["n"] for d in slow.got] == list(range(2000))
    failures = [n for n in notices if "failed" in n]
    assert len(failures) == 1 and "the disk is full" in failures[0]
    assert pipeline.tally.sink_failures == {"BrokenSink": 2000}
    assert actions == []
