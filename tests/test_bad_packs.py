"""Bad rule packs: each fixture holds one mistake and its `.expect` file the exact lines a user
should see.

A fixture is `tests/bad_packs/NNN-name.yaml` (or a folder `NNN-name/` of packs loaded together)
next to `NNN-name.expect`. The expected lines were written by hand as the message a user should
get: `path:line: rule 'id': what is wrong (and the fix)`. Where the engine's message falls short
(misleading, wrong line, no rule id, a follow-on duplicate, a traceback) the expectation was kept
and the case is listed in KNOWN below as a strict xfail with the engine's actual output, so that
fixing the engine turns it into an XPASS that asks for the entry to be removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.packs import load

ROOT = Path(__file__).resolve().parent.parent
BAD = Path("tests/bad_packs")  # relative to ROOT: the messages name files relative to it
MIN_FIXTURES = 45


@dataclass(frozen=True)
class Known:
    """A fixture whose engine output is not yet what a user should see."""

    actual: str
    raises: type[BaseException] | None = None  # the exception that escapes today, if any


def _p(name: str) -> str:
    return f"{BAD}/{name}.yaml"


KNOWN: dict[str, Known] = {
    "001-yaml-colon-in-value": Known(
        f"{_p('001-yaml-colon-in-value')}:6: not valid YAML: mapping values are not allowed here"
        " -- no fix: the usual cause, an unquoted value containing ': ', is not named"
    ),
    "002-yaml-unclosed-brace": Known(
        f"{_p('002-yaml-unclosed-brace')}:7: not valid YAML: expected ',' or '}}', but got ':'"
        " -- points at the line after the unclosed '{' (line 6) and drops PyYAML's context"
        " ('while parsing a flow mapping' at line 6)"
    ),
    "003-tab-indent": Known(
        f"{_p('003-tab-indent')}:5: not valid YAML: found character '\\t' that cannot start any"
        " token -- does not say that tabs cannot indent YAML"
    ),
    "008-duplicate-rule-key": Known(
        f"{_p('008-duplicate-rule-key')}:6: duplicate key 'severity' (first at line 4); keep only"
        " one -- no rule id (YAML-level problems inside a rule never name the rule)"
    ),
    "009-duplicate-nested-key": Known(
        f"{_p('009-duplicate-nested-key')}:8: duplicate key 'category' (first at line 7); keep"
        " only one -- no rule id"
    ),
    "012-two-documents": Known(
        f"{_p('012-two-documents')}:7: only one YAML document per file ('---' starts a second"
        " one) -- wrong line: the '---' is on line 6, line 7 is the first key after it"
    ),
    "014-unknown-rule-key": Known(
        f"{_p('014-unknown-rule-key')}:4: rule 'cuda-oom': unknown key 'sevrity' (did you mean"
        f" 'severity'?) | {_p('014-unknown-rule-key')}:3: rule 'cuda-oom': missing required key"
        " 'severity' -- one typo reported twice (the did-you-mean already gives the fix), and"
        " out of line order"
    ),
    "031-expr-syntax": Known(
        f"{_p('031-expr-syntax')}:6: rule 'trainer-crashed': 'where': cannot parse expression"
        " 'code = 1': invalid syntax -- no hint for the most common slip ('=' for '==')"
    ),
    "047-metric-string-example": Known(
        f"{_p('047-metric-string-example')}:6: rule 'memory-high': examples of a metric rule are"
        " mappings of names to values -- points at 'examples:' instead of the bad item (line 9)"
        " and does not say which example is wrong"
    ),
    "048-absent-examples": Known(
        f"{_p('048-absent-examples')}:7: rule 'training-stalled': examples of a absent rule are"
        " mappings of names to values -- misleading: absent rules take no examples at all (the"
        " right message exists but is checked after the shape check); also 'a absent'"
    ),
    "055-not-utf8": Known(
        f"{_p('055-not-utf8')}:1: not UTF-8 text: invalid continuation byte -- wrong line (the"
        " byte is on line 6), no byte value, no fix"
    ),
    "056-rule-is-string": Known(
        f"{_p('056-rule-is-string')}:6: 'rules' must be a mapping, got 'nan-loss' -- misleading:"
        " 'rules' is a list; the item must be a mapping"
    ),
    "060-one-rule-schema-and-compile": Known(
        f"{_p('060-one-rule-schema-and-compile')}:4: rule 'memory-high': 'severity' is 'critcal'"
        " (did you mean 'critical'?) -- only this line: a rule with a schema problem is not"
        " compiled, so the unknown metric on line 5 needs a second run"
    ),
    "061-one-rule-two-compile": Known(
        f"{_p('061-one-rule-two-compile')}:5: rule 'memory-high': 'metric': unknown name"
        " 'mem_precent' (did you mean 'mem_percent'?) -- only this line: compiling a rule stops at"
        " its first problem, so the summary's unknown name on line 6 needs a second run"
    ),
    "062-log-name-in-metric-template": Known(
        f"{_p('062-log-name-in-metric-template')}:6: rule 'memory-high': 'summary': unknown name"
        " '{line}' -- misleading: 'line' is a documented template name, it is only missing from"
        " metric rules"
    ),
    "063-event-string-example": Known(
        f"{_p('063-event-string-example')}:7: rule 'trainer-crashed': examples of a event rule are"
        " mappings of names to values -- 'a event', and points at 'examples:' instead of the item"
        " (line 9)"
    ),
    "064-rule-instead-of-rules": Known(
        f"{_p('064-rule-instead-of-rules')}:2: unknown key 'rule' (did you mean 'rules'?) |"
        f" {_p('064-rule-instead-of-rules')}:1: the pack defines no rules and no signals -- a"
        " follow-on line for the same typo, out of line order"
    ),
    "068-yaml-tag": Known(
        f"{_p('068-yaml-tag')}:6: unreadable value: could not determine a constructor for the tag"
        " '!env'\\n  in \"<unicode string>\", line 6, column 16:\\n ... -- three lines in one"
        " message (PyYAML's mark with '<unicode string>'), no rule id, no fix"
    ),
    "072-signal-unknown-key": Known(
        f"{_p('072-signal-unknown-key')}:4: unknown key 'regex'; ... |"
        f" {_p('072-signal-unknown-key')}:3: missing required key 'log' -- right lines, but not"
        " in line order"
    ),
    "077-problems-in-line-order": Known(
        f"{_p('077-problems-in-line-order')}:7: ... 'severity' ... | "
        f"{_p('077-problems-in-line-order')}:5: ... 'metric' ... -- schema problems come before"
        " compile problems, not in line order"
    ),
    "078-regex-repeat-too-large": Known(
        "traceback: OverflowError: the repetition number is too large (make_pattern only catches"
        " re.error)",
        OverflowError,
    ),
    "079-yaml-int-tag": Known(
        "traceback: ValueError: invalid literal for int() with base 10: 'three' (yamlio._scalar"
        " only catches yaml.YAMLError)",
        ValueError,
    ),
    "080-expr-too-deep": Known(
        "traceback: RecursionError: maximum recursion depth exceeded during ast construction"
        " (compile_expression only catches SyntaxError)",
        RecursionError,
    ),
    "081-yaml-too-deep": Known(
        "traceback: RecursionError: maximum recursion depth exceeded (PyYAML's composer recurses"
        " once per nesting level; yamlio.parse does not catch it)",
        RecursionError,
    ),
    "082-yaml-empty-int-tag": Known(
        "traceback: IndexError: string index out of range (PyYAML's int constructor on an empty"
        " '!!int' value; yamlio._scalar only catches yaml.YAMLError)",
        IndexError,
    ),
    "083-yaml-unclosed-at-end": Known(
        f"{_p('083-yaml-unclosed-at-end')}:7: not valid YAML: expected ',' or '}}', but got"
        " '<stream end>' -- line 7 of a 6-line file (PyYAML's end-of-stream mark); the '{' that"
        " is not closed is on line 6"
    ),
    "087-regex-nested-set": Known(
        "no problem at all: re.compile's FutureWarning 'Possible nested set at position 12' goes"
        " to stderr as a Python warning (printed twice, from engine/compile.py:124 and :156), not"
        " into the located problems"
    ),
}


# Python warnings that a fixture triggers today (documented in KNOWN), kept out of the summary.
QUIET_WARNINGS = {"087-regex-nested-set": "ignore:Possible nested set:FutureWarning"}


def _fixtures() -> list[str]:
    folder = ROOT / BAD
    files = {p.stem for p in folder.glob("*.yaml")}
    folders = {p.name for p in folder.iterdir() if p.is_dir()}
    return sorted(files | folders)


def _target(name: str) -> Path:
    folder = BAD / name
    return folder if (ROOT / folder).is_dir() else BAD / f"{name}.yaml"


def _expected(name: str) -> list[str]:
    return (ROOT / BAD / f"{name}.expect").read_text("utf-8").splitlines()


def _problem_lines(target: Path) -> list[str]:
    """The message lines for `target`; ConfigError is the engine's own, anything else escapes."""
    try:
        compiled = load([target])
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return [str(p) for p in compiled.problems]


