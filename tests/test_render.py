"""Alert records to messages: every style for the kinds of alert a training produces.

Alerts are built the way delivery builds them, `alert_record(Decision(...))`,
so a field the renderer expects and the record does not carry shows up here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from engine.model import Decision, Reason, Severity
from engine.notify.record import alert_record
from engine.notify.render import (
    CUT,
    LIMITS,
    SMS_CHARS,
    STYLES,
    Message,
    fit,
    headline,
    notify_type,
    render,
    render_digest,
)

PROJECT = "RL-Swarm node 1"
HOST = "gpu-node-07"
T = 1_717_000_000.0  # 2024-05-29 16:26:40 UTC
ALL_STYLES = ["console", "text", "markdown", "html", "sms", "json"]
FORMATS = {
    "console": "text",
    "text": "text",
    "markdown": "markdown",
    "html": "html",
    "sms": "text",
    "json": "text",
}
CUT_AT_END = re.compile(r"\n\.\.\. \(cut to fit: (\d+) more bytes\)\Z")
CUT_START = "\n... (cut to fit: "

LOG = Decision(
    t=T,
    rule="cuda-oom",
    group="",
    reason=Reason.FIRST,
    severity=Severity.CRITICAL,
    summary="CUDA out of memory on GPU 0 (tried to allocate 2.00 GiB)",
    advice="Lower per_device_train_batch_size in the config.",
    labels={"category": "gpu"},
    source="logs/swarm_launcher.log",
    line_no=1832,
    line="torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.",
    context=(
        '  File "/home/gensyn/rl-swarm/hivemind_exp/trainer.py", line 212, in training_step',
        "    loss = self.compute_loss(model, inputs)",
    ),
)
METRIC = Decision(
    t=T + 60,
    rule="gpu-temp-high",
    group="0",
    reason=Reason.FIRST,
    severity=Severity.WARNING,
    summary="GPU 0 at 91 °C for 5m (limit 85 °C)",
    advice="Check the fans; lower the power limit with nvidia-smi -pl 250.",
    labels={"category": "host"},
    values={"gpu.0.temp_c": 91.0, "gpu.0.util_pct": 98, "gpu.0.power_w": 287.45},
)
RESOLVED = replace(METRIC, t=T + 260, reason=Reason.RESOLVED, duration_s=200.0)
NAN = Decision(
    t=T + 120,
    rule="loss-nan",
    group="",
    reason=Reason.FIRST,
    severity=Severity.ERROR,
    summary="loss is NaN at step 4100",
    advice="Lower the learning rate or resume from the last checkpoint.",
    source="logs/swarm_launcher.log",
    line_no=2210,
    line="step 4100: loss=nan grad_norm=inf",
)
CHECKPOINT = Decision(
    t=T + 200,
    rule="checkpoint-saved",
    group="",
    reason=Reason.FIRST,
    severity=Severity.INFO,
    summary="checkpoint saved at round 12",
)
# The core's digest: what the cooldown suppressed since 16:27:10, reported when it ended.
DIGEST = replace(LOG, t=T + 600, reason=Reason.DIGEST, count=4, since=T + 30)


def record(decision: Decision) -> dict[str, Any]:
    return alert_record(decision, HOST, PROJECT)


def in_order(text: str, parts: Sequence[str]) -> None:
    """Every part occurs in `text`, each after the one before."""
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} missing (or out of order) in:\n{text}"
        at = found + len(part)


def cut_bytes(body: str) -> int | None:
    """How many bytes the cut marker at the end of `body` says were left out (None: no marker)."""
    found = CUT_AT_END.search(body)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Case:
    decision: Decision
    headline: str
    notify: str
    parts: Mapping[str, Sequence[str]]  # by style: fragments the body has, in this order
    absent: Mapping[str, Sequence[str]] = field(default_factory=dict)


LOG_LINES = "\n".join([*LOG.context, LOG.line or ""])
LOG_HEADLINE = "CRITICAL cuda-oom: CUDA out of memory on GPU 0 (tried to allocate 2.00 GiB)"
METRIC_HEADLINE = "WARNING gpu-temp-high [0]: GPU 0 at 91 °C for 5m (limit 85 °C)"
RESOLVED_HEADLINE = "RESOLVED gpu-temp-high [0] after 3m20s: GPU 0 at 91 °C for 5m (limit 85 °C)"
DIGEST_HEADLINE = (
    "CRITICAL cuda-oom (4 more since 16:27 UTC): CUDA out of memory on GPU 0 "
    "(tried to allocate 2.00 GiB)"
)
METRICS_TEXT = "Metrics:\n  gpu.0.power_w = 287.45\n  gpu.0.temp_c = 91.00\n  gpu.0.util_pct = 98\n"
METRICS_HTML = (
    "<h3>Metrics</h3><table><tr><td>gpu.0.power_w</td><td>287.45</td></tr>"
    "<tr><td>gpu.0.temp_c</td><td>91.00</td></tr><tr><td>gpu.0.util_pct</td><td>98</td></tr>"
    "</table>\n"
)


def th(key: str, value: str) -> str:
    return f"<tr><th align='left'>{key}</th><td>{value}</td></tr>"


CASES = {
    "log": Case(
        LOG,
        LOG_HEADLINE,
        "failure",
        {
            "text": [
                f"{LOG_HEADLINE}\n\n",
                "What to do:\nLower per_device_train_batch_size in the config.\n\n",
                f"Log:\n{LOG_LINES}\n\n",
                "time: 2024-05-29 16:26:40 UTC\nhost: gpu-node-07\nproject: RL-Swarm node 1\n"
                "rule: cuda-oom\nseverity: critical\nwhere: logs/swarm_launcher.log:1832\n"
                "labels: category=gpu\n\n",
                "alert id: ",
            ],
            "markdown": [
                f"### 🔴 {LOG_HEADLINE}\n\n",
                "**What to do:** Lower per_device_train_batch_size in the config.\n\n",
                "\n".join(f"> {line}" for line in LOG_LINES.split("\n")) + "\n\n",
                "- **time**: 2024-05-29 16:26:40 UTC\n- **host**: gpu-node-07\n"
                "- **project**: RL-Swarm node 1\n- **where**: logs/swarm_launcher.log:1832\n"
                "- **labels**: category=gpu",
            ],
            "html": [
                f"<h2 style='color:#b00020'>{LOG_HEADLINE}</h2>\n",
                "<h3>What to do</h3><p>Lower per_device_train_batch_size in the config.</p>\n",
                "<h3>Log</h3><pre>  File &quot;/home/gensyn/rl-swarm/hivemind_exp/trainer.py&quot;",
                "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.</pre>\n",
                "<table>"
                + th("time", "2024-05-29 16:26:40 UTC")
                + th("host", "gpu-node-07")
                + th("project", "RL-Swarm node 1")
                + th("rule", "cuda-oom")
                + th("severity", "critical")
                + th("where", "logs/swarm_launcher.log:1832")
                + th("labels", "category=gpu")
                + "</table>\n",
                "<p style='color:#888'>alert id: ",
            ],
        },
        {
            "text": ["Metrics:", "occurrences", "group:", "lasted"],
            "markdown": ["**rule**", "**severity**", "**metrics**", "occurrences", "alert id"],
            "html": ["<h3>Metrics</h3>", "occurrences"],
        },
    ),
    "metric": Case(
        METRIC,
        METRIC_HEADLINE,
        "warning",
        {
            "text": [
                f"{METRIC_HEADLINE}\n\n",
                "What to do:\nCheck the fans; lower the power limit with nvidia-smi -pl 250.\n\n",
                "time: 2024-05-29 16:27:40 UTC\nhost: gpu-node-07\nproject: RL-Swarm node 1\n"
                "rule: gpu-temp-high\nseverity: warning\ngroup: 0\nlabels: category=host\n\n",
                METRICS_TEXT + "\n",
                "alert id: ",
            ],
            "markdown": [
                f"### 🟡 {METRIC_HEADLINE}\n\n",
                "**What to do:** Check the fans; lower the power limit with nvidia-smi -pl 250.\n"
                "\n",
                "- **time**: 2024-05-29 16:27:40 UTC\n- **host**: gpu-node-07\n"
                "- **project**: RL-Swarm node 1\n- **group**: 0\n- **labels**: category=host",
            ],
            "html": [
                f"<h2 style='color:#b08800'>{METRIC_HEADLINE}</h2>\n",
                "<h3>What to do</h3><p>Check the fans;",
                th("severity", "warning") + th("group", "0") + th("labels", "category=host"),
                "</table>\n" + METRICS_HTML,
                "<p style='color:#888'>alert id: ",
            ],
        },
        {
            "text": ["Log:", "where:"],
            # Only the headline metrics (memory, disk, ...) make the markdown line; none here.
            "markdown": ["> ", "**metrics**", "**rule**", "**severity**", "alert id"],
            "html": ["<h3>Log</h3>", "where"],
        },
    ),
    "resolved": Case(
        RESOLVED,
        RESOLVED_HEADLINE,
        "success",
        {
            "text": [
                f"{RESOLVED_HEADLINE}\n\n",
                "time: 2024-05-29 16:31:00 UTC\nhost: gpu-node-07\nproject: RL-Swarm node 1\n"
                "rule: gpu-temp-high\nseverity: warning\ngroup: 0\nlasted: 3m20s\n"
                "labels: category=host\n\n",
                METRICS_TEXT + "\n",
                "alert id: ",
            ],
            "markdown": [
                f"### 🟢 {RESOLVED_HEADLINE}\n\n",
                "- **time**: 2024-05-29 16:31:00 UTC\n",
                "- **group**: 0\n- **lasted**: 3m20s\n- **labels**: category=host",
            ],
            "html": [
                f"<h2 style='color:#2b8a3e'>{RESOLVED_HEADLINE}</h2>\n<table>",
                th("group", "0") + th("lasted", "3m20s"),
                "</table>\n" + METRICS_HTML,
                "<p style='color:#888'>alert id: ",
            ],
        },
        {"text": ["What to do"], "markdown": ["What to do"], "html": ["What to do"]},
    ),
    "digest": Case(
        DIGEST,
        DIGEST_HEADLINE,
        "failure",
        {
            "text": [
                f"{DIGEST_HEADLINE}\n\n",
                "What to do:\n",
                f"Log:\n{LOG_LINES}\n\n",
                "time: 2024-05-29 16:36:40 UTC\n",
                "where: logs/swarm_launcher.log:1832\n"
                "occurrences: 4 since 2024-05-29 16:27:10 UTC\nlabels: category=gpu\n\n",
                "alert id: ",
            ],
            "markdown": [
                f"### 🔴 {DIGEST_HEADLINE}\n\n",
                "- **time**: 2024-05-29 16:36:40 UTC\n",
                "- **where**: logs/swarm_launcher.log:1832\n"
                "- **occurrences**: 4 since 2024-05-29 16:27:10 UTC\n- **labels**: category=gpu",
            ],
            "html": [
                f"<h2 style='color:#b00020'>{DIGEST_HEADLINE}</h2>\n",
                th("where", "logs/swarm_launcher.log:1832")
                + th("occurrences", "4 since 2024-05-29 16:27:10 UTC"),
                "<p style='color:#888'>alert id: ",
            ],
        },
    ),
}


def check(case: Case, style: str) -> None:
    alert = record(case.decision)
    message = render(alert, style, PROJECT)
    assert message.format == FORMATS[style]
    assert message.notify_type == case.notify
    if style == "console":
        # No title: the headline is the body's first line (Apprise refuses an empty body),
        # then the advice (none once resolved).
        assert message.title == ""
        if case.decision.reason is Reason.RESOLVED:
            assert message.body == case.headline
        else:
            assert message.body == f"{case.headline}\n{case.decision.advice}"
    elif style == "sms":
        assert message == Message("", f"[{PROJECT}] {case.headline}", "text", case.notify)
    elif style == "json":
        assert message.title == case.headline
        assert json.loads(message.body) == json.loads(json.dumps(alert))
    else:
        assert message.title == f"[{PROJECT}] {case.headline}"
        assert message.body.startswith(case.parts[style][0])  # the headline comes first
        in_order(message.body, case.parts[style])
        for part in case.absent.get(style, ()):
            assert part not in message.body
        if style == "text":
            assert message.body.endswith(f"\n\nalert id: {alert['key']}")
        elif style == "html":
            assert message.body.endswith(f"\n<p style='color:#888'>alert id: {alert['key']}</p>")
        else:
            assert "alert id" not in message.body and alert["key"] not in message.body


@pytest.mark.parametrize("style", ALL_STYLES)
@pytest.mark.parametrize("kind", ["log", "metric", "resolved", "digest"])
def test_every_style(kind: str, style: str) -> None:
    check(CASES[kind], style)


def test_records_carry_the_numeric_since() -> None:
    """`since` is the journal's ISO text; the renderer reads the number in `since_t`."""
    alert = record(DIGEST)
    assert alert["since_t"] == T + 30
    assert isinstance(alert["since"], str)


