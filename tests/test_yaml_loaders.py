"""libyaml's loader and PyYAML's own give users the same answers (engine.packs.yamlloaders).

`yamlio.parse` reads with libyaml when it can and falls back to the pure-Python loader for every
problem, so the reference is `parse_with(text, path, PURE)`: for every text below, `parse` must
give the same data and lines, or the same messages on the same lines. The texts: every bad-pack
fixture and every YAML file of the checkout, each also with random edits (the fragments users
get wrong: tabs, '?', quotes, brackets, a BOM...), and generated pack-like texts. The places
where libyaml really reads differently are pinned one by one, and a process whose PyYAML has no
libyaml gives every fixture the same messages.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.packs import yamlio
from engine.packs.yamlloaders import FAST, PURE, Unsure, fast_may_differ

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad_packs"
EDITS = [
    "\t", "?", "? ", ": ", ":", "- ", "#", "'", '"', "''", "\\", "[", "]", "{", "}", ",", "&a ",
    "*a", "!!str ", "!x ", "|\n", ">-\n", "---\n", "...\n", "%YAML 1.1\n", "\ufeff", "\r",
    "\r\n", "\x85", "\u2028", "é", "中文", "\n  ", "\n- ", "~", "0x1F", "1e400", "2024-01-01",
    "(?P<x>\\d+)", "{a: [b, {c: d}]}", "[a:b]", "[? a]", "{a:b}", '"\\u00e9"', '"\\x41"',
    "x" * 1100,
]  # fmt: skip

needs_libyaml = pytest.mark.skipif(FAST is None, reason="this PyYAML was built without libyaml")


def outcome(parse: Any, text: str) -> tuple[Any, ...]:
    """What a user gets from `parse`: the data and every line, or the messages."""
    try:
        doc = parse(text, "p.yaml")
    except ConfigError as exc:
        return ("problems", [str(p) for p in exc.problems])
    return ("data", repr(doc.data), sorted(doc.lines.items(), key=repr))


def reference(text: str, path: str) -> yamlio.Located:
    return yamlio.parse_with(text, path, PURE)


def same_answer(text: str) -> tuple[Any, ...]:
    got = outcome(yamlio.parse, text)
    assert got == outcome(reference, text), text
    return got


def _checkout_yaml() -> list[Path]:
    found = [*ROOT.glob("rules/**/*.y*ml"), *ROOT.glob("tests/**/*.y*ml")]
    found += [*ROOT.glob("engine/**/*.y*ml"), *ROOT.glob("bench/rules/**/*.yaml")]
    return sorted(p for p in found if p.is_file())


def _edited(text: str, rnd: random.Random) -> str:
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(rnd.choice([1, 1, 2, 3])):
        i = rnd.randrange(len(lines))
        at = rnd.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:at] + rnd.choice(EDITS) + lines[i][at:]
    return "".join(lines)


@needs_libyaml
def test_the_checkout_and_its_edits_read_the_same() -> None:
    files = _checkout_yaml()
    assert len(files) > 100
    kinds: dict[str, int] = {"data": 0, "problems": 0}
    fast_read = 0
    for path in files:
        text = path.read_text("utf-8", errors="replace")
        rnd = random.Random(str(path.relative_to(ROOT)))
        for candidate in [text, *(_edited(text, rnd) for _ in range(12))]:
            kinds[same_answer(candidate)[0]] += 1
            fast_read += _libyaml_reads(candidate)
    assert kinds["data"] > 300 and kinds["problems"] > 300, kinds
    assert fast_read > 300, "libyaml read too few texts for this test to mean much"


def _libyaml_reads(text: str) -> bool:
    """Whether `parse` keeps libyaml's reading of `text` (no problem, no known divergence)."""
    if FAST is None or fast_may_differ(text):
        return False
    try:
        yamlio.parse_with(text, "p.yaml", FAST)
    except (ConfigError, Unsure):
        return False
    return True


fragments = st.lists(st.sampled_from(EDITS) | st.text(max_size=4), max_size=30).map("".join)
pack_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=15,
).flatmap(
    lambda data: st.sampled_from([True, False, None]).map(
        lambda flow: yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    )
)


