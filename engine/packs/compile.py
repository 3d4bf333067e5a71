"""Raw pack documents to compiled rules.

`compile_packs(docs)` checks every document against the schema, then compiles
each signal and rule: regexes, expressions and templates are built here once.
All problems of all files are collected, so one pass reports everything: every
key of a rule is checked on its own (a broken trigger does not hide a broken
summary), a rule with schema problems is still checked on its other keys, and a
rule or signal with any problem is left out. Problems come back in line order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.durations import parse_duration
from engine.errors import (
    DurationError,
    ExprError,
    Level,
    Problem,
    RuleProblem,
    TemplateError,
    did_you_mean,
)
from engine.model import Action, Kind, Severity
from engine.packs import schemacheck
from engine.packs.expr import Expression, compile_expression
from engine.packs.prose import unwrap
from engine.packs.regexcheck import compile_regex
from engine.packs.rule import (
    AbsentTrigger,
    EventTrigger,
    Examples,
    Inhibition,
    LogTrigger,
    MetricTrigger,
    Pattern,
    Rule,
    RuleSet,
    Signal,
    Translation,
    Trigger,
    Unless,
)
from engine.packs.template import Template, compile_template
from engine.packs.yamlio import JsonPath, Located
from engine.vocabulary import (
    ABSENT_TEMPLATE_NAMES,
    ACTIVITY,
    COMMON_TEMPLATE_NAMES,
    EVENTS,
    LOG_TEMPLATE_NAMES,
    METRICS,
)

DEFAULT_COOLDOWN = 300.0
MAX_RULES = 1000  # of all packs loaded at once
MAX_SIGNALS = 200
DEFAULT_CONTEXT = 20
COMMON_OPTIONS = frozenset(
    {
        "id",
        "severity",
        "summary",
        "advice",
        "translations",
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


def _elsewhere() -> dict[str, str]:
    """For a name a rule cannot use: the rules that can (e.g. 'line': 'log rules')."""
    events: dict[str, list[str]] = {}
    for event, fields in EVENTS.items():
        for name in fields:
            events.setdefault(name, []).append(f"'{event}'")
    where = {name: f"{' and '.join(owners)} event rules" for name, owners in events.items()}
    return (
        where
        | dict.fromkeys(LOG_TEMPLATE_NAMES, "log rules")
        | dict.fromkeys(ABSENT_TEMPLATE_NAMES, "absent rules")
    )


ELSEWHERE: Mapping[str, str] = _elsewhere()
ELSEWHERE_IN_EXPRESSIONS = {k: v for k, v in ELSEWHERE.items() if v.endswith("event rules")}


@dataclass
class _Ctx:
    """What compiling one rule needs: its raw mapping, defaults and the known names.

    `bad` holds the keys the schema rejected or that failed to compile: they are neither used
    nor checked again, so one mistake gives one message. Every problem is collected.
    """

    raw: Mapping[str, Any]
    defaults: Mapping[str, Any]
    signals: Collection[str]
    bad: set[str] = field(default_factory=set)
    problems: list[RuleProblem] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(p.level is Level.ERROR for p in self.problems)

    def has(self, key: str) -> bool:
        return key in self.raw and key not in self.bad

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw[key] if self.has(key) else self.defaults.get(key, default)

    def error(self, key: str | JsonPath, message: str) -> None:
        self.problems.append(RuleProblem(key, message))
        if isinstance(key, str):
            self.bad.add(key)

    def duration(self, key: str, default: float | None) -> float | None:
        value = self.get(key)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except DurationError as exc:
            self.error(key, f"'{key}': {exc}")
            return default

    def expression(self, key: str, known: Collection[str] | None) -> Expression | None:
        if not self.has(key):
            return None
        try:
            return compile_expression(self.raw[key], known, ELSEWHERE_IN_EXPRESSIONS)
        except ExprError as exc:
            self.error(key, f"'{key}': {exc}")
            return None

    def template(
        self, key: str, known: Collection[str] | None, default: str | None = None
    ) -> Template | None:
        text = self.raw[key] if self.has(key) else default
        return self.compiled_text(key, text, known, key)

    def compiled_text(
        self, where: str | JsonPath, text: object, known: Collection[str] | None, shown: str
    ) -> Template | None:
        """`text` as a template (advice without its soft line breaks), or None after a
        problem reported at `where` as `'shown': ...`."""
        if text is None:
            return None
        if shown.endswith("advice") and isinstance(text, str):
            text = unwrap(text)
        try:
            return compile_template(text, known, ELSEWHERE)
        except TemplateError as exc:
            self.error(where, f"'{shown}': {exc}")
            return None

    def regex(self, key: str) -> Pattern | None:
        if not self.has(key):
            return None
        flags = re.IGNORECASE if self.get("ignore_case", False) is True else 0
        stream = self.get("stream")
        pattern = make_pattern(self.raw[key], flags, stream, key, self.problems)
        if pattern is None:
            self.bad.add(key)
        return pattern


def make_pattern(
    text: str, flags: int, stream: object, key: str, problems: list[RuleProblem]
) -> Pattern | None:
    """The compiled regex, or None; its errors and warnings are added to `problems`."""
    compiled = compile_regex(text, flags)
    if compiled.regex is None:
        problems.append(RuleProblem(key, f"'{key}': {compiled.error}"))
        return None
    for warning in compiled.warnings:
        problems.append(RuleProblem(key, f"'{key}': {warning}", Level.WARNING))
    return Pattern(compiled.regex, stream if isinstance(stream, str) else None)


# --- one compile function per kind: the kind registry --------------------------------------

KindCompiler = Callable[[_Ctx], tuple[Trigger | None, Collection[str] | None]]
"""Builds a rule's trigger (None when a part failed) and returns the names its templates may
use (None when they cannot be known, e.g. the regex that defines the captures is broken)."""


def _count_within(ctx: _Ctx) -> tuple[int, float]:
    count = ctx.get("count", 1)
    within = ctx.duration("within", None)
    if {"count", "within"} & ctx.bad:
        return 1, 0.0
    if count > 1 and not within:
        ctx.error("count", f"'count: {count}' needs 'within' (e.g. 'within: 10m')")
    elif within and not ctx.has("count"):
        ctx.error("within", "'within' needs 'count' (fire on the Nth match inside it)")
    return count, within or 0.0


def _compile_log(ctx: _Ctx) -> tuple[Trigger | None, Collection[str] | None]:
    pattern = ctx.regex("log")
    captures = pattern.captures if pattern is not None else None
    reserved = sorted(RESERVED_CAPTURES.intersection(captures or ()))
    if reserved:
        ctx.error("log", f"'log': capture name '{reserved[0]}' is reserved; rename the group")
    names = None if captures is None else {*METRICS, *ctx.signals, *captures}
    where = ctx.expression("where", names)
    count, within = _count_within(ctx)
    group_by = ctx.template("group_by", captures)
    context = ctx.get("context", DEFAULT_CONTEXT)
    unless = _unless(ctx)
    template_names = None if names is None else {*names, *LOG_TEMPLATE_NAMES}
    if pattern is None or ctx.failed:
        return None, template_names
    trigger = LogTrigger(pattern, where, count, within, context, group_by, unless)
    return trigger, template_names


def _unless(ctx: _Ctx) -> Unless | None:
    """The `unless` of a log rule: its own regex (with the rule's `ignore_case`, its own
    `stream`) and a `within` longer than 0s."""
    raw = ctx.get("unless")
    if not isinstance(raw, Mapping):
        return None
    flags = re.IGNORECASE if ctx.get("ignore_case", False) is True else 0
    found: list[RuleProblem] = []
    pattern = make_pattern(str(raw.get("log", "")), flags, raw.get("stream"), "log", found)
    for problem in found:
        ctx.problems.append(
            RuleProblem(("unless", "log"), "'unless' " + problem.message, problem.level)
        )
    try:
        within = parse_duration(raw.get("within"))
    except DurationError as exc:
        ctx.error(("unless", "within"), f"'unless' 'within': {exc}")
        return None
    if within <= 0:
        ctx.error(("unless", "within"), "'unless' 'within' must be longer than 0s")
        return None
    if pattern is None:
        ctx.bad.add("unless")
        return None
    return Unless(pattern, within)


def _compile_event(ctx: _Ctx) -> tuple[Trigger | None, Collection[str] | None]:
    name = ctx.get("event")
    fields = EVENTS.get(name) if isinstance(name, str) else None
    names = None if fields is None else {*METRICS, *ctx.signals, *fields}
    where = ctx.expression("where", names)
    count, within = _count_within(ctx)
    group_by = ctx.template("group_by", fields)
    if not isinstance(name, str) or fields is None or ctx.failed:
        return None, names
    return EventTrigger(name, where, count, within, group_by), names


def _compile_metric(ctx: _Ctx) -> tuple[Trigger | None, Collection[str] | None]:
    names = {*METRICS, *ctx.signals}
    condition = ctx.expression("metric", names)
    resolve = ctx.expression("resolve", names)
    hold = ctx.duration("for", 0.0) or 0.0
    repeat = ctx.duration("repeat", None)
    if condition is None or ctx.failed:
        return None, names
    return MetricTrigger(condition, resolve, hold, repeat), names


def _compile_absent(ctx: _Ctx) -> tuple[Trigger | None, Collection[str] | None]:
    signal = ctx.get("absent")
    known = [ACTIVITY, *ctx.signals]
    if isinstance(signal, str) and signal not in known:
        hint = did_you_mean(signal, known)
        message = f"'absent': unknown signal '{signal}'{hint}; define it under 'signals:'"
        ctx.error("absent", message + " or use 'activity'")
    if "for" not in ctx.raw:
        ctx.error("absent", "'absent' needs 'for' (how long a silence is too long)")
    hold = ctx.duration("for", 0.0) or 0.0
    if ctx.has("for") and hold <= 0:
        ctx.error("for", "'for' of an absent rule must be longer than 0s")
    repeat = ctx.duration("repeat", None)
    names = {*METRICS, *ctx.signals, *ABSENT_TEMPLATE_NAMES}
    if not isinstance(signal, str) or ctx.failed:
        return None, names
    return AbsentTrigger(signal, hold, repeat), names


@dataclass(frozen=True)
class KindSpec:
    compile: KindCompiler
    options: frozenset[str]
    default_summary: str


KINDS: Mapping[Kind, KindSpec] = {
    Kind.LOG: KindSpec(
        _compile_log,
        frozenset(
            {
                "where",
                "count",
                "within",
                "stream",
                "ignore_case",
                "context",
                "group_by",
                "unless",
                "inhibited_by",
            }
        ),
        "{line}",
    ),
    Kind.EVENT: KindSpec(
        _compile_event,
        frozenset({"where", "count", "within", "group_by", "inhibited_by"}),
        "{rule}",
    ),
    Kind.METRIC: KindSpec(_compile_metric, frozenset({"for", "resolve", "repeat"}), "{rule}"),
    Kind.ABSENT: KindSpec(
        _compile_absent, frozenset({"for", "repeat"}), "nothing seen for {silent_for}"
    ),
}


# --- a whole rule ----------------------------------------------------------------------------


def _kind_of(ctx: _Ctx) -> Kind | None:
    """The rule's kind (a schema-rejected kind key still counts), or None after a problem."""
    present = [k for k in Kind if k.value in ctx.raw]
    if len(present) != 1:
        names = ", ".join(k.value for k in Kind)
        if not present:
            ctx.error((), f"needs exactly one of {names}; none is set")
        else:
            both = " and ".join(k.value for k in present)
            ctx.error(present[1].value, f"has {both}; a rule has exactly one of {names}")
        return None
    kind = present[0]
    for key in sorted(set(ctx.raw) - COMMON_OPTIONS - KINDS[kind].options - ctx.bad):
        owners = [k.value for k, spec in KINDS.items() if key in spec.options]
        ctx.error(
            key,
            f"'{key}' does not apply to a {kind.value} rule (only to {' and '.join(owners)} rules)",
        )
    return kind


