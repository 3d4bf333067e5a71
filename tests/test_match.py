"""The matcher: hyperscan prefilter, pure-Python path and a naive loop agree hit for hit."""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from engine.match import cache as hscache
from engine.match import charsets
from engine.match import prefilter as hsmatch
from engine.match.exact import exact
from engine.match.matcher import Matcher
from engine.match.prefilter import accelerated
from engine.packs.rule import Pattern, source_matches

ROOT = Path(__file__).resolve().parent.parent
SCALE = float(os.environ.get("RLSWARM_PROPERTY_SCALE", "1"))
needs_hyperscan = pytest.mark.skipif(not hsmatch.available(), reason="hyperscan not installed")

Key = tuple[int, int, tuple[int, int], tuple[str | None, ...], dict[str, str | None]]


def keys(hits: Sequence[Any]) -> list[Key]:
    return [
        (h.line, h.pattern, h.match.span(), h.match.groups(), h.match.groupdict()) for h in hits
    ]


def naive(patterns: Sequence[Pattern], texts: Sequence[str], source: str) -> list[Key]:
    """Every pattern on every line with Python's `re`, in (line, pattern) order."""
    out = []
    for i, text in enumerate(texts):
        for k, p in enumerate(patterns):
            if source_matches(p.stream, source) and (m := p.regex.search(text)):
                out.append((i, k, m.span(), m.groups(), m.groupdict()))
    return out


def check(patterns: Sequence[Pattern], texts: Sequence[str], source: str = "stdout") -> list[Key]:
    """The three paths' hits, asserted equal; returned for further checks."""
    expected = naive(patterns, texts, source)
    fast = accelerated(patterns, hscache.default_dir())
    assert keys(fast.scan(texts, source)) == expected
    assert keys(Matcher(patterns).scan(texts, source)) == expected
    return expected


def pats(*specs: str | tuple[str, int], stream: str | None = None) -> list[Pattern]:
    out = []
    for spec in specs:
        text, flags = (spec, 0) if isinstance(spec, str) else spec
        out.append(Pattern(re.compile(text, flags), stream))
    return out


def lines_hit(found: list[Key], pattern: int = 0) -> list[int]:
    return [line for line, k, *_ in found if k == pattern]


# --- known tricky cases -----------------------------------------------------------------------


@needs_hyperscan
@pytest.mark.parametrize(
    ("pattern", "hit", "miss"),
    [
        ("k", ["5 \u212a", "K", "k"], ["x"]),  # the Kelvin sign folds to k
        ("class", ["CLAſS", "CLASS"], ["clas"]),  # long s folds to s
        ("café", ["CAFÉ", "Café"], ["cafe"]),
        ("ω", ["Ω", "\u2126"], ["w"]),  # Greek capital omega and the ohm sign
        ("i", ["İ", "ı", "I"], ["j"]),
        ("straße", ["STRAẞE", "Straße"], ["STRASSE"]),  # no full case folding in re
        ("[^a-z]", ["5", "-"], ["K", "\u212a", "ſ", "k"]),  # negated set under ignore_case
    ],
)
def test_ignore_case_folds_as_python(pattern: str, hit: list[str], miss: list[str]) -> None:
    found = check(pats((pattern, re.IGNORECASE)), hit + miss)
    assert lines_hit(found) == list(range(len(hit)))


@needs_hyperscan
def test_ascii_flag_folds_ascii_only() -> None:
    found = check(pats(("k", re.IGNORECASE | re.ASCII), r"(?ai)\w+"), ["\u212a", "K", "é"])
    assert lines_hit(found) == [1]
    assert lines_hit(found, 1) == [1]


@needs_hyperscan
def test_word_boundary_next_to_non_ascii_letters() -> None:
    texts = ["énan", "nané", "→nan←", "nan", "café!", "cafés", "x café"]
    found = check(pats(r"\bnan\b", r"\bcafé\b", r"\Bnan"), texts)
    assert lines_hit(found) == [2, 3]
    assert lines_hit(found, 1) == [4, 6]
    assert lines_hit(found, 2) == [0]