def _cases(check_messages: bool) -> list[object]:
    params: list[object] = []
    for name in _fixtures():
        known = KNOWN.get(name)
        marks = []
        if known is not None and (check_messages or known.raises is not None):
            raises: tuple[type[BaseException], ...] = (AssertionError,)
            if known.raises is not None:
                raises = (known.raises,) if not check_messages else (*raises, known.raises)
            marks.append(pytest.mark.xfail(strict=True, raises=raises, reason=known.actual))
        if name in QUIET_WARNINGS:
            marks.append(pytest.mark.filterwarnings(QUIET_WARNINGS[name]))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("name", _cases(check_messages=True))
def test_bad_pack_messages(name: str) -> None:
    assert _problem_lines(_target(name)) == _expected(name)


@pytest.mark.parametrize("name", _cases(check_messages=False))
def test_bad_pack_never_escapes(name: str) -> None:
    """Loading never lets anything but the engine's own ConfigError escape (no traceback)."""
    _problem_lines(_target(name))


def test_fixture_inventory() -> None:
    folder = ROOT / BAD
    names = _fixtures()
    expects = sorted(p.stem for p in folder.glob("*.expect"))
    assert names == expects, "every fixture needs a .expect file and every .expect a fixture"
    assert len(names) >= MIN_FIXTURES
    assert set(KNOWN) <= set(names), "KNOWN lists a fixture that does not exist"
    numbers = [name.split("-", 1)[0] for name in names]
    assert len(set(numbers)) == len(numbers), "fixture numbers are unique"


_LOCATION = re.compile(r"^(?P<path>[^:]+\.ya?ml):(?P<line>\d+): ")


@pytest.mark.parametrize("name", _fixtures())
def test_expectations_point_at_real_lines(name: str) -> None:
    """Each hand-written expectation names a fixture file and a line that exists in it."""
    for expected in _expected(name):
        found = _LOCATION.match(expected)
        assert found, f"not 'path:line: message': {expected!r}"
        path = ROOT / found["path"]
        target = ROOT / _target(name)
        assert path == target or target in path.parents, f"names another file: {expected!r}"
        lines = path.read_bytes().splitlines()
        assert 1 <= int(found["line"]) <= max(1, len(lines)), expected
