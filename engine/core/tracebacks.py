"""Python tracebacks assembled from output lines into one `exception` event each.

The lines come as hits of `TRACEBACK_PATTERNS` (its first line, a frame, a chained part's
marker, the last line), so the fast path of `replay` and every line fed one by one give the
same events. Per source: a `Traceback (most recent call last):` opens one, and so does a
frame when none is open (a traceback whose head was cut: a pasted excerpt, a rotated log);
a `Stack (most recent call last):` (logging's `stack_info`) opens a stack, whose frames
make no event. Frames and the chained markers (`During handling of the above
exception...`, `The above exception was the direct cause...`) continue it when they come
within `MAX_GAP` lines of its previous line (the source lines under each frame are not
hits); a last line (`SomeError: message`) ends a part. The traceback is closed, and its
event made:

- complete: `SETTLE_S` after its last line, unless a chained part follows;
- cut off (no last line): when a traceback line comes more than `MAX_GAP` lines after its
  previous one, `CUT_OFF_S` after its previous line (a time limit), at the training's exit,
  or at the end of a replayed log.

Of a chained traceback, the event names the last exception (the one that ended the
program) and holds every part's frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from engine.match.matcher import Match
from engine.model import Event

MAX_GAP = 40  # lines from one traceback line to the next (a frame's source, which Python 3.13
# shows whole, over several lines, and its ^^^ marks)
SETTLE_S = 1.0  # after a last line: time for a chained part to begin
CUT_OFF_S = 5.0  # after any other traceback line: time for the traceback to go on
MAX_FRAMES = 200  # frames kept (the first and the last ones)
MAX_RAW = 400  # lines kept of its text

START, FRAME, CHAIN, FINAL = range(4)
"""The kinds of traceback line, in the order of `TRACEBACK_PATTERNS`."""


@dataclass(frozen=True)
class Due:
    """The timer of the open traceback of `source`."""

    source: str


@dataclass
class _Open:
    t: float  # of its latest line
    line_no: int
    raw: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    type: str | None = None  # of the latest part's last line
    message: str = ""
    ended: bool = False  # the latest part has its last line
    chained: bool = False  # a marker came: a next part is expected
    stack: bool = False  # a stack printed for information, not a traceback: no event

    @property
    def due(self) -> float:
        return self.t + (SETTLE_S if self.ended and not self.chained else CUT_OFF_S)


class Tracebacks:
    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}

    def line(
        self, kind: int, match: Match, source: str, line_no: int, text: str, t: float
    ) -> list[Event]:
        """A traceback line of `kind`; returns the events of the tracebacks it closes."""
        out: list[Event] = []
        tb = self._open.get(source)
        if tb is not None and (line_no - tb.line_no > MAX_GAP or line_no < tb.line_no):
            out += self._close(source, t)
            tb = None
        if tb is not None and kind == START and (not tb.chained or tb.stack):
            out += self._close(source, t)  # a new traceback right after this one
            tb = None
        if tb is None:
            if kind not in (START, FRAME):
                return out
            stack = kind == START and match.group("stack") is not None
            tb = self._open[source] = _Open(t, line_no, stack=stack)
        tb.t, tb.line_no = t, line_no
        if len(tb.raw) < MAX_RAW:
            tb.raw.append(text)
        if kind == FRAME:
            frame = f"{match.group('file')} in {match.group('function')}"
            if len(tb.frames) >= MAX_FRAMES:
                del tb.frames[MAX_FRAMES // 2]
            tb.frames.append(frame)
        elif kind == CHAIN:
            tb.chained = True
        elif kind == FINAL:
            tb.type, tb.message = match.group("type"), match.group("message") or ""
            tb.ended, tb.chained = True, False
        elif kind == START and tb.chained:
            tb.ended = False
        return out

    def timers(self) -> Iterator[tuple[float, Due]]:
        for source, tb in self._open.items():
            yield tb.due, Due(source)

    def run_timer(self, due: Due, t: float) -> list[Event]:
        return self._close(due.source, t) if due.source in self._open else []

    def flush(self, t: float) -> list[Event]:
        """The training exited, or the replayed log ended: every open traceback closes."""
        return [event for source in sorted(self._open) for event in self._close(source, t)]

    def _close(self, source: str, t: float) -> list[Event]:
        """The event of the traceback open on `source`, closed now (none of a stack)."""
        tb = self._open.pop(source)
        if tb.stack:
            return []
        cut_off = not tb.ended or tb.chained
        return [
            Event(
                t,
                "exception",
                {
                    "type": tb.type,
                    "message": tb.message.strip(),
                    "traceback": "\n".join(tb.raw),
                    "frames": "\n".join(tb.frames),
                    "last_frame": tb.frames[-1] if tb.frames else None,
                    "cut_off": cut_off,
                    "source": source,
                },
            )
        ]