@needs_hyperscan
def test_unicode_digits_and_spaces() -> None:
    texts = ["step ٣٤", "step 12", "step ५", "a\x1cb", "a\u00a0b", "a\u2028b", "stepx"]
    found = check(pats(r"step (?P<n>\d+)", r"step [0-9]", r"a\sb", r"a\Sb"), texts)
    assert lines_hit(found) == [0, 1, 2]
    assert found[0][4] == {"n": "٣٤"}
    assert lines_hit(found, 1) == [1]
    assert lines_hit(found, 2) == [3, 4, 5]  # Python's \s includes \x1c, NBSP, U+2028
    assert lines_hit(found, 3) == []


@needs_hyperscan
def test_lookarounds_and_backreferences_are_widened_then_confirmed() -> None:
    patterns = pats(
        r"error(?!: ignored)", r"(?<=loss=)(?P<v>\d+)", r"\b(\w+) \1\b", r"(a|b)(?(1)c)"
    )
    texts = ["error: ignored", "error: real", "loss=3", "gain=3", "the the", "the cat", "bc"]
    found = check(patterns, texts)
    assert lines_hit(found) == [1]
    assert lines_hit(found, 1) == [2]
    assert lines_hit(found, 2) == [4]
    assert lines_hit(found, 3) == [6]
    # all four go through hyperscan
    assert accelerated(patterns, hscache.default_dir()).fallback == ()


@needs_hyperscan
@pytest.mark.skipif(sys.version_info < (3, 11), reason="atomic groups and possessive repeats")
def test_atomic_groups_and_possessive_repeats_are_widened_then_confirmed() -> None:
    patterns = pats(r"(?>a+)a", r"x*+x", r"(?>ab|a)c")
    found = check(patterns, ["aaa", "xxx", "ac", "abc"])
    assert [(line, k) for line, k, *_ in found] == [(2, 2), (3, 2)]
    assert accelerated(patterns, hscache.default_dir()).fallback == ()


@needs_hyperscan
def test_nullable_patterns_fall_back_to_python() -> None:
    patterns = pats(r"^$", r"x*", r"(?=ERROR)", r"\b", r"(?:ab)?", r"ERROR")
    texts = ["", "ERROR here", "---", "xx"]
    found = check(patterns, texts)
    assert lines_hit(found) == [0]
    assert lines_hit(found, 1) == [0, 1, 2, 3]
    assert lines_hit(found, 2) == [1]
    assert lines_hit(found, 3) == [1, 3]
    assert accelerated(patterns, hscache.default_dir()).fallback == (0, 1, 2, 3, 4)


@needs_hyperscan
def test_large_bounded_repeats_are_widened_not_compiled_for_minutes() -> None:
    patterns = pats(r"(?:\w{2,60}\s){40}x", r"x[^y]{100,1000}y", r"a{3,20000}b", "={80}")
    texts = ["ab " * 40 + "x", "x" + "z" * 999 + "y", "aaab", "aab", "=" * 80, "=" * 79, "xzy"]
    found = check(patterns, texts)
    assert [(line, k) for line, k, *_ in found] == [(0, 0), (1, 1), (2, 2), (4, 3)]
    assert accelerated(patterns, hscache.default_dir()).fallback == ()


@needs_hyperscan
def test_what_hyperscan_rejects_goes_to_prefilter_mode_or_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = hsmatch._compile

    def picky(expressions: Sequence[hsmatch.Expression]) -> Any:
        if any("qqq" in text for _, text, _ in expressions):
            raise hsmatch._hs.error("rejected for the test")
        return real(expressions)

    monkeypatch.setattr(hsmatch, "_compile", picky)
    patterns = pats(r"x[^y]{100}", "qqq", "ok")
    prefilter = hsmatch.Prefilter([p.regex for p in patterns])
    assert prefilter.fallback == (1,)
    assert [(k, flags) for k, _, flags in prefilter.expressions] == [
        (0, hsmatch._hs.HS_FLAG_PREFILTER),  # hyperscan cannot build this tail exactly
        (2, 0),
    ]
    found = check(patterns, ["x" + "z" * 100, "x" + "z" * 99, "aqqq", "ok"])
    assert [(line, k) for line, k, *_ in found] == [(0, 0), (2, 1), (3, 2)]


