"""The durable outbox: every notification is written here before any send.

One SQLite file under `.rlswarm/`, one row per alert and channel, unique by
the alert's idempotency key and the channel. Rows stay `pending` until sent,
are retried with back-off, and become `expired` after the channel's max age.
What is pending when the process dies is sent after the next start.

When the file cannot be written (a full disk, a read-only one) the queue moves to memory
for the rest of the run, with what the file held; `save` writes it back at the end if the
file can be written again.

After `close` every other method raises `OutboxClosed`: a sender that was still sending
when `run` stopped ends there, and the row it had in hand stays as the file has it
(pending, so at worst the alert is sent again at the next start, with the same key).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import OutboxClosed, why_not_written
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
CREATE INDEX IF NOT EXISTS items_created ON items (created);
"""
KEEP_SENT_S = 7 * 86400
T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    id: int
    key: str
    channel: str
    created: float
    attempts: int
    payload: AlertRecord
    last_error: str | None = None


Fallback = Callable[[str], None]


class Outbox:
    """The queue. Every method may be called from any thread and never raises for the file's
    sake: the first time the file cannot be written (or read), the queue moves to memory for
    the rest of the run, with what the file held, and `on_fallback` is told why."""

    def __init__(self, path: Path | None) -> None:
        """The queue in the SQLite file `path`, or only in memory (`None`)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        where = ":memory:" if path is None else str(path)
        self._db = sqlite3.connect(where, check_same_thread=False, isolation_level=None)
        self._file = self._db if path is not None else None  # kept to try to save at close
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # survives a killed process
        self._db.executescript(_SCHEMA)
        self.trouble: str | None = None  # why the queue is in memory (None: in the file)
        self.on_fallback: Fallback | None = None  # told (in the caller's thread) when it moves
        self._closed = False

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
            box = cls(None)
            box.trouble = why
            return box, why

    @property
    def in_memory(self) -> bool:
        return self._db is not self._file

    def _run(self, work: Callable[[sqlite3.Connection], T], write: bool = True) -> T:
        """`work` on the queue under the lock (in one transaction when it writes); on the
        file's failure, again on the queue moved to memory, then `on_fallback` is told."""
        why = None
        with self._lock:
            if self._closed:
                raise OutboxClosed
            try:
                result = self._attempt(work, write)
            except (sqlite3.Error, OSError) as exc:
                if self.in_memory:
                    raise
                why = self._to_memory(exc)
                result = self._attempt(work, write)
        if why is not None and self.on_fallback is not None:
            self.on_fallback(why)
        return result

    def _attempt(self, work: Callable[[sqlite3.Connection], T], write: bool) -> T:
        db = self._db
        if not write:
            return work(db)
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:  # a failed COMMIT may have rolled back already
                    pass
            raise
        return result

    def _to_memory(self, exc: BaseException) -> str:
        """Move the queue to memory with everything the file holds (ids kept, so the items
        senders have in hand stay the same); returns why, as the notice says it."""
        memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        copied = not self._db.in_transaction  # a backup would wait for it forever
        try:
            if not copied:
                raise sqlite3.OperationalError("the file is still in a transaction")
            self._db.backup(memory)
            memory.execute("SELECT COUNT(*) FROM items").fetchone()
        except (sqlite3.Error, OSError):
            copied = False
            memory.close()
            memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            memory.executescript(_SCHEMA)
        self._db = memory
        kept = (
            "what it held is sent from memory"
            if copied
            else "what it held cannot be read now and is sent at the next start"
        )
        self.trouble = (
            f"cannot write the outbox {self.path} ({why_not_written(exc)}); alerts are queued in "
            f"memory for the rest of this run and still sent; {kept}. Those not yet sent when "
            "rlswarm-rules stops are lost unless the file can be written by then"
        )
        return self.trouble

    def add(self, key: str, channels: Sequence[str], payload: AlertRecord, now: float) -> int:
        """Queue `payload` for each channel; returns how many rows were new (keys are unique)."""
        return self.add_many([(key, channels, payload)], now)

    def add_many(
        self, items: Sequence[tuple[str, Sequence[str], AlertRecord]], now: float
    ) -> int:
        """`add` for several (key, channels, payload), in one transaction, in their order."""
        rows = []
        for key, channels, payload in items:
            text = json.dumps(payload, ensure_ascii=False)
            rows += [(key, channel, now, now, text) for channel in channels]

        def work(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO items (key, channel, created, next_attempt, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            return db.total_changes - before

        return self._run(work)

    def due(self, channel: str, now: float, limit: int = 100_000) -> list[Item]:
        """The pending items of `channel` in order, if its oldest one is due (else none).

        A channel is a queue: nothing overtakes an item that is waiting for its
        retry, so alerts arrive in the order they were raised.
        """
        head = self.next_attempt(channel)
        if head is None or head > now:
            return []
        rows = self._run(
            lambda db: db.execute(
                "SELECT id, key, channel, created, attempts, payload, last_error FROM items"
                " WHERE channel = ? AND state = 'pending' ORDER BY id LIMIT ?",
                (channel, limit),
            ).fetchall(),
            write=False,
        )
        return [Item(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def next_attempt(self, channel: str) -> float | None:
        """When the oldest pending item of `channel` is to be tried; None when none is pending."""
        row = self._run(
            lambda db: db.execute(
                "SELECT next_attempt FROM items WHERE channel = ? AND state = 'pending'"
                " ORDER BY id LIMIT 1",
                (channel,),
            ).fetchone(),
            write=False,
        )
        return None if row is None else float(row[0])

    def mark_sent(self, ids: Sequence[int], now: float) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "UPDATE items SET state = 'sent', sent_at = ?, attempts = attempts + 1"
                " WHERE id = ?",
                [(now, i) for i in ids],
            )
            db.execute(
                "DELETE FROM items WHERE state != 'pending' AND created < ?", (now - KEEP_SENT_S,)
            )

        self._run(work)

    def mark_failed(self, ids: Sequence[int], next_attempt: float, error: str) -> None:
        self._run(
            lambda db: db.executemany(
                "UPDATE items SET attempts = attempts + 1, next_attempt = ?, last_error = ?"
                " WHERE id = ?",
                [(next_attempt, error[:500], i) for i in ids],
            )
        )

    def expire(self, channel: str, now: float, max_age: float) -> list[Item]:
        """Pending items of `channel` older than `max_age`: marked expired and returned."""

        def work(db: sqlite3.Connection) -> list[Any]:
            rows = db.execute(
                "SELECT id, key, channel, created, attempts, payload, last_error FROM items"
                " WHERE channel = ? AND state = 'pending' AND created < ? ORDER BY id",
                (channel, now - max_age),
            ).fetchall()
            db.executemany(
                "UPDATE items SET state = 'expired' WHERE id = ?", [(r[0],) for r in rows]
            )
            return rows

        rows = self._run(work)
        return [Item(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def retry_now(self, now: float) -> None:
        """At start-up: what was waiting for its back-off is tried again at once."""
        self._run(
            lambda db: db.execute(
                "UPDATE items SET next_attempt = ? WHERE state = 'pending'", (now,)
            )
        )

    def counts(self) -> dict[tuple[str, str], int]:
        """Rows per (channel, state)."""
        rows = self._run(
            lambda db: db.execute(
                "SELECT channel, state, COUNT(*) FROM items GROUP BY channel, state"
            ).fetchall(),
            write=False,
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def pending(self, channel: str | None = None) -> int:
        return sum(
            n for (c, s), n in self.counts().items() if s == "pending" and channel in (None, c)
        )

    def save(self) -> str | None:
        """After a fallback: write the queue from memory back into the file, if it can be
        written now (space came back), so that what is pending is sent at the next start.
        None when the file holds the queue; else why it does not."""
        with self._lock:
            if self._closed:
                raise OutboxClosed
            if not self.in_memory:
                return None
            if self._file is None:
                return "the outbox could not be opened at the start"
            if self._file.in_transaction:  # a backup into it would wait forever
                return f"the outbox {self.path} is in an unfinished transaction"
            try:
                self._db.backup(self._file)
            except (sqlite3.Error, OSError) as exc:
                return f"cannot write the outbox {self.path} ({why_not_written(exc)})"
            self._db.close()
            self._db = self._file
            self.trouble = None
            return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for db in {id(c): c for c in (self._db, self._file) if c is not None}.values():
                try:
                    db.close()
                except sqlite3.Error:
                    pass


def pending_in(path: Path) -> tuple[dict[str, int], str | None]:
    """Alerts pending per channel in the outbox file `path`, read without writing to it (none
    when there is no file); or nothing and why it cannot be read."""
    if not path.exists():
        return {}, None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT channel, COUNT(*) FROM items WHERE state = 'pending' GROUP BY channel"
            ).fetchall()
        finally:
            db.close()
    except (sqlite3.Error, OSError) as exc:
        return {}, f"cannot read the outbox {path} ({why_not_written(exc)})"
    return {str(r[0]): int(r[1]) for r in rows}, None
