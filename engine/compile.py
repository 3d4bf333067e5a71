"""Raw pack documents to compiled rules.

`compile_packs(docs)` checks every document against the schema, then compiles
each signal and rule: regexes, expressions and templates are built here once.
All problems of all files are collected; a rule with a problem is left out,
the others are still compiled, so one pass reports everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine import schemacheck
from engine.durations import DurationError, parse_duration
from engine.errors import Level, Problem, did_you_mean
from engine.expr import ExprError, Expression, compile_expression
from engine.model import Action, Kind, Severity
from engine.regexcheck import matches_empty, nested_quantifier
from engine.rule import (
    AbsentTrigger,
    EventTrigger,
    Examples,
    LogTrigger,
    MetricTrigger,
    Pattern,
    Rule,
    RuleSet,
    Signal,
    Trigger,
)
from engine.template import Template, TemplateError, compile_template
from engine.vocabulary import (
    ABSENT_TEMPLATE_NAMES,
    ACTIVITY,
    COMMON_TEMPLATE_NAMES,
    EVENTS,
    LOG_TEMPLATE_NAMES,
    METRICS,
)
from engine.yamlio import JsonPath, Located

DEFAULT_COOLDOWN = 300.0
DEFAULT_CONTEXT = 20
COMMON_OPTIONS = frozenset(
    {
        "id",
        "severity",
        "summary",
        "advice",
        "labels",
        "cooldown",
        "channels",
        "enabled",
        "action",
        "examples",
    }
    | {k.value for k in Kind}
)
RESERVED_CAPTURES = frozenset(COMMON_TEMPLATE_NAMES + LOG_TEMPLATE_NAMES)


class RuleProblem(Exception):
    """One problem with one key of the rule being compiled."""

    def __init__(self, key: str | None, message: str, level: Level = Level.ERROR) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.level = level


@dataclass
class _Ctx:
    """What compiling one rule needs: its raw mapping, defaults and the known names."""

    raw: Mapping[str, Any]
    defaults: Mapping[str, Any]
    signals: Collection[str]
    warnings: list[RuleProblem] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, self.defaults.get(key, default))

    def duration(self, key: str, default: float | None) -> float | None:
        value = self.get(key)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise RuleProblem(key, f"'{key}': {exc}") from None

    def expression(self, key: str, known: Collection[str]) -> Expression | None:
        text = self.raw.get(key)
        if text is None:
            return None
        try:
            return compile_expression(text, known)
        except ExprError as exc:
            raise RuleProblem(key, f"'{key}': {exc}") from None

    def template(self, key: str, known: Collection[str], text: Any = None) -> Template | None:
        text = self.raw.get(key) if text is None else text
        if text is None:
            return None
        try:
            return compile_template(text, known)
        except TemplateError as exc:
            raise RuleProblem(key, f"'{key}': {exc}") from None

    def regex(self, key: str) -> Pattern:
        text = self.raw[key]
        flags = re.IGNORECASE if self.get("ignore_case", False) else 0
        return make_pattern(text, flags, self.raw.get("stream"), key, self.warnings)


def make_pattern(
    text: str, flags: int, stream: str | None, key: str, warnings: list[RuleProblem]
) -> Pattern:
    try:
        regex = re.compile(text, flags)
    except re.error as exc:
        raise RuleProblem(key, f"'{key}': bad regular expression: {exc}") from None
    if matches_empty(regex):
        msg = f"'{key}': the regex matches an empty line, so it fires on every line"
        warnings.append(RuleProblem(key, msg, Level.WARNING))
    if nested_quantifier(text, flags):
        msg = (
            f"'{key}': nested quantifiers (like '(a+)+') can backtrack for a very long "
            "time on some lines; make the inner or outer repeat bounded or specific"
        )
        warnings.append(RuleProblem(key, msg, Level.WARNING))
    return Pattern(regex, stream)


# --- one compile function per kind: the kind registry --------------------------------------

KindCompiler = Callable[[_Ctx], tuple[Trigger, Collection[str]]]
"""Builds a rule's trigger and returns the names its templates may use."""


