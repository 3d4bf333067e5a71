"""Why Apprise refused a URL or a send: the last warning it logged in the calling thread.

Apprise reports problems through its logger, not as values; each channel
sends from its own thread, so the handler keeps one message per thread.
"""

from __future__ import annotations

import logging
import threading

import apprise


class ThreadErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._last: dict[int, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self._last[threading.get_ident()] = record.getMessage()

    def clear(self) -> None:
        self._last.pop(threading.get_ident(), None)

    def last(self) -> str:
        return self._last.get(threading.get_ident(), "")


ERRORS = ThreadErrors()
logging.getLogger(apprise.LOGGER_NAME).addHandler(ERRORS)