def _shown(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    return "a mapping" if isinstance(value, dict) else f"{type(value).__name__} {value!r}"


def _examples(ctx: _Ctx, kind: Kind | None) -> Examples:
    raw = ctx.raw.get("examples") if ctx.has("examples") else None
    if not isinstance(raw, dict) or kind is None:
        return Examples()
    fires = tuple(raw.get("fires") or ())
    quiet = tuple(raw.get("quiet") or ())
    if kind is Kind.ABSENT and (fires or quiet):
        ctx.error("examples", "absent rules take no examples; test them in a pack test")
        return Examples()
    want_text = kind is Kind.LOG
    article = "an" if kind.value[0] in "aeiou" else "a"
    shape = "lines of text" if want_text else "mappings of names to values"
    for section, items in (("fires", fires), ("quiet", quiet)):
        for i, item in enumerate(items):
            if want_text != isinstance(item, str):
                message = f"examples of {article} {kind.value} rule are {shape}, got {_shown(item)}"
                ctx.error(("examples", section, i), message)
    return Examples(fires, quiet)


def _translations(ctx: _Ctx, known: Collection[str] | None) -> dict[str, Translation]:
    """The rule's texts in other languages; each may use the names its English text may."""
    raw = ctx.raw.get("translations") if ctx.has("translations") else None
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Translation] = {}
    for language, texts in raw.items():
        if not isinstance(texts, dict):
            continue
        if not texts:
            message = f"translation '{language}' is empty; give its 'summary' or 'advice'"
            ctx.error(("translations", language), message)
            continue
        parts = [
            ctx.compiled_text(
                ("translations", language, key), texts.get(key), known, f"{language} {key}"
            )
            for key in ("summary", "advice")
        ]
        out[language] = Translation(*parts)
    return out


