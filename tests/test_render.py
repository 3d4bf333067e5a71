"""Alert records to messages: every channel style, in English and Chinese, on five alerts.

The five alerts are the kinds an operator meets (a CUDA OOM with its last lines, a stall, a
crash under `--restart`, a digest of 40 held back, a resolution). Each style's message of
each, in each language, is compared with its snapshot in tests/snapshots/render/: the
exact text a person receives. After a deliberate change of wording, rewrite them with
`RLSWARM_UPDATE_SNAPSHOTS=1 bin/test tests/test_render.py` and read the diff. Properties
(size limits, escaping, digests) are checked on top, on random input where it helps.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from engine.model import Decision, Kind, Reason, Severity, Texts
from engine.notify.record import AlertRecord, alert_record
from engine.notify.render import (
    ALL_STYLES,
    CUT,
    LIMITS,
    SMS_CHARS,
    SMS_WIDE_CHARS,
    Message,
    fit,
    headline,
    notify_type,
    render,
    render_digest,
)

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots" / "render"
UPDATE = os.environ.get("RLSWARM_UPDATE_SNAPSHOTS") == "1"
PROJECT = "RL-Swarm node 1"
HOST = "gpu-node-07"
T = 1_751_990_400.0  # 2025-07-08 16:00:00 UTC
DASHBOARD = {"dashboard": "http://127.0.0.1:5000/"}
LANGUAGES = ["en", "zh-CN"]
FORMATS = {"console": "text", "text": "text", "markdown": "markdown", "html": "html"}
FORMATS |= {"sms": "text", "json": "text"}

OOM = Decision(
    t=T,
    rule="cuda-oom",
    group="",
    reason=Reason.FIRST,
    severity=Severity.CRITICAL,
    summary="GPU out of memory (tried to allocate 2.00 GiB)",
    advice="Lower per_device_train_batch_size in the config, or use a smaller model: on 12 GB "
    "cards the 1.5B model does not fit.\n\nThen restart the node.",
    labels={"category": "oom_gpu", "pack": "rlswarm"},
    source="logs/swarm_launcher.log",
    line_no=1832,
    line="torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.",
    context=(
        "Traceback (most recent call last):",
        '  File "/home/gensyn/rl-swarm/hivemind_exp/trainer.py", line 212, in training_step',
        "    loss = self.compute_loss(model, inputs)",
    ),
    values={"size": "2.00 GiB", "gpu_mem_percent": 99.4, "restarts": 0.0, "proc_count": 5.0},
    kind=Kind.LOG,
    translations={
        "zh-CN": Texts(
            "显存不足（尝试分配 2.00 GiB）",
            "在配置中调小 per_device_train_batch_size，或换用更小的模型：12 GB 显卡放不下 "
            "1.5B 模型。\n\n然后重启节点。",
        )
    },
)
STALL = Decision(
    t=T + 1800,
    rule="training-stalled",
    group="",
    reason=Reason.FIRST,
    severity=Severity.ERROR,
    summary="no training progress for 30m",
    advice="The node is alive but not training: restart it.",
    labels={"category": "stall_no_progress"},
    values={"silent_s": 1800.0, "silent_for": "30m", "proc_cpu_percent": 0.5, "restarts": 0.0},
    kind=Kind.ABSENT,
    condition="activity",
    translations={"zh-CN": Texts("已有 30分钟 没有训练进度", "节点还活着，但没有在训练：重启它。")},
)
CRASH = Decision(
    t=T + 3600,
    rule="trainer-crashed",
    group="",
    reason=Reason.FIRST,
    severity=Severity.CRITICAL,
    summary="training exited with code 1 after 3600s",
    advice="The training ended with an error; the last traceback line says why.",
    labels={"category": "app_bug_crash"},
    values={
        "code": 1,
        "signal": None,
        "runtime_s": 3600.0,
        "peak_rss_gb": 7.25,
        "requested": False,
        "restarts": 1.0,
        "last_lines": "Traceback (most recent call last):\n  File \"train.py\", line 9\n"
        "TypeError: 'NoneType' object is not iterable",
    },
    kind=Kind.EVENT,
    condition="exit",
    action=None,
    translations={
        "zh-CN": Texts(
            "训练运行 3600 秒后退出，退出码 1", "训练报错退出：看 traceback 的最后一行。"
        )
    },
)
LAUNCHER_ERROR = Decision(
    t=T + 2,
    rule="rl-swarm-script-error",
    group="",
    reason=Reason.INHIBITED,
    severity=Severity.CRITICAL,
    summary="run_rl_swarm.sh stopped on an error; the node is down",
    kind=Kind.LOG,
    inhibited_by="cuda-oom",
    translations={"zh-CN": Texts("run_rl_swarm.sh 因错误退出，节点已停止运行", "")},
)
LAUNCHER_EXIT = replace(
    CRASH,
    t=T + 3,
    reason=Reason.INHIBITED,
    summary="training exited with code 143 after 540s",
    values={
        "code": 143,
        "signal": 15,
        "runtime_s": 540.0,
        "peak_rss_gb": 9.5,
        "requested": False,
        "last_lines": ">> Shutting down trainer...",
        "trainer": "pid 4242, swarm_launcher.py",
        "trainer_code": 1,
    },
    inhibited_by="cuda-oom",
    translations={"zh-CN": Texts("训练运行 540 秒后退出，退出码 143", "")},
)
INCIDENT = replace(OOM, folded=(LAUNCHER_ERROR, LAUNCHER_EXIT))
"""One crash under run_rl_swarm.sh: the cause's notification carries the launcher's error
line and the exit (the launcher's 143, the trainer's own 1)."""
DIGEST = replace(OOM, t=T + 1800, reason=Reason.DIGEST, count=40, since=T + 60)
RESOLVED = replace(
    STALL, t=T + 2400, reason=Reason.RESOLVED, duration_s=2400.0, ended_by="seen", advice=""
)
ALERTS = {
    "oom": OOM,
    "stall": STALL,
    "crash": CRASH,
    "digest": DIGEST,
    "resolved": RESOLVED,
    "incident": INCIDENT,
}


def record(decision: Decision, links: dict[str, str] | None = None) -> AlertRecord:
    out = alert_record(decision, HOST, PROJECT, DASHBOARD if links is None else links)
    out["key"] = f"{decision.rule}-{int(decision.t)}"  # fixed, for the snapshots
    return out


def snapshot(message: Message) -> str:
    head = f"title: {message.title}\nformat: {message.format}\ntype: {message.notify_type}\n"
    return f"{head}---\n{message.body}\n"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("style", ALL_STYLES)
@pytest.mark.parametrize("name", sorted(ALERTS))
def test_every_style_matches_its_snapshot(name: str, style: str, language: str) -> None:
    message = render(record(ALERTS[name]), style, PROJECT, LIMITS.get("dingtalk"), language, True)
    assert message.format == FORMATS[style]
    path = SNAPSHOTS / f"{name}.{style}.{language}.txt"
    got = snapshot(message)
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
        assert not os.environ.get("CI"), f"{path} was missing"
    assert got == path.read_text(encoding="utf-8"), f"differs from {path}"


# --- what every message says, in order ---------------------------------------------------------


def in_order(text: str, parts: list[str]) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} missing (or out of order) in:\n{text}"
        at = found + len(part)


def test_the_text_style_keeps_the_order_and_shows_numbers_plainly() -> None:
    body = render(record(OOM), "text", PROJECT).body
    in_order(
        body,
        [
            "CRITICAL cuda-oom: GPU out of memory (tried to allocate 2.00 GiB)\n",
            "\nCause: line 1832 of logs/swarm_launcher.log\n",
            "\nWhat to do:\nLower per_device_train_batch_size",
            "\n\nThen restart the node.\n",
            "\nDetails:\n  time: 2025-07-08 16:00:00 UTC\n  host: gpu-node-07\n",
            "\n  gpu_mem_percent: 99.40\n  proc_count: 5\n  restarts: 0\n",
            "\nLast lines:\n    Traceback (most recent call last):\n",
            "\n    torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.\n",
            "\nDashboard: http://127.0.0.1:5000/\nalert id: cuda-oom-1751990400",
        ],
    )
    assert "\n  rule: " not in body and body.count("gpu-node-07") == 1  # no repeats


def test_advice_is_stored_as_written_and_wrapped_where_printed() -> None:
    long = replace(OOM, advice="word " * 60 + "end.")
    alert = record(long)
    assert "\n" not in alert["advice"]  # the record (JSON) keeps one line per paragraph
    assert json.loads(render(alert, "json", PROJECT).body)["advice"] == alert["advice"]
    text = render(alert, "text", PROJECT).body
    advice = text.split("What to do:\n")[1].split("\n\n")[0].split("\n")
    assert len(advice) > 1 and all(len(line) <= 76 for line in advice)


def test_the_console_shows_no_last_lines_and_a_resolution_says_what_ended_it() -> None:
    body = render(record(OOM), "console", PROJECT).body
    assert "torch.OutOfMemoryError" not in body  # the child printed it just above
    assert body.startswith("CRITICAL cuda-oom: GPU out of memory")
    resolved = render(record(RESOLVED), "console", PROJECT).body
    assert resolved == "RESOLVED training-stalled after 40m: output came back"
    assert "no training progress" not in resolved  # not the firing text again


@pytest.mark.parametrize(
    ("ended_by", "condition", "kind", "said"),
    [
        ("seen", "activity", Kind.ABSENT, "output came back"),
        ("seen", "round", Kind.ABSENT, "'round' seen again"),
        ("exit", "activity", Kind.ABSENT, "the training exited"),
        ("cleared", "mem_percent > 85", Kind.METRIC, "mem_percent > 85 no longer holds"),
        ("resolve", "mem_percent > 85", Kind.METRIC, "its resolve condition holds"),
    ],
)
def test_a_resolution_says_what_ended_it(
    ended_by: str, condition: str, kind: Kind, said: str
) -> None:
    decision = replace(RESOLVED, ended_by=ended_by, condition=condition, kind=kind)
    assert headline(record(decision)) == f"RESOLVED training-stalled after 40m: {said}"


def test_causes_of_each_kind() -> None:
    metric = replace(
        STALL, kind=Kind.METRIC, condition="mem_percent > 85", values={"mem_percent": 91.5}
    )
    signal = replace(CRASH, values={**CRASH.values, "signal": 9, "code": 137})
    expected = {
        "oom": "Cause: line 1832 of logs/swarm_launcher.log",
        "stall": "Cause: no output for 30m",
        "crash": "Cause: the command exited with code 1",
    }
    for name, cause in expected.items():
        assert f"\n{cause}\n" in render(record(ALERTS[name]), "text", PROJECT).body
    assert "Cause: mem_percent > 85 (now mem_percent 91.50)" in render(
        record(metric), "text", PROJECT
    ).body
    assert "Cause: the command was ended by signal 9 (exit code 137)" in render(
        record(signal), "text", PROJECT
    ).body


def test_chinese_words_and_durations() -> None:
    body = render(record(RESOLVED), "text", PROJECT, language="zh-CN").body
    assert body.startswith("【已恢复】training-stalled 持续 40分钟：输出已恢复")
    body = render(record(OOM), "text", PROJECT, language="zh-CN").body
    in_order(
        body,
        ["【紧急】cuda-oom：显存不足", "原因：logs/swarm_launcher.log 第 1832 行", "建议操作："],
    )
    # a rule without a translation falls back to its English texts
    english = replace(OOM, translations={})
    body = render(record(english), "text", PROJECT, language="zh-CN").body
    assert "【紧急】cuda-oom：GPU out of memory" in body and "Lower per_device" in body


def test_emoji_only_where_asked_and_never_in_an_sms() -> None:
    assert render(record(OOM), "text", PROJECT, emoji=True).title.startswith("🚨 [RL-Swarm")
    assert render(record(OOM), "text", PROJECT).title.startswith("[RL-Swarm")
    sms = render(record(OOM), "sms", PROJECT, emoji=True).body
    assert sms.isascii() and len(sms) <= SMS_CHARS


# --- JSON: the record itself ----------------------------------------------------------------------


def test_json_is_the_record_itself_as_an_object() -> None:
    alert = record(CRASH)
    body = json.loads(render(alert, "json", PROJECT).body)
    assert body == json.loads(json.dumps(alert))
    assert body["category"] == "app_bug_crash" and body["advice"].startswith("The training")
    digest = json.loads(render_digest([alert, record(OOM)], "json", PROJECT).body)
    assert [r["rule"] for r in digest["digest"]] == ["trainer-crashed", "cuda-oom"]


# --- chat robots: within their size, headline and advice always kept -----------------------------


@pytest.mark.parametrize("scheme", sorted(LIMITS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_markdown_cuts_the_last_lines_from_the_top_never_the_headline_or_advice(
    scheme: str, language: str
) -> None:
    lines = tuple(f"line {i:04d} " + "显存不足 peers unreachable " * 8 for i in range(400))
    long = replace(OOM, context=lines)
    message = render(record(long), "markdown", PROJECT, LIMITS[scheme], language)
    size = len(message.body.encode("utf-8"))
    assert size <= LIMITS[scheme]
    shown = headline(record(long), language)
    assert message.body.startswith(f"### {shown}\n")
    assert ("then restart the node" in message.body.lower()) or ("然后重启节点" in message.body)
    kept = [int(n) for n in re.findall(r"^> line (\d{4}) ", message.body, re.M)]
    assert kept == list(range(400 - len(kept), 400))  # the newest lines, in order
    assert "CUDA out of memory" in message.body  # the matched line, last
    assert "earlier lines cut" in message.body or "行已省略" in message.body


def test_markdown_of_a_short_alert_is_whole() -> None:
    body = render(record(OOM), "markdown", PROJECT, LIMITS["wecombot"]).body
    assert "cut" not in body and body.count("> ") == 4


# --- SMS: one message ---------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    summary=st.text(min_size=1, max_size=300),
    project=st.text(min_size=1, max_size=40),
    language=st.sampled_from(LANGUAGES),
    n=st.integers(min_value=1, max_value=20),
)
def test_an_sms_is_one_message(summary: str, project: str, language: str, n: int) -> None:
    decision = replace(STALL, summary=summary, translations={})
    alert = alert_record(decision, HOST, project)
    for body in (
        render(alert, "sms", project, language=language, emoji=True).body,
        render_digest([alert] * n, "sms", project, language=language).body,
    ):
        event("ascii" if body.isascii() else "wide")
        assert len(body) <= (SMS_CHARS if body.isascii() else SMS_WIDE_CHARS)


def test_a_chinese_sms_fits_in_70_characters() -> None:
    body = render(record(OOM), "sms", PROJECT, language="zh-CN").body
    assert body == "[RL-Swarm node 1] 【紧急】cuda-oom：显存不足（尝试分配 2.00 GiB）"
    assert len(body) <= SMS_WIDE_CHARS
    long = replace(OOM, translations={"zh-CN": Texts("显存不足" * 30, "")})
    body = render(record(long), "sms", PROJECT, language="zh-CN").body
    assert len(body) == SMS_WIDE_CHARS and body.endswith("…")


# --- HTML ---------------------------------------------------------------------------------------


def test_html_escapes_everything_it_is_given() -> None:
    hostile = replace(
        OOM,
        summary="bad <b>token</b> & friends",
        line="<script>alert('pwned')</script> loss=nan",
        context=("<img src=x onerror=alert(1)>",),
        labels={"note": "<i>x</i>"},
        advice="<a href=javascript:x>click</a>",
    )
    body = render(record(hostile), "html", PROJECT).body
    for raw in ("<script>", "<img", "<b>token", "<i>x", "<a href=javascript"):
        assert raw not in body
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt; loss=nan" in body
    digest = render_digest([record(OOM), record(hostile)], "html", PROJECT).body
    assert "<b>token" not in digest


def test_html_uses_inline_styles_only() -> None:
    """Gmail, Outlook, QQ and 126 webmail drop <style> and <link>; nothing may depend on them."""
    body = render(record(OOM), "html", PROJECT).body
    assert "<style" not in body and "<link" not in body and "class=" not in body
    assert "style=" in body and "<pre" in body and 'href="http://127.0.0.1:5000/"' in body


# --- notify types and digests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "reason", "expected"),
    [
        (Severity.CRITICAL, Reason.FIRST, "failure"),
        (Severity.ERROR, Reason.FIRST, "failure"),
        (Severity.WARNING, Reason.FIRST, "warning"),
        (Severity.INFO, Reason.FIRST, "info"),
        (Severity.ERROR, Reason.REPEAT, "failure"),
        (Severity.CRITICAL, Reason.RESOLVED, "success"),
        (Severity.INFO, Reason.RESOLVED, "success"),
    ],
)
def test_notify_type(severity: Severity, reason: Reason, expected: str) -> None:
    alert = record(replace(STALL, severity=severity, reason=reason))
    assert notify_type(alert) == expected
    for style in ALL_STYLES:
        assert render(alert, style, PROJECT).notify_type == expected


def burst(n: int) -> list[AlertRecord]:
    return [
        record(replace(STALL, t=T + i, group=str(i % 8), summary=f"stalled (alert {i})"))
        for i in range(n)
    ]


def test_a_burst_is_one_digest_worst_first() -> None:
    alerts = [record(RESOLVED), record(STALL), record(OOM)]
    message = render_digest(alerts, "text", PROJECT)
    assert message.title == f"[{PROJECT}] 3 alerts: 1 critical, 1 error, 1 resolved"
    assert message.notify_type == "failure"
    assert [line.split(" ", 3)[2] for line in message.body.split("\n")] == [
        "CRITICAL",
        "ERROR",
        "RESOLVED",
    ]
    zh = render_digest(alerts, "markdown", PROJECT, language="zh-CN")
    assert zh.title == f"[{PROJECT}] 3 条告警：1 紧急, 1 错误, 1 已恢复"


@pytest.mark.parametrize("style", ["console", "text", "markdown", "html"])
def test_a_burst_over_a_limit_is_cut_with_a_marker(style: str) -> None:
    message = render_digest(burst(200), style, PROJECT, LIMITS["wecombot"])
    assert len(message.body.encode("utf-8")) <= LIMITS["wecombot"]
    assert re.search(r"\n\.\.\. \(cut to fit: \d+ more bytes\)\Z", message.body)
    assert message.title.endswith("200 alerts: 200 error")


def test_a_burst_of_one_is_the_alert_itself() -> None:
    alert = record(OOM)
    for style in ALL_STYLES:
        assert render_digest([alert], style, PROJECT) == render(alert, style, PROJECT)


# --- fit ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(body=st.text(max_size=3000), limit=st.integers(min_value=100, max_value=4000))
def test_fit_cuts_on_character_boundaries_within_the_limit(body: str, limit: int) -> None:
    message = Message("title", body, "markdown", "warning")
    cut = fit(message, limit)
    assert len(cut.body.encode("utf-8")) <= limit
    if len(body.encode("utf-8")) <= limit:
        assert cut == message
        return
    found = re.search(r"\n\.\.\. \(cut to fit: (\d+) more bytes\)\Z", cut.body)
    assert found is not None
    head = cut.body[: found.start()]
    assert body.startswith(head)
    assert int(found.group(1)) == len(body.encode("utf-8")) - len(head.encode("utf-8"))


def test_cut_marker_wording() -> None:
    assert CUT.format(n=123) == "\n... (cut to fit: 123 more bytes)"


def test_every_style_is_named() -> None:
    assert sorted(ALL_STYLES) == ["console", "html", "json", "markdown", "sms", "text"]