def _count_within(ctx: _Ctx) -> tuple[int, float]:
    count = ctx.raw.get("count", 1)
    within = ctx.duration("within", None)
    if count > 1 and not within:
        raise RuleProblem("count", f"'count: {count}' needs 'within' (e.g. 'within: 10m')")
    if within and "count" not in ctx.raw:
        raise RuleProblem("within", "'within' needs 'count' (fire on the Nth match inside it)")
    return count, within or 0.0


def _compile_log(ctx: _Ctx) -> tuple[Trigger, Collection[str]]:
    pattern = ctx.regex("log")
    bad = sorted(RESERVED_CAPTURES.intersection(pattern.captures))
    if bad:
        raise RuleProblem("log", f"'log': capture name '{bad[0]}' is reserved; rename the group")
    captures = pattern.captures
    names = {*METRICS, *ctx.signals, *captures}
    where = ctx.expression("where", names)
    count, within = _count_within(ctx)
    group_by = ctx.template("group_by", captures)
    context = ctx.get("context", DEFAULT_CONTEXT)
    trigger = LogTrigger(pattern, where, count, within, context, group_by)
    return trigger, {*names, *LOG_TEMPLATE_NAMES}


def _compile_event(ctx: _Ctx) -> tuple[Trigger, Collection[str]]:
    name = ctx.raw["event"]
    fields = EVENTS[name]
    names = {*METRICS, *ctx.signals, *fields}
    where = ctx.expression("where", names)
    count, within = _count_within(ctx)
    group_by = ctx.template("group_by", fields)
    return EventTrigger(name, where, count, within, group_by), names


def _compile_metric(ctx: _Ctx) -> tuple[Trigger, Collection[str]]:
    names = {*METRICS, *ctx.signals}
    condition = ctx.expression("metric", names)
    assert condition is not None
    resolve = ctx.expression("resolve", names)
    hold = ctx.duration("for", 0.0) or 0.0
    repeat = ctx.duration("repeat", None)
    return MetricTrigger(condition, resolve, hold, repeat), names


def _compile_absent(ctx: _Ctx) -> tuple[Trigger, Collection[str]]:
    signal = ctx.raw["absent"]
    known = [ACTIVITY, *ctx.signals]
    if signal not in known:
        hint = did_you_mean(signal, known)
        message = f"'absent': unknown signal '{signal}'{hint}; define it under 'signals:'"
        raise RuleProblem("absent", message + " or use 'activity'")
    if "for" not in ctx.raw:
        raise RuleProblem("absent", "'absent' needs 'for' (how long a silence is too long)")
    hold = ctx.duration("for", 0.0) or 0.0
    if hold <= 0:
        raise RuleProblem("for", "'for' of an absent rule must be longer than 0s")
    repeat = ctx.duration("repeat", None)
    names = {*METRICS, *ctx.signals, *ABSENT_TEMPLATE_NAMES}
    return AbsentTrigger(signal, hold, repeat), names


@dataclass(frozen=True)
class KindSpec:
    compile: KindCompiler
    options: frozenset[str]
    default_summary: str


KINDS: Mapping[Kind, KindSpec] = {
    Kind.LOG: KindSpec(
        _compile_log,
        frozenset({"where", "count", "within", "stream", "ignore_case", "context", "group_by"}),
        "{line}",
    ),
    Kind.EVENT: KindSpec(
        _compile_event, frozenset({"where", "count", "within", "group_by"}), "{rule}"
    ),
    Kind.METRIC: KindSpec(_compile_metric, frozenset({"for", "resolve", "repeat"}), "{rule}"),
    Kind.ABSENT: KindSpec(
        _compile_absent, frozenset({"for", "repeat"}), "nothing seen for {silent_for}"
    ),
}


# --- a whole rule ----------------------------------------------------------------------------


