"""Answering a launcher's questions: a prompt in the output gets its answer on stdin.

Prompts usually end without a newline (`read -p "...? [y/N] "`), so the
answerer looks at the current, unfinished line of each stream (and the last
finished one), with colours removed. Each prompt is answered once per time it
appears: after an answer the line seen so far is forgotten.

A launcher that rejects an answer asks again (`>>> Please answer yes or no.`), and
would be answered again without end. So a prompt answered `TRIES` times within
`WINDOW_S` seconds is not answered any more (by this answerer: one per child): the
`looping` callback is told the question and the answer it rejected, once.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

from engine.logs.lines import strip_ansi
from engine.supervise.preset import Answer

TAIL_BYTES = 4096
TRIES = 3  # answers to the same prompt ...
WINDOW_S = 60.0  # ... within this many seconds: the answer was rejected

Looping = Callable[[str, Answer], None]  # the question as shown, the answer it rejects


class Answerer:
    def __init__(
        self, answers: Sequence[Answer], reply: Callable[[bytes], bool],
        notice: Callable[[str], None], looping: Looping | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.answers = list(answers)
        self.reply = reply
        self.notice = notice
        self.looping = looping
        self.monotonic = monotonic
        self.given = 0
        self._tails: dict[str, bytes] = {}
        self._times: dict[int, deque[float]] = {}  # per answer: when it was given lately
        self._stuck: set[int] = set()  # answers not given any more
        self._lock = threading.Lock()

    def feed(self, source: str, data: bytes) -> None:
        """Called with each chunk of the child's output (from its pump threads)."""
        if not self.answers:
            return
        with self._lock:
            tail = (self._tails.get(source, b"") + data)[-TAIL_BYTES:]
            cut = tail.rfind(b"\n", 0, max(0, len(tail) - 1))  # keep the last finished line too
            tail = tail[cut + 1 :] if cut >= 0 else tail
            self._tails[source] = tail
            text = strip_ansi(tail.decode("utf-8", errors="replace")).replace("\r", "\n")
            for index, answer in enumerate(self.answers):
                found = answer.prompt.search(text)
                if found:
                    self._tails[source] = b""
                    self._answer(index, answer, _asked(text, found))
                    return

    def _answer(self, index: int, answer: Answer, question: str) -> None:
        if index in self._stuck:
            return
        now = self.monotonic()
        times = self._times.setdefault(index, deque())
        while times and times[0] <= now - WINDOW_S:
            times.popleft()
        if len(times) >= TRIES:
            self._stuck.add(index)
            self.notice(
                f"not answering again: {question} (answered {TRIES} times within "
                f"{WINDOW_S:.0f}s, so {shown(answer)} is rejected); "
                f"give the right answer with {answer_option(answer)}"
            )
            if self.looping is not None:
                self.looping(question, answer)
            return
        times.append(now)
        self.given += 1
        self.reply(answer.text.encode() + b"\n")
        self.notice(f"answered {shown(answer)} to: {question}")


def shown(answer: Answer) -> str:
    return repr(answer.text) if answer.text else "(Enter)"


def answer_option(answer: Answer) -> str:
    """The `--answer` option that would override this answer, with TEXT to fill in."""
    return f"--answer '{answer.prompt.pattern.replace(chr(39), '.')}=>TEXT'"


def _asked(text: str, found: re.Match[str]) -> str:
    """The question as the output showed it: the line the prompt matched in, trimmed."""
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    line = " ".join(text[start : end if end >= 0 else len(text)].split())
    return line if len(line) <= 200 else line[:197] + "..."
