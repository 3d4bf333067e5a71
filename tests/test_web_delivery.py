"""Delivery's numbers for the dashboard: queued, sent, failed, failing with a scrubbed error.

A real webhook on loopback that refuses, then accepts; a real outbox file.
"""

from __future__ import annotations

import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.model import Decision, Reason, Severity
from engine.notify import channels as channelconf
from engine.notify.delivery import ChannelCounts, Delivery
from engine.notify.outbox import Outbox

SECRET = "s3cret-in-the-url"


class Hook:
    """Answers `status` to every POST; counts them. With `release`, each POST waits for it
    before the answer (`got` is set when one came)."""

    def __init__(self, release: threading.Event | None = None) -> None:
        self.status = 500
        self.posts = 0
        self.got = threading.Event()
        self.release = release
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.posts += 1
                hook.got.set()
                if hook.release is not None:
                    hook.release.wait(30)
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()
    h.server.server_close()


def channels_file(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "channels.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            channels:
              - name: hook
                url: json://user:${{HOOK_SECRET}}@127.0.0.1:{port}/alerts
                retry: 200ms
              - name: journal
                url: jsonl://{tmp_path}/alerts.jsonl
            """
        )
    )
    (tmp_path / ".env").write_text(f"HOOK_SECRET={SECRET}\n")
    return path


def decision() -> Decision:
    return Decision(time.time(), "boom", "", Reason.FIRST, Severity.ERROR, "boom")


def wait(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_counts_follow_a_failing_channel_until_it_recovers(tmp_path: Path, hook: Hook) -> None:
    channels = channelconf.load(channels_file(tmp_path, hook.port))
    outbox = Outbox(tmp_path / "outbox.sqlite")
    delivery = Delivery(channels, outbox, "h", lambda text: None)
    assert delivery.counts() == {"hook": ChannelCounts(), "journal": ChannelCounts()}
    delivery.send(decision())
    assert delivery.counts()["hook"].pending == 1  # counted when queued, before any send
    delivery.start()
    wait(lambda: delivery.counts()["hook"].failing)
    failing = delivery.counts()["hook"]
    assert failing.pending == 1 and failing.failed >= 1 and failing.ok == 0
    assert failing.last_error and SECRET not in failing.last_error
    wait(lambda: delivery.counts()["journal"].ok == 1)
    assert delivery.counts()["journal"] == ChannelCounts(ok=1)

    hook.status = 200
    wait(lambda: delivery.counts()["hook"].ok == 1)
    recovered = delivery.counts()["hook"]
    assert (recovered.pending, recovered.ok, recovered.failing) == (0, 1, False)
    assert recovered.last_error is None
    assert recovered.failed == hook.posts - 1  # every refused post, counted once
    assert delivery.stop(1.0) == 0
    outbox.close()


def test_what_an_earlier_run_left_queued_is_counted_at_start(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed again: nothing listens there
    channels = channelconf.load(channels_file(tmp_path, dead))
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.add("k1", ["hook"], {"rule": "boom"}, time.time())
    outbox.add("k2", ["hook", "journal"], {"rule": "boom"}, time.time())
    delivery = Delivery(channels, outbox, "h", lambda text: None)
    assert delivery.counts()["hook"].pending == 2
    assert delivery.counts()["journal"].pending == 1
    outbox.close()
