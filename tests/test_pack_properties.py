"""Property tests: whatever a pack file holds, loading it gives located problems, not a traceback.

(a) arbitrary text (random text, random bytes decoded, YAML-ish fragments, random structures
    dumped with yaml.safe_dump, pack-shaped structures built from the real vocabulary) goes
    through `yamlio.parse` and `compile_packs`: only ConfigError may escape, no Python warning
    leaks out, and every problem is in "p.yaml", on a line >= 0, with a non-empty message;
(b) mutations of the valid rules/starter.yaml (delete a key, replace a value, rename a key,
    duplicate a rule, insert text into a regex, expression or template; plus raw-text edits of
    its lines) raise nothing but ConfigError and every problem is on a line of the text.

Engine defects that a bad-pack fixture already pins as a strict xfail (tests/test_bad_packs.py,
KNOWN) may be tolerated here by a narrow signature in `known_escape` and counted as a hypothesis
`event`, so this file keeps finding new defects instead of re-finding those (none is tolerated
today); RLSWARM_STRICT_PROPERTIES=1 turns any tolerance off. RLSWARM_PROPERTY_SCALE=N runs N
times as many examples.

`--hypothesis-show-statistics` shows the examples run per test and how inputs were classified;
the terminal summary also gets one line with the number of examples each test ran.
"""

from __future__ import annotations

import copy
import os
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, currently_in_test_context, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st

from engine.errors import ConfigError, Level, Problem
from engine.packs import yamlio
from engine.packs.compile import compile_packs
from engine.vocabulary import ACTIVITY, EVENTS, METRICS

ROOT = Path(__file__).resolve().parent.parent
STARTER_TEXT = (ROOT / "rules" / "starter.yaml").read_text("utf-8")
STARTER: dict[str, Any] = yaml.safe_load(STARTER_TEXT)
PATH = "p.yaml"
STRICT = os.environ.get("RLSWARM_STRICT_PROPERTIES") == "1"

# Examples per test; the five tests together stay well under a minute on two cores.
# RLSWARM_PROPERTY_SCALE=10 runs ten times as many (a longer hunt, not for every run).
SCALE = float(os.environ.get("RLSWARM_PROPERTY_SCALE", "1"))
EXAMPLES_TEXT = round(300 * SCALE)
EXAMPLES_STRUCTURE = round(300 * SCALE)
EXAMPLES_MUTATION = round(400 * SCALE)
EXAMPLES_RAW_EDIT = round(250 * SCALE)
EXAMPLES_STARTER_INSERT = round(300 * SCALE)

RAN: Counter[str] = Counter()

COMMON = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def event(label: str) -> None:
    """Record `label` in hypothesis' statistics when inside a test (a no-op elsewhere)."""
    if currently_in_test_context():
        _event(label)


# --- the property ----------------------------------------------------------------------------


