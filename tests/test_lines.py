"""The Splitter: bytes in arbitrary chunks -> line segments, the same whatever the chunking."""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Sequence

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.logs.lines import DEFAULT_MAX_LINE, Splitter, strip_ansi, strip_ansi_bytes

Segments = tuple[list[str], list[int]]


def feed_all(chunks: Sequence[bytes], max_line: int = DEFAULT_MAX_LINE) -> tuple[Segments, int]:
    """Every segment from feeding `chunks` one by one then flushing, and the dropped bytes."""
    splitter = Splitter(max_line=max_line)
    texts: list[str] = []
    numbers: list[int] = []
    for chunk in chunks:
        t, n = splitter.feed(chunk)
        texts += t
        numbers += n
    t, n = splitter.flush()
    return (texts + t, numbers + n), splitter.dropped_bytes


def cut(data: bytes, positions: Sequence[int]) -> list[bytes]:
    """`data` split at the given byte positions (any order, duplicates allowed)."""
    edges = [0, *sorted({p for p in positions if 0 < p < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def oracle(data: bytes) -> Segments:
    """An independent statement of the rules for lines shorter than max_line."""
    lines = data.split(b"\n")
    texts: list[str] = []
    numbers: list[int] = []
    for no, raw in enumerate(lines, start=1):
        for part in raw.decode("utf-8", errors="replace").split("\r"):
            part = strip_ansi(part)
            if part:
                texts.append(part)
                numbers.append(no)
    return texts, numbers


# --- table tests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "texts", "numbers"),
    [
        (b"one\ntwo\n", ["one", "two"], [1, 2]),
        (b"one\r\ntwo\r\n", ["one", "two"], [1, 2]),
        (b"a\rb\rc\n", ["a", "b", "c"], [1, 1, 1]),
        (b"head\na\rb\rc\ntail\n", ["head", "a", "b", "c", "tail"], [1, 2, 2, 2, 3]),
        (b"\n\n\nx\n", ["x"], [4]),
        (b"\r\r\n\rx\r\n", ["x"], [2]),
        (b"\x1b[32mgreen\x1b[0m\n", ["green"], [1]),
        (b"\x1b[1;31;40mbold red\x1b[m\n", ["bold red"], [1]),
        (b"\x1b[2K\x1b[1A\x1b[?25lcursor\x1b[?25h\n", ["cursor"], [1]),
        (b"\x1b]0;window title\x07text\n", ["text"], [1]),
        (b"\x1b]2;title\x1b\\text\n", ["text"], [1]),
        (b"\x1b[2K\n", [], []),
        (b"\xff\xfe bad\n", ["\ufffd\ufffd bad"], [1]),
        (b"caf\xc3\xa9 \xe2\x82\xac\n", ["café €"], [1]),
        (b"truncated \xe2\x82\n", ["truncated \ufffd"], [1]),
        (b"no newline at end", ["no newline at end"], [1]),
    ],
)
def test_segments_table(data: bytes, texts: list[str], numbers: list[int]) -> None:
    assert feed_all([data]) == ((texts, numbers), 0)
    assert feed_all(bytewise(data)) == ((texts, numbers), 0)


def test_crlf_split_between_cr_and_lf_gives_no_empty_segment() -> None:
    splitter = Splitter()
    assert splitter.feed(b"first\r") == (["first"], [1])  # a redraw is seen when drawn
    assert splitter.feed(b"\nsecond\r") == (["second"], [2])
    assert splitter.feed(b"\n") == ([], [])
    assert splitter.flush() == ([], [])


def test_tqdm_redraws_share_the_line_number() -> None:
    splitter = Splitter()
    assert splitter.feed(b"before\n") == (["before"], [1])
    assert splitter.feed(b" 10%|#  \r 50%|#####  \r100%|##########\n") == (
        [" 10%|#  ", " 50%|#####  ", "100%|##########"],
        [2, 2, 2],
    )
    assert splitter.feed(b"after\n") == (["after"], [3])


def test_multibyte_character_split_across_chunks() -> None:
    data = "π ≈ 3.14159 🙂\n".encode()
    for i in range(1, len(data)):
        assert feed_all([data[:i], data[i:]])[0] == (["π ≈ 3.14159 🙂"], [1]), i


def test_invalid_utf8_never_raises() -> None:
    junk = bytes(range(256)) * 4
    (texts, _), _ = feed_all([junk, b"\n", b"\xc3", b"\n\xed\xa0\x80\n"])
    assert texts
    assert all(isinstance(t, str) for t in texts)


def test_flush_returns_the_unterminated_tail() -> None:
    splitter = Splitter()
    assert splitter.feed(b"done\npart") == (["done"], [1])
    assert splitter.feed(b"ial") == ([], [])
    assert splitter.flush() == (["partial"], [2])
    assert splitter.flush() == ([], [])
    assert splitter.feed(b"again\n") == (["again"], [3])


def test_flush_of_an_unterminated_redraw() -> None:
    splitter = Splitter()
    assert splitter.feed(b"a\rb") == (["a"], [1])
    assert splitter.flush() == (["b"], [1])


def test_first_line_number() -> None:
    splitter = Splitter(first_line_no=41)
    assert splitter.feed(b"x\ny\n") == (["x", "y"], [41, 42])


# --- long lines ------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 10_000])
def test_over_long_line_keeps_head_and_counts_dropped(chunk: int) -> None:
    data = b"0123456789" * 10 + b"\nshort\n" + b"x" * 25 + b"\n"
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    splitter = Splitter(max_line=16)
    texts: list[str] = []
    numbers: list[int] = []
    for c in chunks:
        t, n = splitter.feed(c)
        texts += t
        numbers += n
    assert texts == ["0123456789012345", "short", "x" * 16]
    assert numbers == [1, 2, 3]
    assert splitter.dropped_bytes == (100 - 16) + (25 - 16)
    assert splitter.truncated_lines == 2


def test_over_long_unterminated_line_flushes_its_head() -> None:
    splitter = Splitter(max_line=8)
    assert splitter.feed(b"abcdefghijklmnop") == ([], [])
    assert splitter.flush() == (["abcdefgh"], [1])
    assert splitter.dropped_bytes == 8


def test_fifty_megabyte_line_in_64k_chunks_stays_bounded() -> None:
    chunk = b"y" * (64 * 1024)
    chunks = (50 * 1024 * 1024) // len(chunk)
    splitter = Splitter()
    tracemalloc.start()
    try:
        biggest = 0
        for _ in range(chunks):
            assert splitter.feed(chunk) == ([], [])
            biggest = max(biggest, len(splitter._pending))
        texts, numbers = splitter.feed(b"\nnext line\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert biggest <= splitter.max_line
    assert texts == ["y" * splitter.max_line, "next line"]
    assert numbers == [1, 2]
    assert splitter.dropped_bytes == chunks * len(chunk) - splitter.max_line
    assert splitter.truncated_lines == 1
    assert peak < 8 * splitter.max_line  # a few copies of one line, never the 50 MB


# --- chunking never changes the result (hypothesis) ------------------------------------------

PIECES = [
    "a",
    "b",
    "loss=0.5",
    " ",
    "é",
    "€",
    "🙂",
    "\n",
    "\r",
    "\r\n",
    "\x1b[31m",
    "\x1b[0m",
    "\x1b[2K",
    "\x1b]0;title\x07",
    "\t",
]
texts_strategy = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)
raw_pieces = st.one_of(
    texts_strategy.map(str.encode),
    st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf0\x9f"]),
)
raw_strategy = st.lists(raw_pieces, max_size=8).map(b"".join)
positions = st.lists(st.integers(min_value=0, max_value=400), max_size=20)


@settings(max_examples=400, deadline=None)
@given(text=texts_strategy, where=positions)
@example(text="a\r\nb", where=[2])
@example(text="é\n", where=[1])
@example(text="🙂\r", where=[1, 2, 3])
def test_chunking_does_not_matter_for_text(text: str, where: list[int]) -> None:
    data = text.encode()
    whole = feed_all([data])
    assert feed_all(cut(data, where)) == whole
    assert feed_all(bytewise(data)) == whole
    assert whole == (oracle(data), 0)
    assert "" not in whole[0][0]


@settings(max_examples=300, deadline=None)
@given(data=raw_strategy, where=positions)
def test_chunking_does_not_matter_for_invalid_utf8(data: bytes, where: list[int]) -> None:
    whole = feed_all([data])
    assert feed_all(cut(data, where)) == whole
    assert whole == (oracle(data), 0)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="abcxyz \n", max_size=200),
    where=positions,
    max_line=st.integers(min_value=1, max_value=20),
)
def test_chunking_does_not_matter_for_long_ascii_lines(
    text: str, where: list[int], max_line: int
) -> None:
    data = text.encode()
    whole = feed_all([data], max_line)
    assert feed_all(cut(data, where), max_line) == whole
    assert feed_all(bytewise(data), max_line) == whole
    (texts, _), dropped = whole
    assert all(len(t) <= max_line for t in texts)
    kept = sum(len(line[:max_line]) for line in text.split("\n"))
    assert dropped == len(data) - text.count("\n") - kept