def test_notification_standing_for_suppressed_ones_says_how_many() -> None:
    again = replace(LOG, t=T + 900, reason=Reason.COOLDOWN_ELAPSED, count=3, since=T + 30)
    message = render(record(again), "text", PROJECT)
    assert message.title == (
        f"[{PROJECT}] CRITICAL cuda-oom (and 2 more since 16:27 UTC): CUDA out of memory on "
        "GPU 0 (tried to allocate 2.00 GiB)"
    )
    assert "\noccurrences: 3 since 2024-05-29 16:27:10 UTC\n" in message.body


# --- markdown: short for a phone ----------------------------------------------------------------


def test_markdown_quotes_the_last_six_log_lines_cut_to_300_characters() -> None:
    context = tuple(f"context {i} " + "x" * 500 for i in range(9))
    long = replace(LOG, context=context, line="the matched line " + "y" * 500)
    body = render(record(long), "markdown", PROJECT).body
    quoted = [line for line in body.split("\n") if line.startswith("> ")]
    expected = [f"> {line[:300]}" for line in [*context, long.line or ""][-6:]]
    assert quoted == expected
    assert "context 3 " not in body and "context 4 " in body  # 10 lines: the last 6 shown
    # The text and html styles keep every line, whole.
    for style in ("text", "html"):
        text = render(record(long), style, PROJECT).body
        assert all(line in text for line in context)