def _kind_of(raw: Mapping[str, Any]) -> Kind:
    present = [k for k in Kind if k.value in raw]
    if len(present) != 1:
        names = ", ".join(k.value for k in Kind)
        if not present:
            raise RuleProblem(None, f"needs exactly one of {names}; none is set")
        both = " and ".join(k.value for k in present)
        raise RuleProblem(present[1].value, f"has {both}; a rule has exactly one of {names}")
    kind = present[0]
    stray = set(raw) - COMMON_OPTIONS - KINDS[kind].options
    if stray:
        key = sorted(stray)[0]
        owners = [k.value for k, spec in KINDS.items() if key in spec.options]
        raise RuleProblem(
            key,
            f"'{key}' does not apply to a {kind.value} rule (only to {' and '.join(owners)} rules)",
        )
    return kind


def _examples(ctx: _Ctx, kind: Kind) -> Examples:
    raw = ctx.raw.get("examples") or {}
    fires = tuple(raw.get("fires") or ())
    quiet = tuple(raw.get("quiet") or ())
    want_text = kind is Kind.LOG
    for item in (*fires, *quiet):
        if want_text != isinstance(item, str):
            shape = "lines of text" if want_text else "mappings of names to values"
            raise RuleProblem("examples", f"examples of a {kind.value} rule are {shape}")
    if kind is Kind.ABSENT and (fires or quiet):
        raise RuleProblem("examples", "absent rules take no examples; test them in a pack test")
    return Examples(fires, quiet)


def compile_rule(
    raw: Mapping[str, Any],
    defaults: Mapping[str, Any],
    signals: Collection[str],
    path: str,
    line: int,
) -> tuple[Rule, list[RuleProblem]]:
    """Compile one schema-valid rule mapping; raise RuleProblem for the first error."""
    ctx = _Ctx(raw, defaults, signals)
    kind = _kind_of(raw)
    spec = KINDS[kind]
    trigger, names = spec.compile(ctx)
    known = {*names, *COMMON_TEMPLATE_NAMES}
    summary = ctx.template("summary", known, raw.get("summary", spec.default_summary))
    assert summary is not None
    action = raw.get("action")
    rule = Rule(
        id=raw["id"],
        kind=kind,
        severity=Severity.parse(raw["severity"]),
        trigger=trigger,
        summary=summary,
        advice=ctx.template("advice", known),
        labels={**defaults.get("labels", {}), **raw.get("labels", {})},
        cooldown=ctx.duration("cooldown", DEFAULT_COOLDOWN) or 0.0,
        channels=tuple(ctx.get("channels", ())),
        enabled=bool(ctx.get("enabled", True)),
        action=Action(action) if action else None,
        examples=_examples(ctx, kind),
        path=path,
        line=line,
    )
    return rule, ctx.warnings


# --- whole packs -----------------------------------------------------------------------------


@dataclass
class Compiled:
    rules: RuleSet
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not any(p.level is Level.ERROR for p in self.problems)


def _located(doc: Located, where: JsonPath, rule: str | None, problem: RuleProblem) -> Problem:
    key_path = (*where, problem.key) if problem.key else where
    return Problem(doc.path, doc.line_of(key_path), problem.message, rule, problem.level, "rule")


def _bad_paths(found: Sequence[tuple[JsonPath, Problem]]) -> set[JsonPath]:
    """Items (rules/N, signals/N) and sections that the schema already rejected."""
    return {where[:2] if where[:1] != ("defaults",) else where[:1] for where, _ in found}


def _section(doc: Located, name: str, skip: set[JsonPath]) -> list[Any]:
    """A list section of the pack, or nothing when it is missing or the schema rejected it."""
    items = doc.data.get(name)
    if (name,) in skip or not isinstance(items, list):
        return []
    return items


def _signals(doc: Located, skip: set[JsonPath], out: list[Problem]) -> list[Signal]:
    signals = []
    for i, raw in enumerate(_section(doc, "signals", skip)):
        where: JsonPath = ("signals", i)
        if where in skip or not isinstance(raw, dict):
            continue
        warnings: list[RuleProblem] = []
        try:
            flags = re.IGNORECASE if raw.get("ignore_case") else 0
            pattern = make_pattern(raw["log"], flags, raw.get("stream"), "log", warnings)
        except RuleProblem as exc:
            out.append(_located(doc, where, None, exc))
            continue
        out.extend(_located(doc, where, None, w) for w in warnings)
        signals.append(Signal(raw["name"], pattern, doc.path, doc.line_of(where)))
    return signals


