"""The pipeline's chunk path: batches and the fast way give what feeding chunk by chunk gives.

The reference is the plain loop the pipeline used to run: each chunk split into lines, all
of them at the chunk's time, one `feed_lines` per chunk. The pipeline under test gets the
same chunks queued up front (so its batches are deterministic) and evaluates them in its
own thread; with `sparse_bytes` small, most chunks go the fast way (`engine.logs.skim`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import pytest
from histories import compile_pack
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_skim import BODIES, ENDINGS, PACK, stamp

from engine.core.engine import Engine
from engine.core.sparse import Lazy
from engine.logs.lines import Splitter
from engine.logs.skim import Lookout
from engine.match import prefilter as hsmatch
from engine.match.prefilter import accelerated
from engine.model import Decision, Event, LineBlock, Observation
from engine.supervise.pipeline import Pipeline

SCALE = float(os.environ.get("RLSWARM_PROPERTY_SCALE", "1"))
RULES = compile_pack(PACK)
END = 99_999.0  # the pipeline's clock: the time its last, unterminated lines get at the end


class Sink:
    def __init__(self) -> None:
        self.sent: list[Decision] = []

    def send(self, decision: Decision) -> None:
        self.sent.append(decision)


def reference(chunks: Sequence[tuple[str, float, bytes]]) -> tuple[list[Decision], int]:
    engine = Engine(RULES, host="h", project="p")
    splitters: dict[str, Splitter] = {}
    out: list[Decision] = []
    lines = 0
    for source, t, data in chunks:
        splitter = splitters.setdefault(source, Splitter())
        texts, numbers = splitter.feed(data) if data else splitter.flush()  # b"": it ended
        if texts:
            lines += len(texts)
            out += engine.feed_lines(LineBlock(source, texts, [t] * len(texts), numbers))
    for source, splitter in splitters.items():
        texts, numbers = splitter.flush()
        if texts:
            lines += len(texts)
            out += engine.feed_lines(LineBlock(source, texts, [END] * len(texts), numbers))
    return out, lines


def pipeline(
    chunks: Sequence[tuple[str, float, bytes]], sparse_bytes: int
) -> tuple[Pipeline, list[Decision], list[tuple[Observation | LineBlock, list[Decision]]]]:
    seen: list[tuple[Observation | LineBlock, list[Decision]]] = []
    decided: list[Decision] = []

    def observe(cause: Observation | LineBlock, decisions: list[Decision]) -> None:
        seen.append((cause, decisions))
        decided.extend(decisions)

    engine = Engine(RULES, host="h", project="p")
    lookout = Lookout(accelerated(RULES.patterns, None), RULES.silence_gap, RULES.context)
    pipe = Pipeline(
        engine, [Sink()], lambda _: None, lambda *_: None, lambda: END,
        verbose=False, observer=observe, batch=0.0, sparse_bytes=sparse_bytes, lookout=lookout,
    )  # fmt: skip
    for chunk in chunks:
        pipe.post_chunk(*chunk)
    pipe.start()
    pipe.stop()
    return pipe, decided, seen


@st.composite
def chunked_logs(draw: st.DrawFn) -> list[tuple[str, float, bytes]]:
    data = b""
    t = 1_751_900_000.0
    for _ in range(draw(st.integers(1, 120))):
        t += draw(st.sampled_from([0.0, 0.3, 5.0, 400.0, 2000.0]))
        body = draw(st.sampled_from(BODIES)).format(n=draw(st.integers(0, 12)))
        line = stamp(draw(st.integers(0, 15)), t - 1_735_689_600.0) + body
        data += line.encode() + draw(st.sampled_from(ENDINGS)).encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    chunks, now = [], t
    for piece in pieces:
        now += draw(st.sampled_from([0.001, 0.5, 3600.0]))
        source = draw(st.sampled_from(["stdout", "stdout", "stderr"]))
        chunks.append((source, now, piece))
    return chunks


@pytest.mark.skipif(not hsmatch.available(), reason="hyperscan not installed")
@settings(
    max_examples=int(150 * SCALE),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(chunks=chunked_logs(), sparse_bytes=st.sampled_from([1, 64, 1 << 30]))
def test_batches_and_the_fast_way_decide_as_chunk_by_chunk(
    chunks: list[tuple[str, float, bytes]], sparse_bytes: int
) -> None:
    expected, lines = reference(chunks)
    pipe, decided, seen = pipeline(chunks, sparse_bytes)
    assert decided == expected
    assert pipe.tally.lines == lines
    assert sum(len(c.texts) for c, _ in seen if isinstance(c, LineBlock)) == lines
    assert pipe.tally.internal_errors == 0
    fast = any(isinstance(c, LineBlock) and isinstance(c.texts, Lazy) for c, _ in seen)
    event(f"the fast way taken: {fast}")


def test_a_flood_read_is_fed_without_splitting_and_seen_whole() -> None:
    lines = [f"step {i:07d} loss=0.{i % 9973:04d} ok" for i in range(20_000)]
    flood = ("\n".join(lines) + "\nCUDA out of memory. Tried to allocate 2.00 GiB\n").encode()
    chunks = [
        ("stdout", 1_751_900_000.0 + i, flood[i * 65536 : (i + 1) * 65536]) for i in range(12)
    ]
    pipe, decided, seen = pipeline(chunks, 16 * 1024)
    expected, count = reference(chunks)
    assert decided == expected and count == 20_001 == pipe.tally.lines
    assert list(pipe.last_lines)[-1] == "CUDA out of memory. Tried to allocate 2.00 GiB"
    blocks = [c for c, _ in seen if isinstance(c, LineBlock)]
    assert sum(isinstance(b.texts, Lazy) for b in blocks) >= 8  # the reads went the fast way
    assert sum(len(b.texts) for b in blocks) == 20_001
    assert [t for b in blocks for t in b.texts] == [*lines, list(pipe.last_lines)[-1]]


def test_observations_keep_their_place_between_batched_chunks() -> None:
    """An exit posted between two chunks sees the first chunk's lines, not the second's."""
    engine = Engine(RULES, host="h", project="p")
    exits: list[str] = []

    def observe(cause: Observation | LineBlock, _: list[Decision]) -> None:
        if isinstance(cause, Event) and cause.name == "exit":
            exits.append(str(cause.fields["last_lines"]))

    pipe = Pipeline(
        engine, [], lambda _: None, lambda *_: None, time.time, observer=observe, batch=0.0
    )
    pipe.post_chunk("stdout", 1.0, b"first\n")
    pipe.post(Event(2.0, "exit", {"code": 1}))
    pipe.post_chunk("stdout", 3.0, b"second\n")
    pipe.start()
    pipe.stop()
    assert exits == ["first"]


def test_a_line_after_a_quiet_spell_is_evaluated_at_once_a_trickle_together() -> None:
    sink = Sink()
    engine = Engine(RULES, host="h", project="p")
    seen: list[int] = []

    def observe(cause: Observation | LineBlock, _: list[Decision]) -> None:
        if isinstance(cause, LineBlock):
            seen.append(len(cause.texts))

    pipe = Pipeline(
        engine, [sink], lambda _: None, lambda *_: None, time.time, observer=observe, batch=0.2
    )
    pipe.start()
    written = time.monotonic()
    pipe.post_chunk("stdout", time.time(), b"HIT 1\n")
    while not sink.sent and time.monotonic() - written < 5:
        time.sleep(0.001)
    alone = time.monotonic() - written
    for i in range(5):  # within the rest after the first: taken together
        pipe.post_chunk("stdout", time.time(), b"HIT %d\n" % (i + 2))
    time.sleep(0.5)
    pipe.stop()
    assert alone < 0.1, alone  # not held for the 0.2 s rest
    assert len(sink.sent) == 6 and seen == [1, 5]