def compile_rule(
    raw: Mapping[str, Any],
    defaults: Mapping[str, Any],
    signals: Collection[str],
    path: str,
    line: int,
    rejected: Collection[str] | None = None,
) -> tuple[Rule | None, list[RuleProblem]]:
    """Compile one rule mapping: the rule (None when anything failed) and every problem.

    `rejected` lists the keys the schema already reported (None: the rule fits the schema);
    those are skipped, the rest is still checked, and no rule is built.
    """
    ctx = _Ctx(raw, defaults, signals, set(rejected or ()))
    kind = _kind_of(ctx)
    trigger, names = KINDS[kind].compile(ctx) if kind is not None else (None, None)
    known = None if names is None else {*names, *COMMON_TEMPLATE_NAMES}
    default_summary = KINDS[kind].default_summary if kind is not None else None
    summary = ctx.template("summary", known, default_summary)
    advice = ctx.template("advice", known)
    translations = _translations(ctx, known)
    cooldown = ctx.duration("cooldown", DEFAULT_COOLDOWN) or 0.0
    examples = _examples(ctx, kind)
    if rejected is not None or ctx.failed or kind is None or trigger is None or summary is None:
        return None, ctx.problems
    inhibited_by = _inhibited_by(ctx)
    if ctx.failed:
        return None, ctx.problems
    action = raw.get("action")
    rule = Rule(
        id=raw["id"],
        kind=kind,
        severity=Severity.parse(raw["severity"]),
        trigger=trigger,
        summary=summary,
        advice=advice,
        translations=translations,
        labels={**defaults.get("labels", {}), **raw.get("labels", {})},
        cooldown=cooldown,
        channels=tuple(ctx.get("channels", ())),
        enabled=bool(ctx.get("enabled", True)),
        action=Action(action) if action else None,
        examples=examples,
        inhibited_by=inhibited_by,
        path=path,
        line=line,
    )
    return rule, ctx.problems


