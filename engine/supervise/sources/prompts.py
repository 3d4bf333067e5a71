"""Answering a launcher's questions: a prompt in the output gets its answer on stdin.

Prompts usually end without a newline (`read -p "...? [y/N] "`), so the
answerer looks at the current, unfinished line of each stream (and the last
finished one), with colours removed. Each prompt is answered once per time it
appears: after an answer the line seen so far is forgotten.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

from engine.logs.lines import strip_ansi
from engine.supervise.preset import Answer

TAIL_BYTES = 4096


class Answerer:
    def __init__(
        self, answers: Sequence[Answer], reply: Callable[[bytes], bool],
        notice: Callable[[str], None],
    ) -> None:  # fmt: skip
        self.answers = list(answers)
        self.reply = reply
        self.notice = notice
        self.given = 0
        self._tails: dict[str, bytes] = {}
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
            for answer in self.answers:
                found = answer.prompt.search(text)
                if found:
                    self._tails[source] = b""
                    self.given += 1
                    self.reply(answer.text.encode() + b"\n")
                    shown = answer.text if answer.text else "(Enter)"
                    self.notice(f"answered {shown!r} to: {_asked(text, found)}")
                    return


def _asked(text: str, found: re.Match[str]) -> str:
    """The question as the output showed it: the line the prompt matched in, trimmed."""
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    line = " ".join(text[start : end if end >= 0 else len(text)].split())
    return line if len(line) <= 200 else line[:197] + "..."
