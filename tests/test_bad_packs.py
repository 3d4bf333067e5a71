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
from engine.packs.loader import load

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


# e.g. "001-yaml-colon-in-value": Known(f"{_p('001-yaml-colon-in-value')}:6: ... -- why it falls
# short"), or Known("traceback: ...", OverflowError) when an exception escapes. Empty: every
# fixture gets the message it expects.
KNOWN: dict[str, Known] = {}


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
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.filterwarnings("error")  # a Python warning reaches the user unlocated, on stderr
@pytest.mark.parametrize("name", _cases(check_messages=True))
def test_bad_pack_messages(name: str) -> None:
    assert _problem_lines(_target(name)) == _expected(name)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", _cases(check_messages=False))
def test_bad_pack_never_escapes(name: str) -> None:
    """Loading never lets anything but the engine's own ConfigError escape (no traceback, and
    no Python warning either)."""
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