def test_markdown_metrics_line_has_the_headline_metrics() -> None:
    values = {
        "disk_free_gb": 1.25,
        "mem_percent": 97.5,
        "gpu.0.temp_c": 91.0,
        "swap_percent": 80,
        "flag": True,
    }
    memory = replace(METRIC, values=values)
    body = render(record(memory), "markdown", PROJECT).body
    assert body.endswith(
        "- **labels**: category=host\n"
        "- **metrics**: mem_percent=97.50, swap_percent=80, disk_free_gb=1.25"
    )
    # The full list stays in the text style.
    text = render(record(memory), "text", PROJECT).body
    in_order(text, ["Metrics:\n", "  gpu.0.temp_c = 91.00\n", "  mem_percent = 97.50\n"])


# --- notify types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "reason", "expected"),
    [
        (Severity.CRITICAL, Reason.FIRST, "failure"),
        (Severity.ERROR, Reason.FIRST, "failure"),
        (Severity.WARNING, Reason.FIRST, "warning"),
        (Severity.INFO, Reason.FIRST, "info"),
        (Severity.ERROR, Reason.REPEAT, "failure"),
        (Severity.WARNING, Reason.REPEAT, "warning"),
        (Severity.CRITICAL, Reason.RESOLVED, "success"),
        (Severity.ERROR, Reason.RESOLVED, "success"),
        (Severity.WARNING, Reason.RESOLVED, "success"),
        (Severity.INFO, Reason.RESOLVED, "success"),
    ],
)
def test_notify_type(severity: Severity, reason: Reason, expected: str) -> None:
    alert = record(replace(METRIC, severity=severity, reason=reason))
    assert notify_type(alert) == expected
    for style in ALL_STYLES:
        assert render(alert, style, PROJECT).notify_type == expected


