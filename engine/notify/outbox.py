"""The durable outbox: every notification is written here before any send.

One SQLite file under `.rlswarm/`, one row per alert and channel, unique by
the alert's idempotency key and the channel. Rows stay `pending` until sent,
are retried with back-off, and become `expired` after the channel's max age.
What is pending when the process dies is sent after the next start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.notify.record import AlertRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    channel TEXT NOT NULL,
    created REAL NOT NULL,
    next_attempt REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    payload TEXT NOT NULL,
    last_error TEXT,
    sent_at REAL,
    UNIQUE (key, channel)
);
CREATE INDEX IF NOT EXISTS items_due ON items (channel, state, next_attempt);
"""
KEEP_SENT_S = 7 * 86400


@dataclass(frozen=True)
class Item:
    id: int
    key: str
    channel: str
    created: float
    attempts: int
    payload: AlertRecord
    last_error: str | None = None


class Outbox:
    def __init__(self, path: Path | None) -> None:
        """The queue in the SQLite file `path`, or only in memory (`None`)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        where = ":memory:" if path is None else str(path)
        self._db = sqlite3.connect(where, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # survives a killed process
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, path: Path) -> tuple[Outbox, str | None]:
        """The outbox in `path`; where that cannot be opened, one in memory and why."""
        try:
            return cls(path), None
        except (sqlite3.Error, OSError) as exc:
            why = (
                f"cannot open the outbox {path} ({exc}); alerts are queued in memory for this "
                "run, so those not yet sent are lost if rlswarm-rules itself stops. To keep "
                f"them across restarts, make {path} a writable file (or remove what is there)"
            )
            return cls(None), why

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def add(self, key: str, channels: Sequence[str], payload: AlertRecord, now: float) -> int:
        """Queue `payload` for each channel; returns how many rows were new (keys are unique)."""
        text = json.dumps(payload, ensure_ascii=False)
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO items (key, channel, created, next_attempt, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                [(key, channel, now, now, text) for channel in channels],
            )
            return db.total_changes - before

    def due(self, channel: str, now: float, limit: int = 100_000) -> list[Item]:
        """The pending items of `channel` in order, if its oldest one is due (else none).

        A channel is a queue: nothing overtakes an item that is waiting for its
        retry, so alerts arrive in the order they were raised.
        """
        head = self.next_attempt(channel)
        if head is None or head > now:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT id, key, channel, created, attempts, payload, last_error FROM items"
                " WHERE channel = ? AND state = 'pending' ORDER BY id LIMIT ?",
                (channel, limit),
            ).fetchall()
        return [Item(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def next_attempt(self, channel: str) -> float | None:
        """When the oldest pending item of `channel` is to be tried; None when none is pending."""
        with self._lock:
            row = self._db.execute(
                "SELECT next_attempt FROM items WHERE channel = ? AND state = 'pending'"
                " ORDER BY id LIMIT 1",
                (channel,),
            ).fetchone()
        return None if row is None else float(row[0])

    def mark_sent(self, ids: Sequence[int], now: float) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE items SET state = 'sent', sent_at = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [(now, i) for i in ids],
            )
            db.execute(
                "DELETE FROM items WHERE state != 'pending' AND created < ?", (now - KEEP_SENT_S,)
            )

    def mark_failed(self, ids: Sequence[int], next_attempt: float, error: str) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE items SET attempts = attempts + 1, next_attempt = ?, last_error = ?"
                " WHERE id = ?",
                [(next_attempt, error[:500], i) for i in ids],
            )

    def expire(self, channel: str, now: float, max_age: float) -> list[Item]:
        """Pending items of `channel` older than `max_age`: marked expired and returned."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, key, channel, created, attempts, payload, last_error FROM items"
                " WHERE channel = ? AND state = 'pending' AND created < ? ORDER BY id",
                (channel, now - max_age),
            ).fetchall()
            db.executemany(
                "UPDATE items SET state = 'expired' WHERE id = ?", [(r[0],) for r in rows]
            )
        return [Item(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def retry_now(self, now: float) -> None:
        """At start-up: what was waiting for its back-off is tried again at once."""
        with self._tx() as db:
            db.execute("UPDATE items SET next_attempt = ? WHERE state = 'pending'", (now,))

    def counts(self) -> dict[tuple[str, str], int]:
        """Rows per (channel, state)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT channel, state, COUNT(*) FROM items GROUP BY channel, state"
            ).fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def pending(self, channel: str | None = None) -> int:
        return sum(
            n for (c, s), n in self.counts().items() if s == "pending" and channel in (None, c)
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
