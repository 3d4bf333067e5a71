"""rlswarm-rules: supervise long trainings, evaluate alert rules, deliver alerts.

The public surface for using the rules from Python; everything else is internal and
may move. A name is imported from its home module when first used, so `import engine`
(which every command does) loads nothing more:

    import engine
    rules = engine.load_rules([Path("rules")])           # or ConfigError, every problem
    eng = engine.Engine(rules, host="node-1", project="swarm")
    for decision in eng.feed(engine.LogLine(t, "stdout", "CUDA out of memory")):
        if decision.notifies:
            print(decision.rule, decision.reason.value, decision.summary)

`replay` backtests packs on saved logs, `lint` checks them, `run_pack_tests` runs their
pack tests; `alert_record` and `render` turn a decision into what a channel receives.

The packages, in the order data flows (each one's docstring says what it owns and what
it may import; `bin/layers` holds the code to it):

    packs      rule pack YAML, schema, compiled rules
    match      the matcher: lines and patterns in, hits out (hyperscan prefilter optional)
    core       the pure engine: observations in, decisions out
    logs       bytes to timed lines: splitting, timestamps, replay's fast path
    authoring  lint, pack tests, replay, their reports
    notify     alert records, rendering, channels, the outbox, delivery, Apprise plugins
    web        the live dashboard and /metrics
    supervise  run and watch: the child, its output, the pipeline, restarts
    probe      what runs inside the training's interpreter
    doctor     pre-flight checks
    cli        the command line
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.authoring.lint import LintReport as LintReport
    from engine.authoring.lint import lint as lint
    from engine.authoring.packtest import TestReport as TestReport
    from engine.authoring.packtest import run as run_pack_tests
    from engine.authoring.replay import ReplayResult as ReplayResult
    from engine.authoring.replay import replay as replay
    from engine.core.engine import Engine as Engine
    from engine.core.lifecycle import State as State
    from engine.errors import ConfigError as ConfigError
    from engine.errors import DurationError as DurationError
    from engine.errors import ExprError as ExprError
    from engine.errors import Level as Level
    from engine.errors import Problem as Problem
    from engine.errors import RlswarmError as RlswarmError
    from engine.errors import TemplateError as TemplateError
    from engine.match.matcher import Matcher as Matcher
    from engine.match.prefilter import accelerated as accelerated
    from engine.model import Action as Action
    from engine.model import Decision as Decision
    from engine.model import Event as Event
    from engine.model import Kind as Kind
    from engine.model import LineBlock as LineBlock
    from engine.model import LogLine as LogLine
    from engine.model import Observation as Observation
    from engine.model import Reason as Reason
    from engine.model import Sample as Sample
    from engine.model import Severity as Severity
    from engine.model import Silence as Silence
    from engine.model import Tick as Tick
    from engine.model import Value as Value
    from engine.notify.record import AlertRecord as AlertRecord
    from engine.notify.record import alert_record as alert_record
    from engine.notify.render import Message as Message
    from engine.notify.render import render as render
    from engine.packs.compile import Compiled as Compiled
    from engine.packs.loader import load as load_packs
    from engine.packs.loader import load_strict as load_rules
    from engine.packs.rule import Rule as Rule
    from engine.packs.rule import RuleSet as RuleSet

_HOMES: dict[str, tuple[str, str]] = {
    # rule packs
    "load_rules": ("engine.packs.loader", "load_strict"),
    "load_packs": ("engine.packs.loader", "load"),
    "Compiled": ("engine.packs.compile", "Compiled"),
    "RuleSet": ("engine.packs.rule", "RuleSet"),
    "Rule": ("engine.packs.rule", "Rule"),
    # the core and its vocabulary
    "Engine": ("engine.core.engine", "Engine"),
    "State": ("engine.core.lifecycle", "State"),
    "Matcher": ("engine.match.matcher", "Matcher"),
    "accelerated": ("engine.match.prefilter", "accelerated"),
    **{
        name: ("engine.model", name)
        for name in (
            "Action",
            "Decision",
            "Event",
            "Kind",
            "LineBlock",
            "LogLine",
            "Observation",
            "Reason",
            "Sample",
            "Severity",
            "Silence",
            "Tick",
            "Value",
        )
    },
    # errors
    **{
        name: ("engine.errors", name)
        for name in (
            "RlswarmError",
            "ConfigError",
            "DurationError",
            "ExprError",
            "TemplateError",
            "Problem",
            "Level",
        )
    },
    # the author's tools
    "lint": ("engine.authoring.lint", "lint"),
    "LintReport": ("engine.authoring.lint", "LintReport"),
    "replay": ("engine.authoring.replay", "replay"),
    "ReplayResult": ("engine.authoring.replay", "ReplayResult"),
    "run_pack_tests": ("engine.authoring.packtest", "run"),
    "TestReport": ("engine.authoring.packtest", "TestReport"),
    # what a channel receives
    "AlertRecord": ("engine.notify.record", "AlertRecord"),
    "alert_record": ("engine.notify.record", "alert_record"),
    "render": ("engine.notify.render", "render"),
    "Message": ("engine.notify.render", "Message"),
}

__all__ = [
    "Action",
    "AlertRecord",
    "Compiled",
    "ConfigError",
    "Decision",
    "DurationError",
    "Engine",
    "Event",
    "ExprError",
    "Kind",
    "Level",
    "LineBlock",
    "LintReport",
    "LogLine",
    "Matcher",
    "Message",
    "Observation",
    "Problem",
    "Reason",
    "ReplayResult",
    "RlswarmError",
    "Rule",
    "RuleSet",
    "Sample",
    "Severity",
    "Silence",
    "State",
    "TemplateError",
    "TestReport",
    "Tick",
    "Value",
    "accelerated",
    "alert_record",
    "lint",
    "load_packs",
    "load_rules",
    "render",
    "replay",
    "run_pack_tests",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(import_module(home[0]), home[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
