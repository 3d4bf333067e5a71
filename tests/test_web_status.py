"""The dashboard's status model as tables: a pack, a history, what the snapshot must show.

Each case replays its history through a real `Engine` the way the pipeline does
(lines as blocks, then the publisher told what was decided) and compares a
digest of the published snapshot: the training's state, restarts, exit code,
time since progress, the pending/firing rules and the alerts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from histories import TICK, History, Line, compile_pack, event, metrics, observe

from engine.core.engine import Engine
from engine.model import Decision, Event, LineBlock, LogLine, Reason, Sample, Severity
from engine.notify.delivery import ChannelCounts
from engine.web.publish import Latest, Publisher, View
from engine.web.status import ALERTS_LEN, SERIES, SERIES_LEN, Meta, Progress, Status

PACK = """
signals:
  - name: step
    log: 'step \\d+'
rules:
  - id: stalled
    severity: error
    absent: step
    for: 10s
    labels: {category: stall_no_progress}
  - id: silent
    severity: warning
    absent: activity
    for: 60s
    labels: {category: stall_no_progress}
  - id: mem-high
    severity: warning
    metric: mem_percent > 90
    for: 5s
    summary: "memory at {mem_percent:.0f}%"
  - id: crashed
    severity: critical
    event: exit
    where: code != 0 and not requested
    summary: "exited with {code}"
"""

ACTIVITY_ONLY = """
rules:
  - id: quiet
    severity: error
    absent: activity
    for: 10s
    labels: {category: stall_no_progress}
"""

NO_STALL_RULES = """
rules:
  - id: boom
    severity: error
    log: BOOM