# --- bugs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("ééééééé\n".encode(), id="multibyte"),
        pytest.param(b"aaaa\rbbbb\n", id="redraws"),
        pytest.param(b"\x1b[31maaaaaaaa\x1b[0m\n", id="ansi"),
    ],
)
def test_cap_does_not_depend_on_chunking(data: bytes) -> None:
    max_line = 5 if b"\r" in data else 10
    assert feed_all(bytewise(data), max_line) == feed_all([data], max_line)


def test_cap_is_in_bytes() -> None:
    (texts, _), dropped = feed_all([("é" * 40 + "\n").encode()], 50)
    assert all(len(t.encode()) <= 50 for t in texts)
    assert dropped == 30


def test_redraw_is_returned_when_its_cr_arrives() -> None:
    splitter = Splitter()
    assert splitter.feed(b" 10%|#   | 1/10\r") == ([" 10%|#   | 1/10"], [1])
    assert splitter.feed(b" 20%|##  | 2/10\r") == ([" 20%|##  | 2/10"], [1])


def test_long_progress_bar_keeps_its_latest_redraw() -> None:
    bar = b"".join(b"step %d/2000\r" % i for i in range(1, 2001))
    (texts, _), _ = feed_all([bar[i : i + 4096] for i in range(0, len(bar), 4096)], 1024)
    assert texts[-1] == "step 2000/2000"
    assert len(texts) == 2000


