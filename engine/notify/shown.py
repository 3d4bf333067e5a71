"""An alert as a person reads it, in one language: what every channel's style lays out.

`shown(record, language, emoji)` turns the stored record (`engine.notify.record`) into its
parts in the order every style keeps: the headline (severity, rule, what happened), the
cause (what made it fire, or what ended it), what to do, the facts, the last lines of
output and the links. Styles (`engine.notify.render`) only choose how to lay them out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from engine.model import Value
from engine.notify.record import AlertRecord
from engine.notify.words import ICONS, Words, words
from engine.vocabulary import ACTIVITY, COMMON_TEMPLATE_NAMES, EVENTS

NOTIFY_TYPES = {"critical": "failure", "error": "failure", "warning": "warning"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# shown elsewhere (the headline, the cause, the last lines) or only the rules' business
_NOT_FACTS = frozenset(
    {*COMMON_TEMPLATE_NAMES, "last_lines", "silent_s", "silent_for", "requested", "trainer"}
)
MAX_METRICS = 24
MAX_VALUE = 200  # characters of one fact's value


@dataclass(frozen=True)
class Shown:
    level: str  # critical | error | warning | info | resolved
    label: str  # how the level is named in this language
    icon: str  # the level's emoji, or "" without emoji
    rule: str
    group: str
    summary: str
    extra: str  # "and 3 more since 16:27 UTC", "after 5m", or ""
    cause: str
    advice: str  # paragraphs separated by a blank line, soft line breaks removed
    facts: Sequence[tuple[str, str]]
    incident: Sequence[tuple[str, str]]  # the exit and the alerts folded in (among `facts`)
    lines: Sequence[str]  # the last lines of output, the matched one last
    links: Sequence[tuple[str, str]]  # (what, address)
    key: str
    words: Words

    @property
    def notify_type(self) -> str:
        return "success" if self.level == "resolved" else NOTIFY_TYPES.get(self.level, "info")

    @property
    def headline(self) -> str:
        """`CRITICAL cuda-oom [group] (and 3 more since 16:27): summary`, as the language
        writes it; with the emoji when `icon`."""
        group = f" [{self.group}]" if self.group else ""
        extra = ""
        if self.extra:  # "after 40m" says how long; "(and 3 more since ...)" is an aside
            extra = f" {self.extra}" if self.level == "resolved" else f" ({self.extra})"
        if self.words.tag == "zh-CN":
            text = f"【{self.label}】{self.rule}{group}{extra}：{self.summary}"
        else:
            text = f"{self.label} {self.rule}{group}{extra}: {self.summary}"
        return f"{self.icon} {text}" if self.icon else text

    def subject(self, project: str) -> str:
        """The headline with the project named: a mail's subject, a chat message's title."""
        headline = self.headline
        if self.icon:
            return f"{self.icon} [{project}] {headline[len(self.icon) + 1 :]}"
        return f"[{project}] {headline}"


def shown(
    record: AlertRecord, language: str = "en", emoji: bool = False, brief: bool = False
) -> Shown:
    """How `record` reads in `language`; `brief`: its headline only (no cause, advice,
    facts, lines or links), for a message that carries the record itself."""
    w = words(language)
    resolved = record.get("reason") == "resolved"
    level = "resolved" if resolved else str(record.get("severity") or "info")
    texts = (record.get("translations") or {}).get(language) or {"summary": "", "advice": ""}
    summary = texts.get("summary") or str(record.get("summary") or record.get("rule") or "")
    advice = "" if resolved else (texts.get("advice") or str(record.get("advice") or "")).strip()
    if resolved:
        summary = ended(record, w) or summary
    return Shown(
        level=level,
        label=w.level(level),
        icon=ICONS.get(level, "") if emoji else "",
        rule=str(record.get("rule") or ""),
        group=str(record.get("group") or ""),
        summary=summary,
        extra=_extra(record, w),
        cause="" if brief else cause(record, w),
        advice="" if brief else advice,
        facts=() if brief else facts(record, w),
        incident=() if brief else folded_facts(record, w),
        lines=() if brief else last_lines(record),
        links=()
        if brief
        else [(w.headings.get(k, k), url) for k, url in (record.get("links") or {}).items()],
        key=str(record.get("key") or ""),
        words=w,
    )


# --- the parts ---------------------------------------------------------------------------------


def clock(t: object) -> str:
    """Local time with its zone, as the operator reads it: `2025-07-08 19:12:21 CST`."""
    if not isinstance(t, int | float):
        return "?"
    return datetime.fromtimestamp(t, tz=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def hour_minute(t: object) -> str:
    text = clock(t)
    return "?" if text == "?" else text[11:16] + text[19:]


def since(record: AlertRecord) -> float | None:
    value = record.get("since_t")
    return float(value) if isinstance(value, int | float) else None


def _extra(record: AlertRecord, w: Words) -> str:
    count = int(record.get("count") or 1)
    first = since(record)
    if record.get("reason") == "digest":
        return w.phrase("digest_since", n=count, time=hour_minute(first))
    if record.get("reason") == "resolved":
        lasted = record.get("duration_s")
        return w.phrase("after", duration=w.duration(lasted)) if lasted is not None else ""
    if count > 1 and first is not None:
        return w.phrase("more_since", n=count - 1, time=hour_minute(first))
    return ""


def number(value: Value) -> str:
    """A value as a fact shows it: whole numbers without decimals, others with two."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    return str(value)[:MAX_VALUE]