def problems_of(text: str) -> list[Problem] | None:
    """Every problem of `text` as a pack; anything but ConfigError propagates (a bug), and a
    Python warning (which reaches the user unlocated, on stderr) fails the property too.

    None when the input hit an engine defect that a bad-pack fixture already pins (see
    `known_escape`); set RLSWARM_STRICT_PROPERTIES=1 to fail on those too.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        problems = _problems_of(text)
    for warning in caught:
        raise AssertionError(f"a Python warning escaped instead of a Problem: {warning}")
    return problems


def _problems_of(text: str) -> list[Problem] | None:
    try:
        try:
            doc = yamlio.parse(text, PATH)
        except ConfigError as exc:
            event("rejected by yamlio.parse")
            return list(exc.problems)
        try:
            compiled = compile_packs([doc])
        except ConfigError as exc:  # allowed, though compile_packs normally returns its problems
            event("ConfigError from compile_packs")
            return list(exc.problems)
    except Exception as exc:
        fixture = None if STRICT else known_escape(exc)
        if fixture is None:
            raise
        event(f"known engine defect, tolerated: {fixture} ({type(exc).__name__})")
        return None
    errors = [p for p in compiled.problems if p.level is Level.ERROR]
    event("compiled, with errors" if errors else "compiled, no errors")
    return list(compiled.problems)


# (fixture, predicate over the exception and the files of its traceback): an engine defect that
# a bad-pack fixture pins as a strict xfail, e.g. ("078-regex-repeat-too-large", lambda exc,
# files: isinstance(exc, OverflowError) and any("/re/" in f for f in files)). None today: the
# defects once tolerated here (078-083, 087) are fixed.
KNOWN_ESCAPES: list[tuple[str, Callable[[BaseException, list[str]], bool]]] = []


def known_escape(exc: BaseException) -> str | None:
    """The bad-pack fixture (a strict xfail) that pins the defect behind `exc`, if known.

    Narrow on purpose: the exception type and the module it was raised from must both match.
    """
    files = [f.filename.replace("\\", "/") for f in traceback.extract_tb(exc.__traceback__)]
    for fixture, matches in KNOWN_ESCAPES:
        if matches(exc, files):
            return fixture
    return None


def check_located(problems: list[Problem] | None) -> None:
    for p in problems or []:
        assert p.path == PATH, p
        assert p.line >= 0, p
        assert p.message.strip(), p


def check_on_real_lines(problems: list[Problem] | None, text: str) -> None:
    check_located(problems)
    last = max(1, len(text.splitlines()))
    for p in problems or []:
        assert 1 <= p.line <= last, f"line {p.line} of {last}: {p}"


# --- (a) arbitrary input -----------------------------------------------------------------------

RULE_KEYS = sorted(
    {
        "id", "severity", "log", "metric", "absent", "event", "summary", "advice", "labels",
        "cooldown", "channels", "enabled", "action", "examples", "where", "count", "within",
        "for", "resolve", "repeat", "group_by", "stream", "ignore_case", "context",
    }
)
KEYS = [*RULE_KEYS, "rules", "signals", "defaults", "name", "fires", "quiet", "description"]
WORDS = [
    *METRICS, *EVENTS, ACTIVITY, "info", "warning", "error", "critical", "restart", "stop",
    "30s", "5m", "0s", "0", "-5m", "1h30m", "5 minutes", "round", "progress", "code",
    "mem_percent > 85", "code != 0", "abs(x)", "a.b", "x[0]", "__import__('os')",
    "(?P<value>\\d+)", "(a+)+", "(", "(?P<line>x)", "", "{line}", "{size:.1f}", "{a.b}", "{",
    "}", "{x!r}", "{mem_percent:.1z}", "\\", "\x00", "\t",
]
FRAGMENTS = [
    "rules:", "signals:", "defaults:", "\n", "\n  ", "\n    ", "- ", "id: ", "severity: ",
    "log: ", "metric: ", "absent: ", "event: ", "for: ", "summary: ", "examples:", "fires: ",
    "labels: ", "{", "}", "[", "]", ", ", ": ", "'", '"', "&a ", "*a", "---\n", "...\n", "\t",
    "!!str ", "!!int ", "!!float ", "!!binary ", "!tag ", "? ", "<<: ", "%YAML 1.1\n", "|\n",
    ">-\n", "#", "~", "null", "yes", "0x1F", "1e400", ".nan", "2024-01-01", "\ufeff", "\r\n",
    *WORDS,
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(WORDS)
)
keys = st.sampled_from(KEYS) | st.text(max_size=10)
structures = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=5),
    max_leaves=25,
)
rule_like = st.dictionaries(st.sampled_from(RULE_KEYS), structures | st.sampled_from(WORDS))
signal_like = st.dictionaries(
    st.sampled_from(["name", "log", "stream", "ignore_case", "description", "regex"]),
    st.sampled_from(WORDS) | scalars,
)
pack_like = st.fixed_dictionaries(
    {"rules": st.lists(rule_like, max_size=4)},
    optional={
        "signals": st.lists(signal_like, max_size=3),
        "defaults": st.dictionaries(st.sampled_from(RULE_KEYS), st.sampled_from(WORDS) | scalars),
    },
)


def dumped(values: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return st.tuples(values, st.booleans()).map(
        lambda pair: yaml.safe_dump(pair[0], default_flow_style=pair[1], allow_unicode=True)
    )


arbitrary_text = (
    st.text(max_size=300)
    | st.binary(max_size=300).map(lambda b: b.decode("utf-8", errors="replace"))
    | st.binary(max_size=300).map(lambda b: b.decode("latin-1"))
    | st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=40).map("".join)
)


@settings(COMMON, max_examples=EXAMPLES_TEXT)
@given(arbitrary_text)
def test_arbitrary_text_gives_located_problems(text: str) -> None:
    RAN["arbitrary text"] += 1
    check_located(problems_of(text))


@settings(COMMON, max_examples=EXAMPLES_STRUCTURE)
@given(dumped(structures) | dumped(pack_like))
def test_random_structures_give_located_problems(text: str) -> None:
    RAN["random structures"] += 1
    check_located(problems_of(text))


# --- (b) mutations of the starter pack --------------------------------------------------------


def _containers(node: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every mapping and list in `node`, the root included."""
    if isinstance(node, (dict, list)):
        yield where
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            yield from _containers(child, (*where, key))


def _at(node: Any, where: tuple[Any, ...]) -> Any:
    for part in where:
        node = node[part]
    return node