@needs_hyperscan
def test_matches_across_the_join_are_not_hits() -> None:
    patterns = pats(r"foo\sbar", r"foo[^x]+bar", ("foo.bar", re.DOTALL), r"o$\n^b", r"\Abar")
    texts = ["xx foo", "bar yy", "foo bar"]
    found = check(patterns, texts)
    assert [(line, k) for line, k, *_ in found] == [(1, 4), (2, 0), (2, 1), (2, 2)]


@needs_hyperscan
def test_a_match_ending_on_the_newline_between_lines_shifts_nothing() -> None:
    found = check(pats(r"error\s", "fine"), ["an error", "fine", "error here", "x", "fine"])
    assert [(line, k) for line, k, *_ in found] == [(1, 1), (2, 0), (4, 1)]


@needs_hyperscan
def test_lines_holding_newlines_are_scanned_whole() -> None:
    patterns = pats(r"foo\sbar", r"^bar", (r"^bar", re.MULTILINE), r"abc$", r"ab\Z", "z")
    texts = ["foo\nbar", "abc\n", "ab\n", "z\nz\nz", "é\nz"]
    found = check(patterns, texts)
    assert [(line, k) for line, k, *_ in found] == [(0, 0), (0, 2), (1, 3), (3, 5), (4, 5)]


@needs_hyperscan
def test_lone_surrogates_take_the_python_path() -> None:
    texts = ["ok \udcff error", "error", "\udcfe"]
    found = check(pats("error", r"\W"), texts)
    assert [(line, k) for line, k, *_ in found] == [(0, 0), (0, 1), (1, 0), (2, 1)]


def test_stream_filters() -> None:
    patterns = [*pats("error"), *pats("error", stream="stderr"), *pats("error", stream="*.log")]
    for source in ("stdout", "stderr", "/runs/train.log"):
        check(patterns, ["an error", "fine"], source)
    assert lines_hit(check(patterns, ["error"], "stderr"), 1) == [0]
    assert lines_hit(check(patterns, ["error"], "/runs/train.log"), 2) == [0]
    assert check(patterns, ["error"], "stdout") == [(0, 0, (0, 5), (), {})]


def test_hits_ordered_by_line_then_pattern() -> None:
    patterns = pats("b", "a", "^", "ab")
    found = check(patterns, ["ab", "x", "ba"])
    assert [(line, k) for line, k, *_ in found] == [
        (0, 0), (0, 1), (0, 2), (0, 3), (1, 2), (2, 0), (2, 1), (2, 2),
    ]  # fmt: skip


def test_without_hyperscan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hsmatch, "_hs", None)
    patterns = pats("error", r"\d+")
    matcher = accelerated(patterns, hscache.default_dir())
    assert not matcher.accelerated
    assert matcher.fallback == (0, 1)
    assert keys(matcher.scan(["error 3", "x"], "stdout")) == naive(patterns, ["error 3", "x"], "")


def test_empty_block_and_no_patterns() -> None:
    assert accelerated(pats("a"), hscache.default_dir()).scan([], "stdout") == []
    assert accelerated([], hscache.default_dir()).scan(["a"], "stdout") == []


@needs_hyperscan
def test_bench_rules_all_go_through_hyperscan() -> None:
    import yaml

    for size in (10, 40, 200):
        pack = yaml.safe_load((ROOT / "bench" / "rules" / f"r{size}" / "pack.yaml").read_text())
        patterns = [
            Pattern(re.compile(r["log"], re.IGNORECASE if r.get("ignore_case") else 0))
            for r in pack["rules"]
        ]
        assert accelerated(patterns, hscache.default_dir()).fallback == ()