def _inhibited_by(ctx: _Ctx) -> Inhibition | None:
    """A log or event rule's `inhibited_by` (the schema checked its keys and values)."""
    raw = ctx.get("inhibited_by")
    if not isinstance(raw, Mapping):
        return None
    times: list[float] = []
    for key, default in (("before", DEFAULT_INHIBIT_BEFORE), ("after", 0.0), ("gather", 0.0)):
        try:
            times.append(parse_duration(raw[key]) if key in raw else default)
        except DurationError as exc:
            ctx.error(("inhibited_by", key), f"'inhibited_by' '{key}': {exc}")
            return None
    severity = Severity.parse(raw.get("severity", "critical"))
    return Inhibition(severity, dict(raw.get("labels", {})), *times)


DEFAULT_INHIBIT_BEFORE = 300.0


# --- whole packs -----------------------------------------------------------------------------


@dataclass
class Compiled:
    rules: RuleSet
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not any(p.level is Level.ERROR for p in self.problems)


def _located(
    doc: Located, where: JsonPath, rule: str | None, problem: RuleProblem, prefix: str = ""
) -> Problem:
    line = doc.line_of((*where, *problem.where))
    return Problem(doc.path, line, prefix + problem.message, rule, problem.level, "rule")


Rejected = dict[JsonPath, set[str]]
"""Per item (rules/N, signals/N), section ('defaults',) and the top level (): the keys the
schema rejected; an item that is listed has a schema problem even when its set is empty."""


