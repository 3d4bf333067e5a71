"""Lint: the loader's problems plus a list of small validators, each `Rule -> problems`.

Validators check what compiling cannot: that every rule's `examples` fire or
stay quiet as stated, that named channels exist, and habits that are legal
but risky (a log rule without examples, cooldown 0 on a log rule).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from engine.errors import ConfigError, Level, Problem, did_you_mean
from engine.logs.lines import strip_ansi
from engine.model import Kind, Value, as_value
from engine.notify import channels as channelconf
from engine.packs import loader as packs
from engine.packs import yamlio
from engine.packs.rule import EventTrigger, LogTrigger, MetricTrigger, Rule

BUILTIN_CHANNELS = ("console", "journal")


@dataclass(frozen=True)
class LintContext:
    channels: Collection[str] | None = BUILTIN_CHANNELS  # None: names are not checked
    languages: Collection[str] = ()  # every language some loaded rule is translated into


Validator = Callable[[Rule, LintContext], Iterator[Problem]]


def _problem(rule: Rule, message: str, line: int = 0, code: str = "lint") -> Problem:
    return Problem(rule.path, line or rule.line, message, rule.id, Level.ERROR, code)


def _log_fires(trig: LogTrigger, line: str) -> bool:
    match = trig.pattern.regex.search(strip_ansi(line))
    if match is None:
        return False
    if trig.where is None:
        return True
    captures = {k: as_value(v) for k, v in match.groupdict().items()}
    return trig.where.holds(captures) is not False  # names it cannot see yet: no verdict


def _values_fire(rule: Rule, values: Mapping[str, Value]) -> bool | None:
    trig = rule.trigger
    if isinstance(trig, MetricTrigger):
        return trig.condition.holds(values)
    if isinstance(trig, EventTrigger):
        return True if trig.where is None else trig.where.holds(values)
    return None


def check_examples(rule: Rule, ctx: LintContext) -> Iterator[Problem]:
    """Every `fires` example must fire and every `quiet` one must not."""
    trig = rule.trigger
    ex = rule.examples
    for expected, items, lines in (
        (True, ex.fires, ex.fire_lines),
        (False, ex.quiet, ex.quiet_lines),
    ):
        for item, line in zip(items, lines or (0,) * len(items), strict=True):
            if isinstance(trig, LogTrigger) and isinstance(item, str):
                fired: bool | None = _log_fires(trig, item)
            elif isinstance(item, Mapping):
                fired = _values_fire(rule, item)
            else:
                continue
            if fired is None:
                yield _problem(rule, f"example {_show(item)} lacks a name the rule needs", line)
            elif fired != expected:
                verb = "does not fire" if expected else "fires"
                where = "fires" if expected else "quiet"
                yield _problem(rule, f"example under '{where}' {verb}: {_show(item)}", line)


def _show(item: object) -> str:
    text = repr(item)
    return text if len(text) <= 120 else text[:117] + "..."


def check_channels(rule: Rule, ctx: LintContext) -> Iterator[Problem]:
    if ctx.channels is None:
        return
    for name in rule.channels:
        if name not in ctx.channels:
            hint = did_you_mean(name, ctx.channels) or f"; known: {', '.join(ctx.channels)}"
            yield _problem(rule, f"unknown channel '{name}'{hint}", code="channel")


def check_log_has_examples(rule: Rule, ctx: LintContext) -> Iterator[Problem]:
    if rule.kind is Kind.LOG and not rule.examples.fires:
        message = "log rule has no 'examples: fires:'; add a real line it must catch"
        yield Problem(rule.path, rule.line, message, rule.id, Level.WARNING, "examples")


def check_log_cooldown(rule: Rule, ctx: LintContext) -> Iterator[Problem]:
    if rule.kind is Kind.LOG and rule.cooldown == 0:
        message = "cooldown 0 sends every matching line; a burst floods the channels"
        yield Problem(rule.path, rule.line, message, rule.id, Level.WARNING, "cooldown")


def check_translations(rule: Rule, ctx: LintContext) -> Iterator[Problem]:
    """A rule without a text the other rules have in some language: English is shown there."""
    for language in ctx.languages:
        have = rule.translations.get(language)
        missing = [
            key
            for key, english, translated in (
                ("summary", rule.summary, have.summary if have else None),
                ("advice", rule.advice, have.advice if have else None),
            )
            if english is not None and translated is None
        ]
        if missing:
            what = " and ".join(f"'{key}'" for key in missing)
            message = f"no {language} {what} (other rules have one); English is shown there"
            yield Problem(rule.path, rule.line, message, rule.id, Level.WARNING, "translation")


VALIDATORS: Sequence[Validator] = (
    check_examples,
    check_channels,
    check_log_has_examples,
    check_log_cooldown,
    check_translations,
)


@dataclass
class LintReport:
    problems: list[Problem]
    files: int
    rules: int

    @property
    def errors(self) -> int:
        return sum(p.level is Level.ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.level is Level.WARNING for p in self.problems)

    @property
    def unreadable(self) -> bool:
        return any(p.code == "io" for p in self.problems)

    def exit_code(self, strict: bool) -> int:
        if self.unreadable:
            return 2
        return 1 if self.errors or (strict and self.warnings) else 0

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "rules": self.rules,
            "errors": self.errors,
            "warnings": self.warnings,
            "problems": [p.as_dict() for p in self.problems],
        }


def lint(
    paths: Sequence[Path], channels_file: Path | None = None, check_names: bool = True
) -> LintReport:
    """Load the packs under `paths` (and the channels file: none, the built-in channels) and
    run every validator; without `check_names`, the channel names rules use are not checked."""
    ctx, problems = channel_context(channels_file) if channels_file else (LintContext(), [])
    if not check_names:
        ctx = LintContext(None)
    compiled = packs.load(paths)
    problems.extend(compiled.problems)
    languages = sorted({tag for rule in compiled.rules.rules for tag in rule.translations})
    ctx = replace(ctx, languages=languages)
    for rule in compiled.rules.rules:
        for validator in VALIDATORS:
            problems.extend(validator(rule, ctx))
    problems.sort(key=lambda p: (p.path, p.line, p.level is Level.WARNING))
    return LintReport(problems, len(compiled.rules.files), len(compiled.rules.rules))


def channel_context(path: Path) -> tuple[LintContext, list[Problem]]:
    """The channel names rules may use, and every problem of the channels file itself.

    Each URL is resolved (`${NAME}` from the environment or `.env`) and given
    to Apprise; a file that does not exist means the built-in channels. Fallback
    cycles and what is wrong with the `.env` are among the problems.
    """
    try:
        channels = channelconf.load(path)
        return LintContext(tuple(channels.names)), list(channels.warnings)
    except ConfigError as exc:
        return LintContext(_written_names(path)), list(exc.problems)


def _written_names(path: Path) -> tuple[str, ...]:
    try:
        doc = yamlio.read(path)
    except ConfigError:
        return BUILTIN_CHANNELS
    entries = doc.data.get("channels") if isinstance(doc.data, dict) else None
    if not isinstance(entries, list):
        return BUILTIN_CHANNELS
    return tuple(str(e["name"]) for e in entries if isinstance(e, dict) and "name" in e)