def test_case_folding_only_widens_to_cased_characters() -> None:
    """`char_set` asks Python about the characters of `charsets.cased()` only: every
    character that `re`'s ignore_case relates to another must be among them."""
    sre: Any = pytest.importorskip("_sre")
    compiler: Any = getattr(re, "_compiler", None) or pytest.importorskip("sre_compile")
    cased = set(map(ord, charsets.cased()))
    for code in range(0x110000):
        if sre.unicode_iscased(code):  # it has another simple case
            assert code in cased, hex(code)
        lower = sre.unicode_tolower(code)  # what `re` compares under ignore_case
        if lower != code:
            assert lower in cased, hex(code)
    fixes = getattr(compiler, "_ignorecase_fixes", {})
    assert {c for k, v in fixes.items() for c in (k, *v)} <= cased


# --- the property: random rules over random lines ----------------------------------------------

WORDS = [
    "ERROR", "error", "Error", "loss", "nan", "NaN", "inf", "CUDA", "step", "peer", "Killed",
    "café", "CAFÉ", "straße", "STRAẞE", "ſ", "\u212a", "K", "İ", "ı", "ω", "Ω",
    "错误", "训练", "🔥", "✅", "٣", "٤٥", "12", "3.5", "0", "_", "-", ":", "=", "'", "[", "]",
    "(", ")", ".", "/", " ", "  ", "\t", "\x1c", "\u00a0", "é", "É", "ß",
]  # fmt: skip
LINE_CHARS = "aeiklnorsEIKLNORS0123456789 _-:.,'=/[]()\x00\réÉßſ\u212aİıωΩ错误🔥٣\t\x1c\u00a0"

NON_ASCII_WORDS = [
    "错误",
    "训练",
    "🔥",
    "✅",
    "٣",
    "٤٥",
    "é",
    "ß",
    "Ω",
    "ſ",
    "\u212a",
    "İ",
    "\u00a0",
]
lines = st.one_of(
    st.lists(st.sampled_from(WORDS) | st.text(LINE_CHARS, max_size=4), max_size=8),
    st.lists(st.sampled_from(NON_ASCII_WORDS), max_size=4),  # nothing ASCII to fall back on
).map("".join)
block = st.lists(lines, min_size=1, max_size=12)

LITERALS = [
    "ERROR", "error", "loss", "nan", "inf", "step", "café", "straße", "ſ", "k", "ω", "i",
    "错误", "🔥", "٣", "12", "0", ": ", "=", "'", r"\[", r"\]", r"\.", "/", " ", "-",
]  # fmt: skip
CLASSES = [
    r"\d", r"\w", r"\s", r"\D", r"\W", r"\S", ".", "[a-z]", "[A-Z]", "[0-9]", "[^ ]",
    r"[\w.]", r"[^\d\s]", "[éa-c]", "[\u4e00-\u9fff]", "[^a-z]", r"[\d.]", "[Kk]",
]  # fmt: skip
ZERO_WIDTH = [r"\b", r"\B", "^", "$", r"\A", r"\Z", "(?=e)", "(?!e)", "(?<=:)", "(?<!x)"]
QUANTIFIERS = ["", "", "+", "*", "?", "{1,3}", "{2}", "+?", "*?"]


def regexes() -> st.SearchStrategy[str]:
    """Realistic rules, two levels deep: pieces, and groups of pieces."""
    atom = st.sampled_from(LITERALS) | st.sampled_from(CLASSES)
    quantified = st.builds(
        lambda a, q: f"(?:{a}){q}" if q else a, atom, st.sampled_from(QUANTIFIERS)
    )
    piece = quantified | st.sampled_from(ZERO_WIDTH)
    inner = st.lists(piece, min_size=1, max_size=3).map("".join)
    item = (
        piece
        | st.builds(lambda a, b: f"(?:{a}|{b})", inner, inner)
        | st.builds(lambda a: f"(?:{a})?", inner)
        | st.builds(lambda a: f"(?P<g>{a})", inner)
        | st.builds(lambda a: f"({a})", inner)
    )
    body = st.lists(item, min_size=0, max_size=3).map("".join)
    solid = st.builds(lambda a, q: f"(?:{a}){q}", atom, st.sampled_from(["", "+", "{2}"]))
    # mostly around something that must match, or hyperscan would see many nullable rules
    anchored = st.builds(lambda a, s, b: a + s + b, body, solid, body)
    rule = st.one_of(anchored, anchored, anchored, body)
    edges = st.sampled_from(["", "", "^", r"\A"]), st.sampled_from(["", "", "$", r"\Z"])
    return st.builds(lambda a, r, b: a + r + b, edges[0], rule, edges[1]).map(_name_groups)