def _rejected(found: Sequence[tuple[JsonPath, Problem]]) -> Rejected:
    out: Rejected = {}
    for where, _ in found:
        cut = 2 if where[:1] in (("rules",), ("signals",)) and len(where) >= 2 else 1
        cut = 0 if not where else cut
        keys = out.setdefault(where[:cut], set())
        key = where[cut] if len(where) > cut else None
        if isinstance(key, str):
            keys.add(key)
    return out


def _section(doc: Located, name: str) -> list[Any]:
    """A list section of the pack, or nothing when it is missing or not a list."""
    items = doc.data.get(name)
    return items if isinstance(items, list) else []


def _signals(
    doc: Located, rejected: Rejected, out: list[Problem], before: int
) -> tuple[list[Signal], list[str]]:
    """The signals that compiled, and the names of those with problems (still known names);
    of all packs, the first `MAX_SIGNALS` (`before`: how many came before this pack)."""
    signals, broken = [], []
    for i, raw in enumerate(_section(doc, "signals")):
        where: JsonPath = ("signals", i)
        if not isinstance(raw, dict):
            continue
        if before + i >= MAX_SIGNALS:
            msg = (
                f"more than {MAX_SIGNALS} signals are loaded, the most there may be; this one "
                "and those after it are not"
            )
            out.append(Problem(doc.path, doc.line_of(where), msg, code="limit"))
            break
        bad = rejected.get(where)
        name = raw.get("name")
        prefix = f"signal '{name}': " if isinstance(name, str) else ""
        found: list[RuleProblem] = []
        pattern = None
        if isinstance(raw.get("log"), str) and "log" not in (bad or ()):
            flags = re.IGNORECASE if raw.get("ignore_case") is True else 0
            pattern = make_pattern(raw["log"], flags, raw.get("stream"), "log", found)
        out.extend(_located(doc, where, None, p, prefix) for p in found)
        if bad is None and pattern is not None:
            signals.append(Signal(raw["name"], pattern, doc.path, doc.line_of(where)))
        elif isinstance(name, str):
            broken.append(name)
    return signals, broken


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


def _defaults(doc: Located, rejected: Rejected, out: list[Problem]) -> dict[str, Any]:
    """The file's defaults without the keys that have problems (reported once, here)."""
    raw = doc.data.get("defaults")
    if not isinstance(raw, dict):
        return {}
    bad = rejected.get(("defaults",), set())
    defaults = {k: v for k, v in raw.items() if k not in bad}
    for key in ("cooldown", "repeat"):
        if key in defaults:
            try:
                parse_duration(defaults[key])
            except DurationError as exc:
                line = doc.line_of(("defaults", key))
                out.append(Problem(doc.path, line, f"'{key}': {exc}", code="rule"))
                del defaults[key]
    return defaults