@pytest.mark.parametrize(
    ("seq", "name"),
    [
        ("\x1b[38;5;196m", "256-colour"),
        ("\x1b[38;2;255;0;0m", "true colour"),
        ("\x1b[10;20H", "cursor position"),
        ("\x1b[3A", "cursor up"),
        ("\x1bM", "reverse index"),
        ("\x1b]8;;http://x\x1b\\", "hyperlink"),
        ("\x1b7", "save cursor"),
        ("\x1b(B", "charset (tput sgr0)"),
    ],
)
def test_escape_sequences_are_stripped(seq: str, name: str) -> None:
    assert strip_ansi(f"a{seq}b{seq}") == "ab", name
    assert feed_all([f"x{seq}y\n".encode()])[0] == (["xy"], [1]), name


@given(
    st.lists(st.sampled_from([b"a", b"bb", b"\n", b"\r", b"x" * 9]), max_size=40),
    st.integers(1, 20),
)
def test_fits_is_whether_every_line_is_within_the_cap(parts: list[bytes], cap: int) -> None:
    region = b"".join(parts) + b"\n"
    assert Splitter(max_line=cap).fits(region) == (max(map(len, region.split(b"\n"))) <= cap)


ESCAPES = [
    "\x1b[31m",
    "\x1b[0m",
    "\x1b[1;32m",
    "\x1b(B",
    "\x1b7",
    "\x1b[2K",
    "\x1b]0;t\x07",
    "\x1b",
]


@given(st.lists(st.one_of(st.sampled_from(ESCAPES), st.text(max_size=6)), max_size=12))
def test_stripping_bytes_then_decoding_is_decoding_then_stripping(parts: list[str]) -> None:
    text = "".join(parts)  # hypothesis's text holds no lone surrogates: it encodes
    data = text.encode("utf-8")
    assert strip_ansi_bytes(data).decode("utf-8") == strip_ansi(text)