def _name_groups(text: str) -> str:
    names = iter(range(1000))
    return re.sub(r"\(\?P<g>", lambda _: f"(?P<g{next(names)}>", text)


FLAG_CHOICES = [0, 0, 0, re.IGNORECASE, re.IGNORECASE, re.ASCII, re.DOTALL, re.MULTILINE]


@st.composite
def rule_sets(draw: st.DrawFn) -> list[Pattern]:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        text, flags = draw(regexes()), draw(st.sampled_from(FLAG_CHOICES))
        try:
            regex = re.compile(text, flags)
        except re.error:
            continue
        stream = draw(st.sampled_from([None, None, None, "stdout", "stderr", "*.log"]))
        out.append(Pattern(regex, stream))
    return out


@needs_hyperscan
@settings(
    deadline=None,
    max_examples=round(300 * SCALE),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(rule_sets(), block, st.sampled_from(["stdout", "stderr", "/r/train.log"]))
def test_fast_fallback_and_naive_agree(
    patterns: list[Pattern], texts: list[str], source: str
) -> None:
    found = check(patterns, texts, source)
    fallback = len(accelerated(patterns, hscache.default_dir()).fallback)
    share = "all" if not fallback else "none" if fallback == len(patterns) else "some"
    event(f"patterns through hyperscan: {share}")
    event("some hit" if found else "no hit")


@needs_hyperscan
@settings(deadline=None, max_examples=round(100 * SCALE))
@given(rule_sets(), st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join))
def test_each_line_alone_and_in_a_block_agree(patterns: list[Pattern], text: str) -> None:
    """A line gives the same hits alone and amid others (the join adds nothing)."""
    alone = check(patterns, [text])
    amid = check(patterns, ["ERROR 12", text, "loss nan"])
    assert [(k, span) for line, k, span, *_ in amid if line == 1] == [
        (k, span) for _, k, span, *_ in alone
    ]


# --- raw bytes, validity, the compiled-database cache -------------------------------------


@needs_hyperscan
@settings(deadline=None, max_examples=round(200 * SCALE))
@given(rule_sets(), block)
def test_candidates_in_raw_bytes_cover_every_hit(patterns: list[Pattern], texts: list[str]) -> None:
    """The raw-bytes scan replay's fast path uses names every line that has a hit, even with
    empty lines between (a `\\r` becomes one), and `confirm` finds exactly the hits."""
    expected = naive(patterns, texts, "stdout")
    flat = "\n\n".join(texts).encode() + b"\n"
    starts = [0]
    for text in texts[:-1]:
        starts.append(starts[-1] + len(text.encode()) + 2)
    matcher = accelerated(patterns, hscache.default_dir())
    assume(matcher.covers("stdout"))
    found = matcher.candidates(flat)
    assert found is not None
    line_of = {start: i for i, start in enumerate(starts)}
    pairs = sorted({(line_of[s], k) for s, k in found if s in line_of})
    assert {(i, k) for i, k, *_ in expected} <= set(pairs)
    assert keys(matcher.confirm(texts, pairs, "stdout")) == expected


@given(st.binary(max_size=40).map(lambda b: b + b"\n"))
def test_valid_utf8_is_what_the_decoder_accepts(data: bytes) -> None:
    try:
        data.decode("utf-8")
        decodes = True
    except UnicodeDecodeError:
        decodes = False
    assert hsmatch.valid_utf8(data) is decodes


