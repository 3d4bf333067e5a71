"""`run` stopped while a channel was sending: the outbox is closed under the sender, which
ends quietly, and the alert it had in hand stays pending in the file for the next start.

Real parts: a webhook on loopback that holds its answer until told, a real outbox file,
the channel's real sender thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_delivery import Hook

from engine.errors import OutboxClosed
from engine.model import Decision, Reason, Severity
from engine.notify import channels as channelconf
from engine.notify.delivery import Delivery
from engine.notify.outbox import Outbox


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook(release=threading.Event())  # holds each POST until released
    h.status = 200
    yield h
    assert h.release is not None
    h.release.set()
    h.server.shutdown()
    h.server.server_close()


def test_a_sender_whose_outbox_closes_mid_send_ends_quietly(
    tmp_path: Path, hook: Hook
) -> None:
    path = tmp_path / "channels.yaml"
    path.write_text(f"channels:\n  - name: hook\n    url: json://127.0.0.1:{hook.port}/a\n")
    outbox = Outbox(tmp_path / "outbox.sqlite")
    notices: list[str] = []
    delivery = Delivery(channelconf.load(path), outbox, "h", notices.append)
    crashed: list[threading.ExceptHookArgs] = []
    threading.excepthook, before = crashed.append, threading.excepthook
    try:
        delivery.send(Decision(time.time(), "boom", "", Reason.FIRST, Severity.ERROR, "boom"))
        delivery.start()
        assert hook.got.wait(20)  # the sender is in the middle of its send
        delivery.stopping.set()  # as `run` does when a second signal hurries it
        outbox.close()
        assert hook.release is not None
        hook.release.set()
        sender = delivery.senders["hook"]
        sender.thread.join(20)
        assert not sender.thread.is_alive()
    finally:
        threading.excepthook = before
    assert crashed == [] and notices == [], (crashed, notices)
    with sqlite3.connect(str(tmp_path / "outbox.sqlite")) as db:  # as the next start reads it
        assert db.execute("SELECT state FROM items").fetchall() == [("pending",)]
    with pytest.raises(OutboxClosed):
        outbox.pending()