def cause(record: AlertRecord, w: Words) -> str:
    """What made the alert fire, in one line (none for a resolution: its headline says what
    ended it)."""
    if record.get("reason") == "resolved":
        return ""
    kind = record.get("kind")
    values = record.get("values") or {}
    condition = str(record.get("condition") or "")
    if kind == "log" and record.get("source"):
        return w.phrase("line_of", line_no=record.get("line_no") or "?", source=record["source"])
    if kind == "metric" and condition:
        names = [n for n in dict.fromkeys(_NAME.findall(condition)) if n in values]
        now = ", ".join(f"{n} {number(values[n])}" for n in names)
        return w.phrase("condition_now", condition=condition, values=now) if now else condition
    if kind == "absent":
        silent = values.get("silent_s")
        duration = w.duration(float(silent)) if isinstance(silent, int | float) else "?"
        if condition in ("", ACTIVITY):
            return w.phrase("no_output_for", duration=duration)
        return w.phrase("no_signal_for", signal=condition, duration=duration)
    if kind == "event" and condition == "exit" and "code" in values:
        return exit_text(values, w, runtime=False)
    if kind == "event":
        return _event_cause(condition, values, w)
    return ""


def _event_cause(name: str, values: Mapping[str, Value], w: Words) -> str:
    if name == "exit" and "code" in values:
        signal = values.get("signal")
        if signal:
            return w.phrase("exit_signal", signal=signal, code=number(values["code"]))
        return w.phrase("exit_code", code=number(values["code"]))
    shown = [k for k in EVENTS.get(name, ()) if k in values and k != "last_lines"]
    fields = ", ".join(f"{k} {number(values[k])}" for k in shown)
    return w.phrase("event", name=name, fields=fields) if fields else name


def ended(record: AlertRecord, w: Words) -> str:
    """What ended a resolved state, in one line."""
    how = record.get("ended_by")
    condition = str(record.get("condition") or "")
    if how == "seen":
        if condition in ("", ACTIVITY):
            return w.phrase("ended_seen_activity")
        return w.phrase("ended_seen", signal=condition)
    if how == "exit":
        return w.phrase("ended_exit")
    if how == "cleared" and condition:
        return w.phrase("ended_cleared", condition=condition)
    if how == "resolve":
        return w.phrase("ended_resolve")
    return ""


def facts(record: AlertRecord, w: Words) -> list[tuple[str, str]]:
    """(name, value) pairs: when, where and how often, then the metrics of the moment."""
    name = w.facts
    out = [
        (name["time"], clock(record.get("t"))),
        (name["host"], str(record.get("host") or "")),
        (name["project"], str(record.get("project") or "")),
    ]
    if record.get("source"):
        out.append((name["where"], f"{record['source']}:{record.get('line_no') or '?'}"))
    count = int(record.get("count") or 1)
    if count > 1:
        when = clock(since(record))
        out.append((name["occurrences"], w.phrase("occurrences", n=count, time=when)))
    lasted = record.get("duration_s")
    if record.get("reason") == "resolved" and lasted is not None:
        out.append((name["lasted"], w.duration(lasted)))
    labels = dict(record.get("labels") or {})
    category = labels.pop("category", None) or record.get("category")
    if category:
        out.append((name["category"], str(category)))
    if labels:
        out.append((name["labels"], ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))))
    out += folded_facts(record, w)
    out.extend(metrics(record))
    return out


def folded_facts(record: AlertRecord, w: Words) -> list[tuple[str, str]]:
    """What one notification of a crash stands for besides its cause: the training's exit
    (and the trainer's own, where the probe saw it) and the alerts folded into it."""
    folded = record.get("folded") or []
    out: list[tuple[str, str]] = []
    exits = [f for f in folded if f.get("kind") == "event" and f.get("condition") == "exit"]
    if exits:
        out.append((w.facts["exit"], exit_text(exits[-1]["values"], w)))
    if folded:
        rules = ", ".join(dict.fromkeys(f["rule"] for f in folded))
        out.append((w.facts["folded"], rules))
    return out


def exit_text(values: Mapping[str, Value], w: Words, runtime: bool = True) -> str:
    """`the command exited with code 143 after 9m; the trainer (...) itself exited with code 1`."""
    error = values.get("error")
    if isinstance(error, str) and error:  # it never started: that says it all
        return error
    parts = [_event_cause("exit", values, w)]
    ran = values.get("runtime_s")
    if runtime and isinstance(ran, int | float):
        parts[0] += w.phrase("ran_for", duration=w.duration(float(ran)))
    trainer = values.get("trainer")
    if isinstance(trainer, str) and trainer:
        code = values.get("trainer_code")
        if isinstance(code, int) and not isinstance(code, bool):
            parts.append(w.phrase("trainer_code", trainer=trainer, code=code))
        else:
            parts.append(w.phrase("trainer_killed", trainer=trainer))
    return ("；" if w.tag == "zh-CN" else "; ").join(parts)


def metrics(record: AlertRecord) -> list[tuple[str, str]]:
    """The numbers of the moment (metrics, captures, event fields), by name."""
    values = record.get("values") or {}
    shown = [
        (key, number(value))
        for key, value in sorted(values.items())
        if key not in _NOT_FACTS and isinstance(value, int | float | str) and value != ""
    ]
    return shown[:MAX_METRICS]


def last_lines(record: AlertRecord) -> list[str]:
    """The output before the alert, the matched line last; an exit's last lines."""
    line = record.get("line")
    lines = [*(record.get("context") or []), *([line] if line else [])]
    if not lines:
        tail = (record.get("values") or {}).get("last_lines")
        if isinstance(tail, str) and tail:
            lines = tail.split("\n")
    return lines
