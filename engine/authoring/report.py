"""Turning results into text and JSON for the terminal. Pure: strings in, strings out."""

from __future__ import annotations

import json
import textwrap
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
    if d.inhibited_by:
        extra += f" (folded into {d.inhibited_by})"
    if d.folded:
        extra += f" (carries {', '.join(dict.fromkeys(f.rule for f in d.folded))})"
    group = f"[{d.group}] " if d.group else ""
    return (
        f"{stamp:<24} {d.severity.label:<8} {d.rule} {d.reason.value:<16} {where:<10} "
        f"{group}{d.summary}{extra}"
    ).rstrip()


def decision_json(d: Decision, timed: bool) -> str:
    record: dict[str, object] = {
        **decision_record(d, timed),
        "inhibited_by": d.inhibited_by,
        "folded": [f.rule for f in d.folded],
    }
    return json.dumps(record, ensure_ascii=False)


TALLY_COLUMNS = (
    ("occurrences", "occurrences"),
    ("notified", "notified"),
    ("held by cooldown", "suppressed"),
    ("counting", "counting"),
    ("silenced", "silenced"),
    ("messages", "messages"),
)
"""The summary's columns after the rule and its severity: how many occurrences, what became
of them (notified at once, held by the cooldown for a digest, counted toward `count`,
held by a silence), and how many messages were sent in all (digests, reminders and
resolutions included)."""


def tally_table(
    rules: RuleSet, tallies: Mapping[str, RuleTally], every_rule: bool = False
) -> list[str]:
    """One row per rule that occurred (`every_rule`: per enabled rule), in load order, then
    one per alert of no pack rule that occurred (`rule-suspended`)."""
    from engine.authoring.replay import RuleTally

    shown = [(r.id, r.severity.label) for r in rules.enabled if every_rule or r.id in tallies]
    ids = {r.id for r in rules.rules}
    shown += [(name, t.severity) for name, t in tallies.items() if name not in ids]  # ours
    if not shown:
        return ["no rule occurred"]
    width = max(len(name) for name, _ in shown)
    head = f"{'rule':<{width}}  {'severity':<8}  " + "  ".join(t for t, _ in TALLY_COLUMNS)
    rows = [head, "-" * len(head)]
    for name, severity in shown:
        tally = tallies.get(name, RuleTally())
        cells = "  ".join(f"{getattr(tally, f):>{len(t)}}" for t, f in TALLY_COLUMNS)
        rows.append(f"{name:<{width}}  {severity:<8}  {cells}")
    return rows


def advice_lines(d: Decision, width: int = 96) -> list[str]:
    """A notifying decision's advice, indented under its line and wrapped to `width`."""
    if not d.notifies or not d.advice or d.reason.value == "resolved":
        return []
    out: list[str] = []
    for paragraph in d.advice.split("\n\n"):
        for line in paragraph.split("\n"):
            out += textwrap.wrap(line, width, initial_indent="    ", subsequent_indent="    ")
    return out


def replay_footer(result: ReplayResult, seconds: float) -> str:
    rate = result.lines / seconds if seconds > 0 else 0.0
    mb = result.bytes / 1e6
    timing = "log time from timestamps" if result.timed else "no timestamps: line order only"
    dropped = (
        f", {result.dropped_bytes:,} bytes of over-long lines dropped"
        if result.dropped_bytes
        else ""
    )
    overran = "".join(
        f"; {name}: {n} line(s) not evaluated by it, its search over the time budget"
        for name, n in sorted(result.overruns.items())
    )
    return (
        f"{result.lines:,} lines, {mb:,.1f} MB in {seconds:.2f} s "
        f"({rate:,.0f} lines/s); {timing}{dropped}{overran}"
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