@needs_libyaml
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(fragments | pack_text | st.text(max_size=120))
def test_generated_texts_read_the_same(text: str) -> None:
    same_answer(text)


# --- the places where libyaml reads differently, pinned -----------------------------------------

# Found without parsing (fast_may_differ): libyaml, unguarded, answers otherwise.
DIFFERENT_TEXT = {
    "tab in a key": "ru\tles:\n  - id: a\n",
    "tab before a value": "rules:\n  - id: \ta\n",
    "tab inside a plain value": "labels:\n  pack: a\tb\n",
    "BOM at a line start": "# c\n\ufeffrules: []\n",
    "comment right after '|'": "rules:\n|# c\n  - id: a\n",
    "no line break after an empty document": "# nothing yet\n---",
}
# Found while reading (Watch): libyaml's own values differ from the reference's.
DIFFERENT_EVENTS = {
    "'?' in a flow mapping": "labels: {pack: a(?P<x>y)b}\n",
    "'?' in a flow list": "fires: [a?b, c]\n",
    "the tag '!' on an empty value": "rules:\n  - summary: !\n",
}


@needs_libyaml
@pytest.mark.parametrize("text", DIFFERENT_TEXT.values(), ids=DIFFERENT_TEXT.keys())
def test_where_libyaml_reads_a_text_differently_the_reference_answers(text: str) -> None:
    assert fast_may_differ(text)
    unguarded = outcome(lambda t, p: yamlio.parse_with(t, p, FAST), text)
    assert unguarded != same_answer(text)


@needs_libyaml
@pytest.mark.parametrize("text", DIFFERENT_EVENTS.values(), ids=DIFFERENT_EVENTS.keys())
def test_where_libyaml_reads_a_value_differently_the_reference_answers(text: str) -> None:
    with pytest.raises(Unsure):
        yamlio.parse_with(text, "p.yaml", FAST)
    alone = yaml.load(text, Loader=FAST)
    answer = same_answer(text)
    assert answer[0] == "problems" or answer[1] != repr(alone), answer


@needs_libyaml
def test_libyaml_reads_the_shipped_packs_and_agrees() -> None:
    """The point of it all: shipped and benchmark packs go libyaml's way, to the same result."""
    for path in [*ROOT.glob("rules/*.yaml"), *ROOT.glob("bench/rules/*/pack.yaml")]:
        text = path.read_text("utf-8")
        assert _libyaml_reads(text), path
        fast = yamlio.parse_with(text, str(path), FAST)
        pure = reference(text, str(path))
        assert (fast.data, fast.lines) == (pure.data, pure.lines), path


@needs_libyaml
def test_libyaml_words_problems_differently_which_is_why_the_reference_reports_them() -> None:
    differ = 0
    for path in sorted(BAD.glob("*.yaml")):
        text = path.read_text("utf-8", errors="replace")
        try:
            ours = outcome(lambda t, p: yamlio.parse_with(t, p, FAST), text)
        except Unsure:
            continue
        differ += ours != outcome(reference, text)
        assert outcome(yamlio.parse, text) == outcome(reference, text), path
    assert differ >= 5, "libyaml now words every problem as PyYAML does; the fallback could go"


# --- without libyaml ------------------------------------------------------------------------------

_MESSAGES = """
import json, sys, yaml
if sys.argv[1] == "pure":
    del yaml.CSafeLoader  # as on a machine whose PyYAML was built without libyaml
from pathlib import Path
from engine.packs import yamlloaders
from engine.errors import ConfigError
from engine.packs.loader import load
assert (yamlloaders.FAST is None) == (sys.argv[1] == "pure")
out = {}
for target in sorted(Path("tests/bad_packs").iterdir()):
    if target.suffix == ".expect":
        continue
    try:
        out[target.name] = [str(p) for p in load([target]).problems]
    except ConfigError as exc:
        out[target.name] = [str(p) for p in exc.problems]
print(json.dumps(out))
"""


def _messages(mode: str) -> dict[str, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _MESSAGES, mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found: dict[str, list[str]] = json.loads(done.stdout)
    return found


@needs_libyaml
def test_without_libyaml_every_bad_pack_gets_the_same_messages() -> None:
    pure, fast = _messages("pure"), _messages("fast")
    assert len(pure) >= 45 and all(pure.values())
    assert pure == fast
