"""The stack `run` builds: delivery set up while the training starts, without losing an alert."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from histories import compile_pack

from engine.notify import builtin as builtin_channels
from engine.notify import channels as channelconf
from engine.supervise.wiring import PREFIX, Alerting, build

PACK = """\
rules:
  - id: boom
    severity: error
    log: 'BOOM (?P<n>\\d+)'
    cooldown: 0s
    summary: "boom {n}"
    examples: {fires: ["BOOM 1"]}
"""


def test_output_posted_while_delivery_is_set_up_is_all_alerted(tmp_path: Path) -> None:
    journal = tmp_path / "alerts.jsonl"
    (tmp_path / "channels.yaml").write_text(
        f"channels:\n  - name: journal\n    url: jsonl://{journal}\n"
    )
    channels = channelconf.load(tmp_path / "channels.yaml")
    stack = build(Alerting(compile_pack(PACK), channels), tmp_path, defer=True)
    for n in range(50):  # the child's first output, queued until the pipeline starts
        stack.pipeline.post_chunk("stdout", time.time(), b"BOOM %d\n" % n)
    assert stack.close() == []
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["values"]["n"] for r in records] == list(range(50))


class Broken:
    """A channel that breaks delivery's set-up (it has none of a channel's fields)."""


def test_a_failed_set_up_shows_the_alerts_on_the_terminal(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    channels = channelconf.ChannelSet(project="p", channels=[Broken()])  # type: ignore[list-item]
    stack = build(Alerting(compile_pack(PACK), channels), tmp_path, defer=True)
    stack.pipeline.post_chunk("stdout", time.time(), b"BOOM 3\n")
    stack.close()
    err = capfd.readouterr().err
    assert f"{PREFIX} setting up delivery and the dashboard failed: AttributeError(" in err
    assert "alerts are shown here only" in err
    assert f"{PREFIX} ERROR boom: boom 3" in err


def test_the_prefix_is_the_consoles() -> None:
    assert PREFIX == builtin_channels.PREFIX