# --- HTML ---------------------------------------------------------------------------------------


def test_html_escapes_log_lines_and_summary() -> None:
    hostile = replace(
        LOG,
        summary="bad <b>token</b> & friends",
        line="<script>alert('pwned')</script> loss=nan",
        context=("<img src=x onerror=alert(1)>",),
        labels={"note": "<i>x</i>"},
    )
    body = render(record(hostile), "html", PROJECT).body
    assert "<script>" not in body
    assert "<img" not in body
    assert "<b>token" not in body and "<i>x" not in body
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt; loss=nan" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "bad &lt;b&gt;token&lt;/b&gt; &amp; friends" in body


def test_html_digest_escapes_too() -> None:
    hostile = replace(NAN, summary="<script>x()</script>")
    body = render_digest([record(LOG), record(hostile)], "html", PROJECT).body
    assert "<script>" not in body
    assert "&lt;script&gt;x()&lt;/script&gt;" in body


# --- a burst as one digest ----------------------------------------------------------------------

BURST = [LOG, METRIC, NAN, CHECKPOINT, RESOLVED]  # 16:26:40, 16:27:40, 16:28:40, 16:30:00, 16:31:00
BURST_TITLE = f"[{PROJECT}] 5 alerts: 1 critical, 1 error, 1 warning, 1 info, 1 resolved"
BURST_LINES = [  # worst first, then by time
    f"16:26 UTC {LOG_HEADLINE}",
    "16:28 UTC ERROR loss-nan: loss is NaN at step 4100",
    f"16:27 UTC {METRIC_HEADLINE}",
    "16:30 UTC INFO checkpoint-saved: checkpoint saved at round 12",
    f"16:31 UTC {RESOLVED_HEADLINE}",
]