def compile_packs(docs: Sequence[Located]) -> Compiled:
    """Compile every document; the result holds each rule that compiled and all problems,
    in file order and, within a file, in line order."""
    problems: list[Problem] = []
    rejected: dict[str, Rejected] = {}
    raw_signals: list[Signal] = []
    broken: list[str] = []
    for doc in docs:
        found = schemacheck.validate(doc, "rules")
        if not isinstance(doc.data, dict):
            problems.append(Problem(doc.path, 1, "a rule pack is a mapping with 'rules:'"))
            continue
        problems.extend(p for _, p in found)
        rejected[doc.path] = _rejected(found)
        top_level = () in rejected[doc.path] or any(len(w) == 1 for w, _ in found)
        if not top_level and not doc.data.get("rules") and not doc.data.get("signals"):
            problems.append(Problem(doc.path, 1, "the pack defines no rules and no signals"))
        good, bad = _signals(doc, rejected[doc.path], problems, len(raw_signals) + len(broken))
        raw_signals.extend(good)
        broken.extend(bad)
    signals = _check_signal_names(raw_signals, problems)
    names = [*(s.name for s in signals), *broken]
    rules: list[Rule] = []
    ids: list[tuple[str, str, int]] = []
    seen = 0  # rules in the packs before
    for doc in docs:
        if doc.path in rejected:
            rules.extend(_rules(doc, rejected[doc.path], names, problems, ids, seen))
            seen += len(_section(doc, "rules"))
    rules = _unique_ids(rules, ids, problems)
    order = {doc.path: i for i, doc in enumerate(docs)}
    problems.sort(key=lambda p: (order.get(p.path, len(order)), p.line))
    files = tuple(doc.path for doc in docs)
    return Compiled(RuleSet(tuple(rules), tuple(signals), files), problems)


def _rules(
    doc: Located,
    rejected: Rejected,
    signals: Collection[str],
    out: list[Problem],
    ids: list[tuple[str, str, int]],
    before: int,
) -> list[Rule]:
    """The rules of `doc`, the first `MAX_RULES` of all packs (`before`: how many came in
    the packs before it)."""
    if before > MAX_RULES:
        return []  # said at the first rule over the limit
    defaults = _defaults(doc, rejected, out)
    compiled = []
    for i, raw in enumerate(_section(doc, "rules")):
        where: JsonPath = ("rules", i)
        if not isinstance(raw, dict):
            continue
        rule_id = raw["id"] if isinstance(raw.get("id"), str) else None
        line = doc.line_of(where)
        if before + i >= MAX_RULES:
            msg = (
                f"more than {MAX_RULES} rules are loaded, the most there may be; this one and "
                "those after it are not (a rule per kind of failure, with group_by for its "
                "variants, needs far fewer)"
            )
            out.append(Problem(doc.path, line, msg, rule_id, code="limit"))
            break
        if rule_id is not None:
            ids.append((rule_id, doc.path, line))
        bad = rejected.get(where)
        rule, found = compile_rule(raw, defaults, signals, doc.path, line, bad)
        out.extend(_located(doc, where, rule_id, p) for p in found)
        if rule is not None:
            compiled.append(replace(rule, examples=_with_lines(rule.examples, doc, where)))
    return compiled


def _unique_ids(
    rules: Sequence[Rule], ids: Sequence[tuple[str, str, int]], out: list[Problem]
) -> list[Rule]:
    """Report every rule whose id an earlier rule has (compiled or not); keep the first."""
    first: dict[str, tuple[str, int]] = {}
    for rule_id, path, line in ids:
        if rule_id in first:
            where = "{}:{}".format(*first[rule_id])
            msg = f"duplicate id; first defined at {where}; ids are unique across packs"
            out.append(Problem(path, line, msg, rule_id, code="duplicate"))
        else:
            first[rule_id] = (path, line)
    return [r for r in rules if first.get(r.id) == (r.path, r.line)]


def _with_lines(examples: Examples, doc: Located, where: JsonPath) -> Examples:
    def lines(section: str, n: int) -> tuple[int, ...]:
        return tuple(doc.line_of((*where, "examples", section, i)) for i in range(n))

    return replace(
        examples,
        fire_lines=lines("fires", len(examples.fires)),
        quiet_lines=lines("quiet", len(examples.quiet)),
    )
