"""Helpers for plugin tests: requests may only go to 127.0.0.1, where the test's own server
stands in for the vendor; Apprise's warnings collected."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import apprise
import pytest
import requests

from engine.notify.plugins import register


def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse any request not aimed at 127.0.0.1, even one whose failure a plugin would
    swallow into a False; returns the list of refused URLs for the test to check at the end."""
    real_send = requests.Session.send
    strays: list[str] = []

    def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        if urlsplit(request.url).hostname != "127.0.0.1":
            strays.append(request.url)
            raise requests.ConnectionError(f"test refused non-loopback request {request.url}")
        return real_send(session, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return strays


@dataclass
class Captured:
    """One request the loopback server received (`body` as the test decoded it)."""

    method: str
    path: str
    headers: Message
    body: Any


def plugins_offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For a plugin test file's autouse fixture: our plugins registered with Apprise, and any
    request not aimed at 127.0.0.1 refused, then reported as a failure of the test."""
    register()
    strays = loopback_only(monkeypatch)
    yield
    assert not strays, f"requests left loopback: {strays}"


Handle = Callable[[str, str, Message, bytes], tuple[int, bytes]]
"""(method, path, headers, body) -> (status, JSON reply)."""


@contextmanager
def loopback_server(handle: Handle) -> Iterator[int]:
    """A real HTTP server on 127.0.0.1, on a free port (yielded), answering each POST with
    `handle`; it stands in for a vendor's cloud endpoint, an Alertmanager, a webhook."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = handle(self.command, self.path, self.headers, body)
            self.send_response(status)  # with a Date header, as real services reply
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def apprise_warnings() -> Iterator[list[str]]:
    """What the plugins log as warnings (through Apprise's logger), from any thread."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger(apprise.LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