@pytest.mark.parametrize("style", ALL_STYLES)
def test_burst_digest(style: str) -> None:
    alerts = [record(d) for d in reversed(BURST)]  # the order they arrive in does not matter
    message = render_digest(alerts, style, PROJECT)
    assert message.notify_type == "failure"  # the worst of them
    assert message.format == FORMATS[style]
    if style == "json":
        assert message.title == "5 alerts"
        assert json.loads(message.body) == {"digest": json.loads(json.dumps(alerts))}
    elif style == "sms":
        assert message.title == ""
        whole = f"{BURST_TITLE}; worst: {LOG_HEADLINE}"
        assert len(whole) > SMS_CHARS
        assert message.body == whole[: SMS_CHARS - 3] + "..."
    elif style == "markdown":
        assert message.title == BURST_TITLE
        lines = [f"### {BURST_TITLE}", "", *(f"- {line}" for line in BURST_LINES)]
        assert message.body == "\n".join(lines)
    elif style == "html":
        assert message.title == BURST_TITLE
        items = "".join(f"<li>{line}</li>" for line in BURST_LINES)
        assert message.body == f"<h2>{BURST_TITLE}</h2><ul>{items}</ul>"
    else:  # text, and console (whose plugin prints the title above the lines)
        assert message.title == BURST_TITLE
        assert message.body == "\n".join(BURST_LINES)


def test_burst_lines_of_equal_severity_are_in_time_order() -> None:
    decisions = [replace(NAN, t=T + 300 - 60 * i, summary=f"loss NaN #{i}") for i in range(4)]
    body = render_digest([record(d) for d in decisions], "text", PROJECT).body
    assert body.split("\n") == [
        "16:28 UTC ERROR loss-nan: loss NaN #3",
        "16:29 UTC ERROR loss-nan: loss NaN #2",
        "16:30 UTC ERROR loss-nan: loss NaN #1",
        "16:31 UTC ERROR loss-nan: loss NaN #0",
    ]


@pytest.mark.parametrize(
    ("decisions", "summary", "worst"),
    [
        (
            [replace(METRIC, t=T + i) for i in range(3)]
            + [replace(LOG, t=T + 10 + i) for i in range(2)]
            + [replace(CHECKPOINT, t=T + 20)]
            + [replace(RESOLVED, t=T + 30 + i) for i in range(2)],
            "8 alerts: 2 critical, 3 warning, 1 info, 2 resolved",
            "failure",
        ),
        ([METRIC, RESOLVED, CHECKPOINT], "3 alerts: 1 warning, 1 info, 1 resolved", "warning"),
        ([RESOLVED, replace(RESOLVED, t=T + 999)], "2 alerts: 2 resolved", "success"),
        ([CHECKPOINT, NAN], "2 alerts: 1 error, 1 info", "failure"),
    ],
    ids=["mixed", "no-critical", "all-resolved", "error-and-info"],
)
def test_burst_title_counts_worst_first(
    decisions: list[Decision], summary: str, worst: str
) -> None:
    for style in ("console", "text", "markdown", "html"):
        message = render_digest([record(d) for d in decisions], style, PROJECT)
        assert message.title == f"[{PROJECT}] {summary}"
        assert message.notify_type == worst


