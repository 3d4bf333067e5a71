"""The fixed words of an alert in each language a channel may ask for: `en` and `zh-CN`.

Severity names, headings, the names of the facts, the phrases that say why an alert fired
or ended, durations and the emoji of a subject. A rule's own summary and advice come from
its pack (`translations:`); everything else an operator reads comes from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from engine.durations import format_duration

LANGUAGES = ("en", "zh-CN")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Words:
    tag: str
    levels: Mapping[str, str]  # critical, error, warning, info, resolved -> how it is named
    headings: Mapping[str, str]  # cause, advice, facts, lines, metrics, dashboard, alert_id
    facts: Mapping[str, str]  # time, host, project, group, where, ... -> its name
    phrases: Mapping[str, str]  # str.format templates (see EN for the names they take)
    duration: Callable[[float], str] = format_duration

    def level(self, name: str) -> str:
        return self.levels.get(name, name.upper())

    def phrase(self, key: str, **values: object) -> str:
        return self.phrases[key].format(**values)


ICONS: Mapping[str, str] = {
    "critical": "🚨",
    "error": "❗",
    "warning": "⚠️",
    "info": "ℹ️",
    "resolved": "✅",
}
"""The emoji a subject starts with (as the notification system we replace did)."""

HEADING_ICONS: Mapping[str, str] = {"cause": "🔎", "advice": "🔧", "lines": "📄", "facts": "📋"}


EN = Words(
    tag="en",
    levels={
        "critical": "CRITICAL",
        "error": "ERROR",
        "warning": "WARNING",
        "info": "INFO",
        "resolved": "RESOLVED",
    },
    headings={
        "cause": "Cause",
        "advice": "What to do",
        "facts": "Details",
        "lines": "Last lines",
        "metrics": "Metrics",
        "dashboard": "Dashboard",
        "alert_id": "alert id",
    },
    facts={
        "time": "time",
        "host": "host",
        "project": "project",
        "rule": "rule",
        "severity": "severity",
        "group": "group",
        "where": "where",
        "occurrences": "occurrences",
        "lasted": "lasted",
        "category": "category",
        "labels": "labels",
        "exit": "exit",
        "folded": "folded in",
    },
    phrases={
        "more_since": "and {n} more since {time}",
        "digest_since": "{n} more since {time}",
        "after": "after {duration}",
        "occurrences": "{n} since {time}",
        "line_of": "line {line_no} of {source}",
        "condition_now": "{condition} (now {values})",
        "no_output_for": "no output for {duration}",
        "no_signal_for": "no '{signal}' for {duration}",
        "exit_code": "the command exited with code {code}",
        "exit_signal": "the command was ended by signal {signal} (exit code {code})",
        "event": "{name}: {fields}",
        "ran_for": " after {duration}",
        "trainer_code": "the trainer ({trainer}) itself exited with code {code}",
        "trainer_killed": "the trainer ({trainer}) was killed before it could exit",
        "ended_seen_activity": "output came back",
        "ended_seen": "'{signal}' seen again",
        "ended_exit": "the training exited",
        "ended_cleared": "{condition} no longer holds",
        "ended_resolve": "its resolve condition holds",
        "ended": "ended",
        "digest_title": "{n} alerts: {counts}",
        "worst": "worst",
        "cut_lines": "... {n} earlier lines cut to fit",
        "cut_bytes": "... (cut to fit: {n} more bytes)",
    },
)


ZH = Words(
    tag="zh-CN",
    levels={
        "critical": "紧急",
        "error": "错误",
        "warning": "警告",
        "info": "提示",
        "resolved": "已恢复",
    },
    headings={
        "cause": "原因",
        "advice": "建议操作",
        "facts": "详情",
        "lines": "最后几行输出",
        "metrics": "指标",
        "dashboard": "监控面板",
        "alert_id": "告警编号",
    },
    facts={
        "time": "时间",
        "host": "主机",
        "project": "项目",
        "rule": "规则",
        "severity": "级别",
        "group": "分组",
        "where": "位置",
        "occurrences": "次数",
        "lasted": "持续",
        "category": "类别",
        "labels": "标签",
        "exit": "退出",
        "folded": "已合并",
    },
    phrases={
        "more_since": "自 {time} 起另有 {n} 次",
        "digest_since": "自 {time} 起又有 {n} 次",
        "after": "持续 {duration}",
        "occurrences": "自 {time} 起 {n} 次",
        "line_of": "{source} 第 {line_no} 行",
        "condition_now": "{condition}（当前 {values}）",
        "no_output_for": "已有 {duration} 没有任何输出",
        "no_signal_for": "已有 {duration} 未出现 '{signal}'",
        "exit_code": "命令退出，退出码 {code}",
        "exit_signal": "命令被信号 {signal} 终止（退出码 {code}）",
        "event": "{name}：{fields}",
        "ran_for": "，运行了 {duration}",
        "trainer_code": "训练进程（{trainer}）自身的退出码为 {code}",
        "trainer_killed": "训练进程（{trainer}）在退出之前被杀掉了",
        "ended_seen_activity": "输出已恢复",
        "ended_seen": "'{signal}' 已再次出现",
        "ended_exit": "训练已退出",
        "ended_cleared": "{condition} 已不再成立",
        "ended_resolve": "已满足恢复条件",
        "ended": "已结束",
        "digest_title": "{n} 条告警：{counts}",
        "worst": "最严重",
        "cut_lines": "……前面 {n} 行已省略",
        "cut_bytes": "……（超出长度，省略 {n} 字节）",
    },
    duration=partial(format_duration, language="zh-CN"),
)

_BY_TAG: Mapping[str, Words] = {"en": EN, "zh-CN": ZH}


def words(language: str) -> Words:
    """The words of `language` (a tag of LANGUAGES; anything else: English)."""
    return _BY_TAG.get(language, EN)