@given(st.lists(st.sampled_from([b"a", b"\n", b"\r", b"\n\n", b"\xc3\xa9"]), max_size=30))
def test_newline_pairs_counts_adjacent_newlines(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert hsmatch.newline_pairs(data) == sum(
        1 for a, b in itertools.pairwise(data) if a == b == 10
    )


@needs_hyperscan
def test_a_compiled_database_is_kept_and_loaded_back(tmp_path: Path) -> None:
    found = pats(r"ERROR (\d+)", (r"cuda out of memory", re.I), "\\bnan\\b")
    regexes = tuple(p.regex for p in found)
    texts = ["ERROR 12", "CUDA Out Of Memory", "loss nan", "ok"]
    first = hsmatch.Prefilter(regexes, cache=tmp_path)
    (kept,) = tmp_path.glob("*.hsdb")
    second = hsmatch.Prefilter(regexes, cache=tmp_path)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert first.candidates(texts) == second.candidates(texts) == [(0, 0), (1, 1), (2, 2)]
    kept.write_bytes(b"not a database")  # damaged (or from another hyperscan): compiled again
    third = hsmatch.Prefilter(regexes, cache=tmp_path)
    assert not third.from_cache and third.candidates(texts) == [(0, 0), (1, 1), (2, 2)]
    assert hsmatch.Prefilter(regexes, cache=tmp_path).from_cache


def test_the_cache_directory_follows_the_environment(tmp_path: Path) -> None:
    assert hscache.default_dir({"RLSWARM_CACHE": "off"}) is None
    assert hscache.default_dir({"RLSWARM_CACHE": str(tmp_path)}) == tmp_path
    assert hscache.default_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "rlswarm-rules"


@needs_hyperscan
def test_the_cache_keeps_only_the_newest_databases(tmp_path: Path) -> None:
    for i in range(hscache.KEEP + 5):
        old = tmp_path / f"{i:032d}.hsdb"
        old.write_bytes(b"x")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    hsmatch.Prefilter((re.compile("ERROR"),), cache=tmp_path)
    kept = sorted(p.name for p in tmp_path.glob("*.hsdb"))
    assert len(kept) == hscache.KEEP and f"{0:032d}.hsdb" not in kept


@needs_hyperscan
def test_the_translation_is_kept_too_and_matches_a_fresh_one(tmp_path: Path) -> None:
    found = pats(r"ERROR (\d+)", (r"straße", re.I), r"(?<=x)y", "a*")
    regexes = tuple(p.regex for p in found)
    first = hsmatch.Prefilter(regexes, cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    second = hsmatch.Prefilter(regexes, cache=tmp_path)
    fresh = hsmatch.Prefilter(regexes)
    assert first.expressions == second.expressions == fresh.expressions
    assert first.fallback == second.fallback == fresh.fallback == (3,)
    texts = ["ERROR 7", "STRASSE", "xy", "ok"]
    assert second.candidates(texts) == fresh.candidates(texts)


# --- the `regex` module runs what `re` means (engine.match.exact) -------------------------------

EDGES = [
    (r"\d", 0, "\U00010d40"),  # a digit newer than this Python's Unicode: not one for `re`
    (r"\w+", 0, "\u0558x"),  # ditto, a letter
    (r"\W", 0, "\u0558"),
    (r"\s", 0, "a\x1cb"),  # `re`'s \s has the information separators, the `regex` module's not
    (r"\S+", 0, "\x1c\x1fz"),
    (r"[\s\d]+", 0, "\x1d 12"),
    (r"i", re.I, "İ"),
    (r"ı", re.I, "I"),
    (r"İ", re.I, "i"),
    (r"s", re.I, "ſ"),
    (r"k", re.I, "\u212a"),
    (r"ß", re.I, "SS"),  # simple case folding only: no match in either
    (r"(?i)straße", 0, "STRAẞE"),
    (r"\B", 0, ""),
    (r"\b", 0, ""),
    (r"^$", 0, ""),
    (r"x\B", 0, "x"),
    (r"\bé\b", 0, " é "),
    (r"a$", 0, "a\n"),
    (r"a\Z", 0, "a\n"),
    (r"(?m)^b$", 0, "a\nb\nc"),
    (r"(?s).+", 0, "a\nb"),
    (r".+", 0, "a\nb"),
    (r"(a|B)\1", re.I, "Ab"),
    (r"(?P<w>\w+) (?P=w)", 0, "loss loss"),
    (r"(?i:(a))(?-i:\1)", 0, "Aa"),
    (r"(<)?x(?(1)>|$)", 0, "<x>"),
    (r"(<)?x(?(1)>|$)", 0, "x"),
    (r"(?>a+)ab", 0, "aaab"),
    (r"a++b", 0, "aab"),
    (r"a{2,}?", 0, "aaaa"),
    (r"\w+", re.A, "café"),
    (r"[^\W\d]+", 0, "x1é٣"),
    (r"[^a-z]", re.I, "K"),
    (r"\x00|\n|\\", 0, "a\\b"),
    (r"[\]\-^]+", 0, "a]-^b"),
]


@pytest.mark.parametrize(("pattern", "flags", "text"), EDGES)
def test_exact_matches_what_re_matches(pattern: str, flags: int, text: str) -> None:
    compiled = re.compile(pattern, flags)
    ours, theirs = exact(compiled).search(text), compiled.search(text)
    assert (ours is None) == (theirs is None)
    if ours and theirs:
        assert (ours.span(), ours.groups(), ours.groupdict()) == (
            theirs.span(),
            theirs.groups(),
            theirs.groupdict(),
        )


def test_exact_agrees_on_every_character_of_the_big_classes() -> None:
    """`\\d \\w \\s` and their complements, with and without ASCII, on every code point: the
    full writing everywhere, the fast one wherever it is used (no character of `differ`)."""
    chars = charsets.all_chars()
    sources = (r"\d", r"\D", r"\w", r"\W", r"\s", r"\S", r"[\w\s]", r"[^\d_]", r"\b.", r"\B.")
    for source in sources:
        for flags in (0, re.ASCII, re.IGNORECASE):
            compiled = re.compile(f"(?:{source})+", flags)
            ours = exact(compiled)
            assert not charsets.intersect(ours.differ, charsets.ASCII)
            full = [m.span() for m in ours.full.finditer(chars)]
            assert full == [m.span() for m in compiled.finditer(chars)], (source, flags)
            skip = {chr(c) for lo, hi in ours.differ for c in range(lo, hi + 1)}
            rest = "".join(c for c in chars if c not in skip) if skip else chars
            fast = [m.span() for m in ours.fast.finditer(rest)]
            assert fast == [m.span() for m in compiled.finditer(rest)], (source, flags)


def with_references() -> st.SearchStrategy[str]:
    """`regexes()`, with a back reference or a conditional on a group before it."""
    return st.builds(
        lambda a, tail: f"({a}){tail}",
        regexes(),
        st.sampled_from([r"\1", r"(?i:\1)", r" ?\1", r"(?(1)x|y)", r"(?(1):)"]),
    )


@settings(deadline=None, max_examples=round(300 * SCALE))
@given(
    regexes() | with_references(),
    st.sampled_from(FLAG_CHOICES),
    st.lists(lines, min_size=1, max_size=4),
)
def test_exact_agrees_with_re_on_random_rules(text: str, flags: int, texts: list[str]) -> None:
    try:
        compiled = re.compile(text, flags)
    except re.error:
        assume(False)
        return
    translated = exact(compiled)
    for line in texts:
        ours, theirs = translated.search(line), compiled.search(line)
        assert (ours is None) == (theirs is None), (text, line)
        if ours and theirs:
            assert (ours.span(), ours.groups(), ours.groupdict()) == (
                theirs.span(),
                theirs.groups(),
                theirs.groupdict(),
            )