def test_burst_of_one_is_the_alert_itself() -> None:
    alert = record(NAN)
    for style in ALL_STYLES:
        assert render_digest([alert], style, PROJECT) == render(alert, style, PROJECT)


def burst(n: int, severity_of: Any = lambda i: Severity.WARNING) -> list[dict[str, Any]]:
    return [
        record(
            replace(
                METRIC,
                t=T + i,
                group=str(i % 8),
                severity=severity_of(i),
                summary=f"GPU {i % 8} at {80 + i % 15} °C (alert {i})",
            )
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("style", ["console", "text", "markdown", "html"])
def test_burst_under_the_dingtalk_limit_drops_nothing(style: str) -> None:
    alerts = burst(40)
    message = render_digest(alerts, style, PROJECT, LIMITS["dingtalk"])
    assert len(message.body.encode("utf-8")) <= LIMITS["dingtalk"]
    assert "(cut to fit:" not in message.body
    for i in range(40):
        assert message.body.count(f"(alert {i})") == 1


@pytest.mark.parametrize("style", ["console", "text", "markdown", "html"])
def test_burst_over_a_limit_is_cut_with_a_marker(style: str) -> None:
    alerts = burst(200)
    whole = render_digest(alerts, style, PROJECT).body.encode("utf-8")
    message = render_digest(alerts, style, PROJECT, LIMITS["wecombot"])
    data = message.body.encode("utf-8")
    assert len(data) <= LIMITS["wecombot"]
    removed = cut_bytes(message.body)
    assert removed is not None, "the cut marker is missing"
    kept = message.body[: -len(CUT.format(n=removed))]
    assert whole.startswith(kept.encode("utf-8"))  # only the tail went
    assert len(kept.encode("utf-8")) + removed == len(whole)
    assert message.title == f"[{PROJECT}] 200 alerts: 200 warning"  # the title still counts all
    # Nothing before the cut was dropped: the lines kept are the first ones, each once.
    shown = [i for i in range(200) if f"(alert {i})" in kept]
    assert shown == list(range(len(shown))) and len(shown) > 20


@pytest.mark.parametrize("style", ["console", "text", "markdown", "html"])
def test_burst_cut_to_a_limit_keeps_the_critical_alerts(style: str) -> None:
    def severity(i: int) -> Severity:
        if i >= 78:
            return Severity.CRITICAL
        return Severity.INFO if i % 2 else Severity.WARNING

    alerts = burst(80, severity)
    message = render_digest(alerts, style, PROJECT, LIMITS["wecombot"])
    assert message.title == f"[{PROJECT}] 80 alerts: 2 critical, 39 warning, 39 info"
    assert cut_bytes(message.body) is not None
    assert "(alert 78)" in message.body
    assert "(alert 79)" in message.body
    assert message.body.index("(alert 78)") < message.body.index("(alert 79)")
    # Every warning is kept before any info; the cut drops info ones only.
    kept = {i for i in range(80) if f"(alert {i})" in message.body}
    assert {i for i in range(78) if i % 2 == 0} <= kept
    assert any(i % 2 and i not in kept for i in range(78))


# --- fit ----------------------------------------------------------------------------------------


def marker_bytes(n: int) -> int:
    return len(CUT.format(n=n).encode("utf-8"))


def test_cut_marker_wording() -> None:
    assert CUT.format(n=123) == "\n... (cut to fit: 123 more bytes)"


@st.composite
def body_and_limit(draw: st.DrawFn) -> tuple[str, int]:
    """Random unicode text, often longer than the limit (so the cut is what gets tested)."""
    unit = draw(st.text(min_size=1, max_size=40))
    body = unit * draw(st.integers(min_value=0, max_value=400)) + draw(st.text(max_size=300))
    size = len(body.encode("utf-8"))
    return body, draw(st.integers(min_value=200, max_value=max(200, size + 50)))


@settings(max_examples=400, deadline=None)
@given(case=body_and_limit())
def test_fit_cuts_on_character_boundaries_within_the_limit(case: tuple[str, int]) -> None:
    body, limit = case
    message = Message("title", body, "markdown", "warning")
    data = body.encode("utf-8")
    cut = fit(message, limit)
    assert (cut.title, cut.format, cut.notify_type) == ("title", "markdown", "warning")
    assert len(cut.body.encode("utf-8")) <= limit
    event("fits" if len(data) <= limit else "cut")
    if len(data) <= limit:
        assert cut == message
        return
    removed = cut_bytes(cut.body)
    assert removed is not None, "the cut marker is missing"
    head = cut.body[: -len(CUT.format(n=removed))]
    assert body.startswith(head)  # a prefix in characters: no character was split
    assert removed == len(data) - len(head.encode("utf-8"))
    # Only what the marker needs, and at most one character's partial bytes, were given up.
    assert len(head.encode("utf-8")) >= limit - marker_bytes(len(data)) - 3


@pytest.mark.parametrize("char", ["a", "é", "€", "显", "🔥"])
def test_fit_on_multibyte_text(char: str) -> None:
    body = char * 5000
    cut = fit(Message("", body, "text", "info"), 1000)
    head, sep, _ = cut.body.partition(CUT_START)
    assert sep, "the cut marker is missing"
    assert set(head) == {char}
    assert len(cut.body.encode("utf-8")) <= 1000
    assert len(head.encode("utf-8")) % len(char.encode("utf-8")) == 0
    assert cut_bytes(cut.body) == len(body.encode("utf-8")) - len(head.encode("utf-8"))


def test_fit_without_a_limit_changes_nothing() -> None:
    message = Message("t", "x" * 100_000, "text", "info")
    assert fit(message, None) is message


@pytest.mark.parametrize("style", ALL_STYLES)
@pytest.mark.parametrize("scheme", sorted(LIMITS))
def test_render_respects_each_service_limit(style: str, scheme: str) -> None:
    huge = replace(LOG, line="显存不足 QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N " * 1000)
    whole = render(record(huge), style, PROJECT).body
    message = render(record(huge), style, PROJECT, LIMITS[scheme])
    assert len(message.body.encode("utf-8")) <= LIMITS[scheme]
    if len(whole.encode("utf-8")) > LIMITS[scheme]:
        removed = cut_bytes(message.body)
        assert removed is not None, "the cut marker is missing"
        head = message.body[: -len(CUT.format(n=removed))]
        assert whole.startswith(head)
    else:
        assert message.body == whole


# --- SMS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["log", "metric", "resolved", "digest"])
def test_sms_fits_in_160_characters(kind: str) -> None:
    case = CASES[kind]
    long = replace(case.decision, summary="the DHT lost every peer: " + "peer-x, " * 40)
    body = render(record(case.decision), "sms", PROJECT).body
    assert body == f"[{PROJECT}] {case.headline}"
    assert len(body) <= SMS_CHARS
    body = render(record(long), "sms", PROJECT).body
    whole = f"[{PROJECT}] {case.headline.split(': ')[0]}: {long.summary}"
    assert len(whole) > SMS_CHARS
    assert body == whole[: SMS_CHARS - 3] + "..."  # plain ASCII keeps the cheaper SMS encoding


@settings(max_examples=200, deadline=None)
@given(
    summary=st.text(min_size=1, max_size=400),
    project=st.text(min_size=1, max_size=60),
    rule=st.from_regex(r"[a-z][a-z0-9-]{0,40}", fullmatch=True),
    severity=st.sampled_from(list(Severity)),
    resolved=st.booleans(),
    n=st.integers(min_value=1, max_value=30),
)
def test_sms_never_exceeds_160_characters(
    summary: str, project: str, rule: str, severity: Severity, resolved: bool, n: int
) -> None:
    decision = replace(
        METRIC,
        rule=rule,
        summary=summary,
        severity=severity,
        reason=Reason.RESOLVED if resolved else Reason.FIRST,
        duration_s=3600.0 if resolved else None,
    )
    alert = alert_record(decision, HOST, project)
    alerts = [alert_record(replace(decision, t=T + i), HOST, project) for i in range(n)]
    whole = f"[{project}] {headline(alert)}"
    single = render(alert, "sms", project).body
    assert single == (whole if len(whole) <= SMS_CHARS else whole[: SMS_CHARS - 3] + "...")
    assert len(render_digest(alerts, "sms", project).body) <= SMS_CHARS


def test_every_style_is_covered() -> None:
    assert sorted(STYLES) == sorted(ALL_STYLES)
