"""Drafting a rule's decision: its summary and advice rendered with the values of the moment.

What a template may name at the moment of an occurrence is the rule's `values` (the
latest metrics, the captures or event fields) plus the names every rule has: `rule`,
`severity`, `host`, `project` and `time`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from engine.durations import format_duration
from engine.model import Decision, Reason, Texts, Value
from engine.packs.rule import Rule, Translation

_KEEP_DAYS = 4096


class Drafter:
    """Makes decisions for one engine (its host and project); remembers the dates it wrote."""

    def __init__(self, host: str, project: str) -> None:
        self.host, self.project = host, project
        self._days: dict[int, str] = {}

    def draft(
        self,
        rule: Rule,
        t: float,
        group: str,
        values: dict[str, Value],
        where: Mapping[str, Any] | None = None,
    ) -> Decision:
        """A first notification of `rule` at `t`; `values` gains the common names; `where`
        gives a log rule's source, line, line number and context."""
        values.update(
            rule=rule.id,
            severity=rule.severity.label,
            host=self.host,
            project=self.project,
            time=self.iso(t),
        )
        return Decision(
            t=t,
            rule=rule.id,
            group=group,
            reason=Reason.FIRST,
            severity=rule.severity,
            summary=rule.summary.render(values),
            advice=rule.advice.render(values) if rule.advice else "",
            labels=rule.labels,
            channels=rule.channels,
            values=values,
            action=rule.action,
            kind=rule.kind,
            condition=rule.condition,
            translations={
                language: _translated(texts, values, language)
                for language, texts in rule.translations.items()
            },
            **(where or {}),
        )

    def iso(self, t: float) -> str:
        """`t` as `YYYY-MM-DD HH:MM:SSZ` (UTC), as `datetime` writes it; the date of each
        day is worked out once (replay writes a time into every occurrence's values)."""
        second = math.floor(t)
        if t - second >= 0.9999995:  # `fromtimestamp` rounds to the microsecond: next second
            return _format_iso(t)
        day, rest = divmod(second, 86400)
        date = self._days.get(day)
        if date is None:
            if len(self._days) >= _KEEP_DAYS:
                self._days.clear()
            date = self._days[day] = _format_iso(day * 86400)[:10]
        hour, rest = divmod(rest, 3600)
        minute, sec = divmod(rest, 60)
        return f"{date} {hour:02d}:{minute:02d}:{sec:02d}Z"


def _translated(texts: Translation, values: dict[str, Value], language: str) -> Texts:
    """A rule's texts in `language`, a silence's length written in that language too."""
    silent = values.get("silent_s")
    if isinstance(silent, int | float):
        values = {**values, "silent_for": format_duration(silent, language)}
    return Texts(
        texts.summary.render(values) if texts.summary else "",
        texts.advice.render(values) if texts.advice else "",
    )


def bare(rule: Rule, t: float, group: str, reason: Reason) -> Decision:
    """A decision that does not notify, as a lean engine gives it: enough to count it by
    rule and reason, no summary, values or context."""
    return Decision(t, rule.id, group, reason, rule.severity, "", kind=rule.kind)


def _format_iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
