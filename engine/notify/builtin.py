"""The two built-in channels, registered with Apprise so every channel really is an Apprise URL.

- `console://`: pretty lines on the terminal (stderr), set apart from the
  training's own output; coloured by severity when stderr is a terminal and
  `NO_COLOR` is not set (or empty; see no-color.org).
- `jsonl://PATH`: one JSON object per alert appended to PATH (relative to the
  working directory unless it starts with `/`): the alert journal.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apprise import NotifyBase, NotifyType
from apprise.manager_plugins import NotificationManager

from engine.notify import plugins

PREFIX = "[rlswarm-rules]"
_COLOURS = {
    NotifyType.FAILURE: "\x1b[1;31m",
    NotifyType.WARNING: "\x1b[33m",
    NotifyType.INFO: "\x1b[36m",
    NotifyType.SUCCESS: "\x1b[32m",
}


def _stderr_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


_console: list[Callable[[str], None]] = [_stderr_line]
_colour: list[bool] = [False]


def set_console(writer: Callable[[str], None], colour: bool) -> None:
    """Where `console://` writes (the runner passes its terminal, which keeps lines whole)."""
    _console[0] = writer
    _colour[0] = colour


class NotifyConsole(NotifyBase):  # type: ignore[misc]
    service_name = "Terminal"
    service_url = "https://github.com/"
    protocol = "console"
    setup_url = "docs/channels.md"
    title_maxlen = 250
    body_maxlen = 32768
    request_rate_per_sec = 0

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        return "console://"

    @property
    def url_identifier(self) -> tuple[str]:
        return ("console",)

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        results: dict[str, Any] | None = NotifyBase.parse_url(url, verify_host=False)
        return results

    def send(
        self, body: str, title: str = "", notify_type: str = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        first, *rest = [line for line in f"{title}\n{body}".splitlines() if line.strip()] or [""]
        if _colour[0] and notify_type in _COLOURS:
            word, _, tail = first.partition(" ")
            first = f"{_COLOURS[notify_type]}{word}\x1b[0m {tail}"
        lines = [f"{PREFIX} {first}"] + [f"{PREFIX}   {line}" for line in rest]
        try:
            _console[0]("\n".join(lines))
        except OSError:
            return False
        return True


class NotifyJsonl(NotifyBase):  # type: ignore[misc]
    service_name = "JSON lines file"
    service_url = "https://jsonlines.org/"
    protocol = "jsonl"
    setup_url = "docs/channels.md"
    title_maxlen = 250  # not 0: Apprise would glue the title into the body; the body is the record
    body_maxlen = 1 << 20
    request_rate_per_sec = 0
    _lock = threading.Lock()

    def __init__(self, file_path: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file_path = file_path

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        return f"jsonl://{self.file_path}"

    @property
    def url_identifier(self) -> tuple[str, str]:
        return ("jsonl", self.file_path)

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        results: dict[str, Any] | None = NotifyBase.parse_url(url, verify_host=False)
        if results is None:
            return None
        results["file_path"] = url.split("://", 1)[1].split("?", 1)[0]
        return results

    def send(
        self, body: str, title: str = "", notify_type: str = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        if not self.file_path:
            return False
        path = Path(self.file_path)
        try:
            with self._lock:
                try:
                    out = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed below
                except FileNotFoundError:  # its folder is not there (yet, or any more)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    out = open(path, "a", encoding="utf-8")  # noqa: SIM115
                with out:
                    out.write(body.replace("\n", " ") + "\n")  # durable is the outbox
        except OSError as exc:
            self.logger.warning(f"cannot append to {path}: {exc.strerror}")
            return False
        return True


_registered: list[bool] = []


def register() -> None:
    """Make `console://`, `jsonl://` and this project's SMS schemes known to Apprise."""
    if _registered:
        return
    plugins.register()
    manager = NotificationManager()
    manager.add(NotifyConsole, schemas="console", force=True)
    manager.add(NotifyJsonl, schemas="jsonl", force=True)
    _registered.append(True)