def _strings(node: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of the regexes, expressions and templates (and any other text) in `node`."""
    if isinstance(node, str):
        yield where
    elif isinstance(node, (dict, list)):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            yield from _strings(child, (*where, key))


STRINGS = list(_strings(STARTER))
CODE_KEYS = {"log", "metric", "where", "resolve", "summary", "advice", "absent"}
CODE_STRINGS = [w for w in STRINGS if w and w[-1] in CODE_KEYS]
INSERTS = st.text(max_size=8) | st.sampled_from(
    ["(", ")", "{", "}", "{line}", "{nope}", "[0]", ".x", "*", "+", "(?P<line>", "==", "=",
     "(a+)+", "\\", "{x:.1z}", "!r", "?P<", "'", '"', "\n", ": ", "$"]
)


@st.composite
def mutated_starter(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(STARTER)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "replace", "rename", "duplicate", "insert"]))
        event(f"mutation: {kind}")
        if kind == "insert":
            where = draw(st.sampled_from(CODE_STRINGS))
            try:
                parent, text = _at(doc, where[:-1]), _at(doc, where)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation removed or reshaped it
            if not isinstance(text, str):
                continue
            at = draw(st.integers(0, len(text)))
            parent[where[-1]] = text[:at] + draw(INSERTS) + text[at:]
            continue
        if kind == "duplicate":
            rules = doc.get("rules") if isinstance(doc, dict) else None
            if isinstance(rules, list) and rules:
                rules.append(copy.deepcopy(draw(st.sampled_from(rules))))
            continue
        live = [w for w in _containers(doc) if _at(doc, w)]
        if not live:
            continue  # everything was deleted already
        where = draw(st.sampled_from(live))
        node = _at(doc, where)
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        if kind == "delete":
            del node[key]
        elif kind == "replace":
            node[key] = draw(structures)
        elif isinstance(node, dict):  # rename
            new = draw(st.sampled_from(KEYS) | st.text(min_size=1, max_size=10))
            node[new] = node.pop(key)
    flow = draw(st.booleans())
    return yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True, sort_keys=False)


@settings(COMMON, max_examples=EXAMPLES_MUTATION)
@given(mutated_starter())
def test_mutated_starter_problems_are_on_real_lines(text: str) -> None:
    RAN["mutated starter"] += 1
    check_on_real_lines(problems_of(text), text)


@st.composite
def starter_with_insert(draw: st.DrawFn) -> str:
    """The starter pack's own text with random text inserted into one of its code strings."""
    lines = STARTER_TEXT.splitlines(keepends=True)
    candidates = [
        i for i, line in enumerate(lines)
        if line.lstrip(" -").split(":", 1)[0] in CODE_KEYS and line.rstrip().endswith(("'", '"'))
    ]
    i = draw(st.sampled_from(candidates))
    line = lines[i]
    start = line.index(":") + 3  # after ': ' and the opening quote
    at = draw(st.integers(start, len(line.rstrip()) - 1))
    inserted = draw(INSERTS.filter(lambda s: "\n" not in s))
    lines[i] = line[:at] + inserted + line[at:]
    return "".join(lines)


@st.composite
def starter_raw_edit(draw: st.DrawFn) -> str:
    """The starter pack's text with a line duplicated, deleted or moved, or text inserted."""
    lines = STARTER_TEXT.splitlines(keepends=True)
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["duplicate line", "delete line", "insert text", "move line"]))
    event(f"raw edit: {kind}")
    if kind == "duplicate line":
        lines.insert(i, lines[i])
    elif kind == "delete line":
        del lines[i]
    elif kind == "move line":
        lines.insert(draw(st.integers(0, len(lines) - 1)), lines.pop(i))
    else:
        at = draw(st.integers(0, len(lines[i])))
        extra = draw(INSERTS | st.sampled_from(["\t", "&a ", "*a", "---\n", "  ", "- ", "#"]))
        lines[i] = lines[i][:at] + extra + lines[i][at:]
    return "".join(lines)


@settings(COMMON, max_examples=EXAMPLES_STARTER_INSERT)
@given(starter_with_insert())
def test_starter_with_text_in_code_strings(text: str) -> None:
    RAN["starter, text inserted in a code string"] += 1
    check_on_real_lines(problems_of(text), text)


@settings(COMMON, max_examples=EXAMPLES_RAW_EDIT)
@given(starter_raw_edit())
def test_starter_raw_edits(text: str) -> None:
    RAN["starter, raw text edit"] += 1
    check_on_real_lines(problems_of(text), text)


def test_starter_itself_is_clean() -> None:
    """The base of the mutations is valid: any problem above comes from the mutation."""
    assert problems_of(STARTER_TEXT) == []
    assert problems_of(yaml.safe_dump(STARTER, sort_keys=False)) == []
    assert problems_of(yaml.safe_dump(STARTER, default_flow_style=True)) == []


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not RAN:
        return
    counts = ", ".join(f"{name}: {n}" for name, n in RAN.items())
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"\nproperty examples run (all phases, shrinking included): {counts}")