"""

START = event("start", pid=42, command="python train.py", attempt=1)
STEP = Line("step 1")


@dataclass(frozen=True)
class Case:
    name: str
    history: History
    expect: dict[str, Any]
    pack: str = PACK
    mode: str = "run"


def replay(
    pack: str, history: History, mode: str = "run", scrub: Any = str
) -> tuple[Publisher, View]:
    rules = compile_pack(pack)
    engine = Engine(rules, host="h", project="p")
    severities = {r.id: r.severity.label for r in rules.enabled}
    status = Status(Meta("node-a", "proj", "9.9", mode), Progress.of(rules), severities)
    publisher = Publisher(status, engine, Latest(), scrub, _raise, clock=lambda: 0.0)
    for i, (t, step) in enumerate(history):
        obs = observe(t, step, i + 1)
        if isinstance(obs, LogLine):
            block = LineBlock(obs.source, [obs.text], [obs.t], [obs.line_no])
            publisher(block, engine.feed_lines(block))
        else:
            publisher(obs, engine.feed(obs))
    return publisher, publisher.publish()


def _raise(text: str) -> None:
    raise AssertionError(text)


def digest(state: dict[str, Any]) -> dict[str, Any]:
    training = state["training"]
    return {
        "state": training["state"],
        "restarts": training["restarts"],
        "exit_code": training["exit_code"],
        "pid": training["pid"],
        "uptime": training["uptime_s"],
        "last_progress": training["last_progress"],
        "since_progress": training["seconds_since_progress"],
        "rules": [(r["id"], r["state"], r["since"]) for r in state["rules"]],
        "alerts": [(a["t"], a["rule"], a["reason"]) for a in state["alerts"]],
    }


def base(**changes: Any) -> dict[str, Any]:
    expect: dict[str, Any] = {
        "state": "running",
        "restarts": 0,
        "exit_code": None,
        "pid": 42,
        "uptime": None,
        "last_progress": None,
        "since_progress": None,
        "rules": [],
        "alerts": [],
    }
    expect.update(changes)
    return expect


CASES = [
    Case(
        "nothing started yet",
        [(0, TICK), (3, TICK)],
        base(state="starting", pid=None, since_progress=None),
    ),
    Case(
        "running, progress counted from the start until the first progress line",
        [(0, START), (4, TICK)],
        base(uptime=4.0, since_progress=4.0),
    ),
    Case(
        "a progress line; other output is not progress",
        [(0, START), (2, STEP), (5, Line("loading weights...")), (6, TICK)],
        base(uptime=6.0, last_progress=2.0, since_progress=4.0),
    ),
    Case(
        "stalled: the stall rule fires when its `for` has passed without progress",
        [(0, START), (2, STEP), (13, TICK)],
        base(
            state="stalled",
            uptime=13.0,
            last_progress=2.0,
            since_progress=11.0,
            rules=[("stalled", "firing", 12.0)],
            alerts=[(12.0, "stalled", "first")],
        ),
    ),
    Case(
        "progress again: running, the stall resolved",
        [(0, START), (2, STEP), (13, TICK), (15, STEP), (16, TICK)],
        base(
            uptime=16.0,
            last_progress=15.0,
            since_progress=1.0,
            alerts=[(15.0, "stalled", "resolved"), (12.0, "stalled", "first")],
        ),
    ),
    Case(
        "crashed: a non-zero exit nobody asked for",
        [(0, START), (2, STEP), (5, event("exit", code=1, requested=False)), (6, TICK)],
        base(
            state="crashed",
            exit_code=1,
            pid=None,
            last_progress=2.0,
            since_progress=4.0,
            alerts=[(5.0, "crashed", "first")],
        ),
    ),
    Case(
        "stopped: an exit that was asked for",
        [(0, START), (5, event("exit", code=143, requested=True))],
        base(state="stopped", exit_code=143, pid=None),
    ),
    Case(
        "stopped: a clean exit",
        [(0, START), (5, event("exit", code=0, requested=False))],
        base(state="stopped", exit_code=0, pid=None),
    ),
    Case(
        "restarting after a crash, running again after the start",
        [
            (0, START),
            (5, event("exit", code=1, requested=False)),
            (5, event("restart", attempt=2, delay_s=10.0, cause="exit code 1")),
            (8, TICK),
        ],
        base(
            state="restarting",
            restarts=1,
            exit_code=1,
            pid=None,
            alerts=[(5.0, "crashed", "first")],
        ),
    ),
    Case(
        "the restart has started: running, the exit code cleared, uptime from the new start",
        [
            (0, START),
            (5, event("exit", code=1, requested=False)),
            (5, event("restart", attempt=2, delay_s=10.0, cause="exit code 1")),
            (15, event("start", pid=43, command="python train.py", attempt=2)),
            (17, TICK),
        ],
        base(
            restarts=1,
            pid=43,
            uptime=2.0,
            since_progress=2.0,
            alerts=[(5.0, "crashed", "first")],
        ),
    ),
    Case(
        "gave up after a crash: crashed",
        [
            (0, START),
            (5, event("exit", code=1, requested=False)),
            (5, event("gave_up", restarts=5, within_s=3600.0)),
        ],
        base(state="crashed", exit_code=1, pid=None, alerts=[(5.0, "crashed", "first")]),
    ),
    Case(
        "a metric rule pending, then firing at the end of its `for`, then resolved",
        [(0, START), (1, STEP), (1, metrics(mem_percent=95.0)), (4, TICK)],
        base(
            uptime=4.0,
            last_progress=1.0,
            since_progress=3.0,
            rules=[("mem-high", "pending", 1.0)],
        ),
    ),
    Case(
        "... firing",
        [(0, START), (1, STEP), (1, metrics(mem_percent=95.0)), (7, STEP)],
        base(
            uptime=7.0,
            last_progress=7.0,
            since_progress=0.0,
            rules=[("mem-high", "firing", 6.0)],
            alerts=[(6.0, "mem-high", "first")],
        ),
    ),
    Case(
        "... resolved",
        [
            (0, START),
            (1, STEP),
            (1, metrics(mem_percent=95.0)),
            (7, STEP),
            (8, metrics(mem_percent=50.0)),
        ],
        base(
            uptime=8.0,
            last_progress=7.0,
            since_progress=1.0,
            alerts=[(8.0, "mem-high", "resolved"), (6.0, "mem-high", "first")],
        ),
    ),
    Case(
        "pending that ends before its `for` (no decision says so): gone from the list",
        [(0, START), (1, STEP), (1, metrics(mem_percent=95.0)), (2, metrics(mem_percent=50.0))],
        base(uptime=2.0, last_progress=1.0, since_progress=1.0),
    ),
    Case(
        "watch: watching, and stalled once the stall rule's `for` has passed",
        [(0, TICK), (2, STEP), (5, TICK)],
        base(state="watching", pid=None, last_progress=2.0, since_progress=3.0),
        mode="watch",
    ),
    Case(
        "watch, stalled",
        [(0, TICK), (2, STEP), (12, TICK)],
        base(
            state="stalled",
            pid=None,
            last_progress=2.0,
            since_progress=10.0,
            rules=[("stalled", "firing", 12.0)],
            alerts=[(12.0, "stalled", "first")],
        ),
        mode="watch",
    ),
    Case(
        "only an `activity` stall rule: any line is progress",
        [(0, START), (3, Line("anything")), (5, TICK)],
        base(uptime=5.0, last_progress=3.0, since_progress=2.0),
        pack=ACTIVITY_ONLY,
    ),
    Case(
        "... and a heartbeat too",
        [(0, START), (3, event("heartbeat", batches=10)), (5, TICK)],
        base(uptime=5.0, last_progress=3.0, since_progress=2.0),
        pack=ACTIVITY_ONLY,
    ),
    Case(
        "no stall rule at all: output is progress, and nothing is ever stalled",
        [(0, START), (3, Line("anything")), (500, TICK)],
        base(uptime=500.0, last_progress=3.0, since_progress=497.0),
        pack=NO_STALL_RULES,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_status_table(case: Case) -> None:
    _, view = replay(case.pack, case.history, case.mode)
    assert digest(dict(view.state)) == case.expect
    assert json.loads(view.body) == json.loads(json.dumps(view.state))


def test_progress_is_read_from_the_stall_rules() -> None:
    progress = Progress.of(compile_pack(PACK))
    assert progress.signals == {"step"}  # `activity` only counts when nothing else is watched
    assert progress.rules == {"stalled", "silent"}
    assert progress.threshold == 10.0
    assert Progress.of(compile_pack(ACTIVITY_ONLY)).signals == {"activity"}
    assert Progress.of(compile_pack(NO_STALL_RULES)) == Progress()


def test_snapshot_has_every_field_of_the_contract() -> None:
    _, view = replay(PACK, [(0, START), (1, metrics(cpu_percent=5.0, mem_percent=95.0))])
    state = view.state
    assert set(state) == {
        "node", "project", "now", "version", "mode", "training", "rules", "alerts", "outbox",
        "series",
    }  # fmt: skip
    assert (state["node"], state["project"], state["version"], state["mode"]) == (
        "node-a",
        "proj",
        "9.9",
        "run",
    )
    assert set(state["training"]) == {
        "state", "command", "pid", "started", "uptime_s", "restarts", "exit_code", "fix",
        "last_progress", "seconds_since_progress",
    }  # fmt: skip
    assert state["training"]["command"] == "python train.py"
    assert state["training"]["fix"] == {"applied": None, "detail": None}
    assert state["rules"] == [
        {"id": "mem-high", "severity": "warning", "state": "pending", "since": 1.0,
         "summary": "memory at 95%"}
    ]  # fmt: skip
    assert set(state["series"]) == {"t", *SERIES}
    assert state["outbox"] == {"pending": 0, "channels": []}


def test_series_keep_the_last_600_host_samples_with_accelerator_memory_carried() -> None:
    history: list[tuple[float, Any]] = [(0, START)]
    history.append((0.5, metrics(gpu_mem_gb=1.5)))  # the probe's report: no point of its own
    for i in range(1, SERIES_LEN + 51):
        values = {"cpu_percent": float(i % 100), "mem_percent": 10.0, "disk_percent": 50.0}
        if i == SERIES_LEN + 50:
            values["swap_percent"] = float("nan")
        history.append((float(i), metrics(**values)))
    _, view = replay(PACK, history)
    series = view.state["series"]
    assert len(series["t"]) == SERIES_LEN
    assert series["t"][0] == 51.0 and series["t"][-1] == SERIES_LEN + 50.0
    assert all(len(series[name]) == SERIES_LEN for name in SERIES)
    assert series["cpu_percent"][-1] == float((SERIES_LEN + 50) % 100)
    assert series["swap_percent"][-1] is None  # NaN is not JSON
    assert series["swap_percent"][0] is None  # never sampled
    assert series["accel_mem_gb"][0] == 1.5
    assert series["seconds_since_progress"][-1] == SERIES_LEN + 50.0
    assert view.latest["cpu_percent"] == series["cpu_percent"][-1]


def test_accelerator_memory_is_forgotten_when_the_training_exits() -> None:
    history: History = [
        (0, START),
        (1, metrics(mps_mem_gb=2.0)),
        (2, metrics(cpu_percent=1.0)),
        (3, event("exit", code=0, requested=False)),
        (4, metrics(cpu_percent=1.0)),
    ]
    _, view = replay(PACK, history)
    assert view.state["series"]["accel_mem_gb"] == [2.0, None]
    assert view.state["series"]["seconds_since_progress"] == [2.0, None]


def test_alerts_keep_the_newest_100_newest_first_with_unique_keys() -> None:
    history: History = [(float(i), Line("BOOM")) for i in range(ALERTS_LEN + 30)]
    pack = NO_STALL_RULES.replace("log: BOOM", "log: BOOM\n    cooldown: 0s")
    _, view = replay(pack, history)
    alerts = view.state["alerts"]
    assert len(alerts) == ALERTS_LEN
    assert [a["t"] for a in alerts] == [float(i) for i in range(ALERTS_LEN + 29, 29, -1)]
    assert len({a["key"] for a in alerts}) == ALERTS_LEN
    assert view.alerts == {("boom", "error"): ALERTS_LEN + 30}
    assert view.lines == ALERTS_LEN + 30


def test_the_fix_is_shown_applied_once_any_process_applied_it() -> None:
    patched = event("patched", fix="f", library="accelerate", version="1.8.1", applied=True)
    not_needed = event("patched", fix="f", library="accelerate", version="1.8.1", applied=False)
    _, view = replay(PACK, [(0, START), (1, patched), (2, not_needed)])
    assert view.state["training"]["fix"] == {
        "applied": True,
        "detail": "accelerate 1.8.1: fix applied",
    }
    _, view = replay(PACK, [(0, START), (1, not_needed)])
    assert view.state["training"]["fix"]["applied"] is False


def test_the_detail_comes_from_the_probe_message() -> None:
    publisher, _ = replay(PACK, [(0, START)])
    publisher.patched = lambda: [{"detail": "empty data loaders now end the epoch"}]
    publisher(Event(1.0, "patched", {"version": "1.8.1", "applied": True}), [])
    detail = publisher.publish().state["training"]["fix"]["detail"]
    assert detail == "accelerate 1.8.1: fix applied: empty data loaders now end the epoch"


def test_outbox_channels_and_totals() -> None:
    publisher, _ = replay(PACK, [(0, START)])
    counts = {
        "email": ChannelCounts(pending=2, failed=3, failing=True, last_error="timed out"),
        "journal": ChannelCounts(ok=5),
        "phone": ChannelCounts(failing=True, last_error="not built: why", broken=True),
    }
    publisher.deliveries = lambda: counts
    view = publisher.publish()
    email = {"name": "email", "pending": 2, "failing": True, "last_error": "timed out"}
    journal = {"name": "journal", "pending": 0, "failing": False, "last_error": None}
    phone = {"name": "phone", "pending": 0, "failing": True, "last_error": "not built: why"}
    assert view.state["outbox"] == {
        "pending": 2,
        "channels": [
            {**email, "broken": False},
            {**journal, "broken": False},
            {**phone, "broken": True},
        ],
    }
    assert view.deliveries == counts


def test_secrets_are_scrubbed_from_the_published_body() -> None:
    pack = NO_STALL_RULES.replace("log: BOOM", "log: 'BOOM (?P<what>\\S+)'\n    summary: '{what}'")
    _, view = replay(
        pack, [(0, Line("BOOM hunter2-token"))], scrub=lambda s: s.replace("hunter2", "****")
    )
    assert b"hunter2" not in view.body
    assert b"****-token" in view.body


@dataclass
class Clock:
    now: float = 0.0
    published: list[float] = field(default_factory=list)


def test_views_are_published_at_most_twice_a_second_and_at_once_on_news() -> None:
    rules = compile_pack(PACK)
    engine = Engine(rules)
    status = Status(Meta("n", "p", "v", "run"), Progress.of(rules))
    latest = Latest()
    clock = Clock()
    publisher = Publisher(status, engine, latest, str, _raise, clock=lambda: clock.now)
    seqs: list[tuple[float, int]] = []

    def step(t: float, obs: Sample | Event | LineBlock) -> None:
        clock.now = t
        decisions: Sequence[Decision] = (
            engine.feed_lines(obs) if isinstance(obs, LineBlock) else engine.feed(obs)
        )
        publisher(obs, list(decisions))
        seqs.append((t, latest.view.seq if latest.view else 0))

    step(0.0, Event(0.0, "start", {"pid": 1}))  # news: published
    step(0.1, LineBlock("stdout", ["a"], [0.1], [1]))  # too soon
    step(0.3, LineBlock("stdout", ["b"], [0.3], [2]))  # too soon
    step(0.6, LineBlock("stdout", ["c"], [0.6], [3]))  # 0.6 s after the last: published
    step(0.7, Event(0.7, "exit", {"code": 1, "requested": False}))  # news (and an alert): at once
    assert seqs == [(0.0, 1), (0.1, 1), (0.3, 1), (0.6, 2), (0.7, 3)]
    assert latest.view is not None and latest.view.news_seq == 2


def test_a_failure_in_the_model_is_reported_once_and_never_raised() -> None:
    rules = compile_pack(PACK)
    notices: list[str] = []
    status = Status(Meta("n", "p", "v", "run"), Progress.of(rules))
    publisher = Publisher(status, Engine(rules), Latest(), str, notices.append)

    def broken(*args: object) -> bool:
        raise RuntimeError("bug")

    status.observe = broken  # type: ignore[method-assign]
    publisher(Sample(1.0, {}), [])
    publisher(Sample(2.0, {}), [])
    assert len(notices) == 1 and "RuntimeError: bug" in notices[0]


def test_severity_labels_are_the_rules_own() -> None:
    _, view = replay(PACK, [(0, START), (1, metrics(mem_percent=99.0))])
    assert view.state["rules"][0]["severity"] == Severity.WARNING.label
    assert Reason.PENDING.value == "pending"
