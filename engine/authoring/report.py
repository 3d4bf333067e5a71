"""Turning results into text and JSON for the terminal. Pure: strings in, strings out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from engine.durations import format_duration
from engine.errors import Problem
from engine.model import Decision
from engine.notify.record import decision_record, when
from engine.packs.rule import RuleSet

if TYPE_CHECKING:
    from engine.authoring.packtest import TestReport
    from engine.authoring.replay import ReplayResult, RuleTally


def decision_line(d: Decision, timed: bool) -> str:
    stamp = (when(d.t, timed) or "-").replace("+00:00", "Z")
    where = f"{d.source}:{d.line_no}" if d.source and d.line_no else ""
    extra = ""
    if d.count > 1 and d.since is not None:
        more = f"{d.count - 1} more" if d.reason.value != "digest" else f"{d.count} times"
        extra = f" ({more} since {(when(d.since, timed) or '-').replace('+00:00', 'Z')})"
    if d.duration_s is not None:
        extra += f" (lasted {format_duration(d.duration_s)})"
    group = f"[{d.group}] " if d.group else ""
    return (
        f"{stamp:<24} {d.severity.label:<8} {d.rule} {d.reason.value:<16} {where:<10} "
        f"{group}{d.summary}{extra}"
    ).rstrip()


def decision_json(d: Decision, timed: bool) -> str:
    return json.dumps(decision_record(d, timed), ensure_ascii=False)


def tally_table(rules: RuleSet, tallies: Mapping[str, RuleTally]) -> list[str]:
    from engine.authoring.replay import RuleTally

    width = max((len(r.id) for r in rules.rules), default=10)
    head = f"{'rule':<{width}}  {'severity':<8}  occurrences  notified  suppressed"
    rows = [head, "-" * len(head)]
    for rule in rules.enabled:
        t = tallies.get(rule.id, RuleTally())
        rows.append(
            f"{rule.id:<{width}}  {rule.severity.label:<8}  {t.occurrences:>11}  "
            f"{t.notified:>8}  {t.suppressed:>10}"
        )
    return rows


def replay_footer(result: ReplayResult, seconds: float) -> str:
    rate = result.lines / seconds if seconds > 0 else 0.0
    mb = result.bytes / 1e6
    timing = "log time from timestamps" if result.timed else "no timestamps: line order only"
    dropped = (
        f", {result.dropped_bytes:,} bytes of over-long lines dropped"
        if result.dropped_bytes
        else ""
    )
    return (
        f"{result.lines:,} lines, {mb:,.1f} MB in {seconds:.2f} s "
        f"({rate:,.0f} lines/s); {timing}{dropped}"
    )


def problems_text(problems: Iterable[Problem]) -> list[str]:
    return [str(p) for p in problems]


def test_report_lines(report: TestReport) -> list[str]:
    out: list[str] = []
    for o in report.failed:
        out.append(f"FAIL {o.case.path}:{o.case.line}: {o.case.name}")
        out.append("  expected:")
        out.extend(f"    {line}" for line in o.expected or ("(nothing)",))
        out.append("  got:")
        out.extend(f"    {line}" for line in o.got or ("(nothing)",))
    passed = len(report.outcomes) - len(report.failed)
    out.append(f"{passed} passed, {len(report.failed)} failed")
    return out