def _check_signal_names(signals: Sequence[Signal], out: list[Problem]) -> list[Signal]:
    kept: dict[str, Signal] = {}
    for s in signals:
        if s.name in METRICS or s.name == ACTIVITY:
            msg = f"signal name '{s.name}' is already a built-in metric; choose another name"
            out.append(Problem(s.path, s.line, msg, code="signal"))
        elif s.name in kept:
            first = kept[s.name]
            msg = f"signal '{s.name}' is defined twice (first at {first.path}:{first.line})"
            out.append(Problem(s.path, s.line, msg, code="signal"))
        else:
            kept[s.name] = s
    return list(kept.values())


def compile_packs(docs: Sequence[Located]) -> Compiled:
    """Compile every document; the result holds each rule that compiled and all problems."""
    problems: list[Problem] = []
    skips: dict[str, set[JsonPath]] = {}
    raw_signals: list[Signal] = []
    for doc in docs:
        found = schemacheck.validate(doc, "rules")
        if not isinstance(doc.data, dict):
            problems.append(Problem(doc.path, 1, "a rule pack is a mapping with 'rules:'"))
            skips[doc.path] = {()}
            continue
        problems.extend(p for _, p in found)
        skips[doc.path] = _bad_paths(found)
        if not doc.data.get("rules") and not doc.data.get("signals"):
            problems.append(Problem(doc.path, 1, "the pack defines no rules and no signals"))
        raw_signals.extend(_signals(doc, skips[doc.path], problems))
    signals = _check_signal_names(raw_signals, problems)
    names = [s.name for s in signals]
    rules: list[Rule] = []
    for doc in docs:
        if () not in skips[doc.path]:
            rules.extend(_rules(doc, skips[doc.path], names, problems))
    rules = _unique_ids(rules, problems)
    files = tuple(doc.path for doc in docs)
    return Compiled(RuleSet(tuple(rules), tuple(signals), files), problems)


def _rules(
    doc: Located, skip: set[JsonPath], signals: Collection[str], out: list[Problem]
) -> list[Rule]:
    defaults = doc.data.get("defaults")
    if ("defaults",) in skip or not isinstance(defaults, dict):
        defaults = {}
    compiled = []
    for i, raw in enumerate(_section(doc, "rules", skip)):
        where: JsonPath = ("rules", i)
        if where in skip or not isinstance(raw, dict):
            continue
        try:
            rule, warnings = compile_rule(raw, defaults, signals, doc.path, doc.line_of(where))
        except RuleProblem as exc:
            out.append(_located(doc, where, raw.get("id"), exc))
            continue
        out.extend(_located(doc, where, rule.id, w) for w in warnings)
        compiled.append(replace(rule, examples=_with_lines(rule.examples, doc, where)))
    return compiled


def _unique_ids(rules: Sequence[Rule], out: list[Problem]) -> list[Rule]:
    seen: dict[str, Rule] = {}
    for rule in rules:
        first = seen.get(rule.id)
        if first is not None:
            where = f"{first.path}:{first.line}"
            msg = f"duplicate id; first defined at {where}; ids are unique across packs"
            out.append(Problem(rule.path, rule.line, msg, rule.id, code="duplicate"))
        else:
            seen[rule.id] = rule
    return list(seen.values())


def _with_lines(examples: Examples, doc: Located, where: JsonPath) -> Examples:
    def lines(section: str, n: int) -> tuple[int, ...]:
        return tuple(doc.line_of((*where, "examples", section, i)) for i in range(n))

    return replace(
        examples,
        fire_lines=lines("fires", len(examples.fires)),
        quiet_lines=lines("quiet", len(examples.quiet)),
    )
