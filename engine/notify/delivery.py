"""Delivery: route each notification, queue it in the outbox, send it with one thread per channel.

`Delivery.send(decision)` is the pipeline's sink: it only writes to the
outbox and wakes the senders, so a slow or dead channel never holds up the
engine, the training or the other channels. Each channel's sender retries
with doubling back-off and jitter, keeps the channel's rate (a burst beyond
it is merged into one digest, never dropped), and after the channel's
`max_age` hands what it could not send to its `fallback` and tells the other
channels that delivery is failing. When the outbox cannot be written (a full or
read-only disk) it goes on in memory; the terminal and every channel are told.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import apprise

from engine.durations import format_duration
from engine.errors import OutboxClosed
from engine.model import Decision, Severity
from engine.notify import builtin as builtin_channels
from engine.notify.apprise_log import ERRORS
from engine.notify.channels import Channel, ChannelSet
from engine.notify.outbox import Item, Outbox
from engine.notify.record import AlertRecord, alert_record, notice_record
from engine.notify.render import LIMITS, Message, render, render_digest

RETRY_MAX = 600.0
LOCAL_SCHEMES = frozenset({"console", "jsonl"})  # written at once, in the evaluating thread
Clock = Callable[[], float]


def send_via(
    client: apprise.Apprise, message: Message, scrub: Callable[[str], str]
) -> tuple[bool, str]:
    """Send one message through Apprise: (ok, why not, with secrets scrubbed). Never raises.

    Each of the client's services is called in this thread (not in Apprise's
    own pool), so the reason it logs for a failure is the one reported here.
    """
    ERRORS.clear()
    try:
        servers = list(client)
        ok = bool(servers) and all(
            server.notify(
                body=message.body,
                title=message.title,
                body_format=message.format,
                notify_type=message.notify_type,
            )
            for server in servers
        )
        detail = "" if ok else ERRORS.last()
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return ok, "" if ok else scrub(detail or "the service did not accept the message")


def route(channels: ChannelSet, severity: Severity, named: Sequence[str]) -> list[Channel]:
    """The channels an alert goes to: enabled, severe enough, named by the rule if it names any
    (if every channel it names is broken, not built, as if it named none: not lost)."""
    if named and all(n in channels.broken_names for n in named):
        named = ()
    return [
        c
        for c in channels.channels
        if c.enabled and severity >= c.min_severity and (not named or c.name in named)
    ]


@dataclass(frozen=True)
class ChannelCounts:
    """One channel's delivery numbers (alerts, not messages), for the dashboard and /metrics."""

    pending: int = 0
    ok: int = 0
    failed: int = 0  # failed attempts, each alert of a failed message counted once per attempt
    failing: bool = False
    last_error: str | None = None  # scrubbed; kept while the channel is failing
    broken: bool = False  # could not be built (channels.yaml): nothing goes to it this run


class Sender:
    """One channel's delivery loop."""

    def __init__(self, channel: Channel, owner: Delivery) -> None:
        self.channel = channel
        self.owner = owner
        self.wake = threading.Event()
        self.sent_times: deque[float] = deque()
        self.failing_since: float | None = None
        self.last_digest = False  # sent beyond the rate while draining
        self.thread = threading.Thread(target=self._run, name=f"send-{channel.name}", daemon=True)
        builtin_channels.register()
        self.apprise = apprise.Apprise()
        self.apprise.add(channel.url)
        for server in self.apprise:
            server.request_rate_per_sec = 0  # Apprise's own pause between sends: the rate is ours

    def _run(self) -> None:
        try:
            self._loop()
        except OutboxClosed:  # `run` stopped while this channel was sending: nothing to do
            pass

    def _loop(self) -> None:
        while not self.owner.stopping.is_set():
            try:
                self.step()
            except OutboxClosed:
                raise
            except Exception as exc:  # never let one channel's bug end its thread
                self.owner.notice(f"channel '{self.channel.name}': {self.owner.scrub(str(exc))}")
            nxt = self.owner.outbox.next_attempt(self.channel.name)
            wait = 1.0 if nxt is None else max(0.0, min(1.0, nxt - self.owner.clock()))
            self.wake.wait(wait)
            self.wake.clear()

    def step(self) -> int:
        """Expire, then send what is due; returns how many items were sent."""
        now = self.owner.clock()
        expired = self.owner.outbox.expire(self.channel.name, now, self.channel.max_age)
        if expired:
            self.owner.count(self.channel.name, pending=-len(expired))
            self.owner.expired(self.channel, expired)
        items = self.owner.outbox.due(self.channel.name, now)
        if not items:
            return 0
        sent = 0
        for batch in self._batches(items, now):
            if not self._deliver(batch):
                break
            sent += len(batch)
        return sent

    def _allowance(self, now: float) -> int:
        rate = self.channel.rate
        if not rate:
            return 1 << 30
        window = 60.0
        while self.sent_times and self.sent_times[0] <= now - window:
            self.sent_times.popleft()
        return max(0, round(rate * window) - len(self.sent_times))

    def _batches(self, items: list[Item], now: float) -> list[list[Item]]:
        """One item per message while the rate allows; the rest as one digest when it does not.
        While delivery drains at the end, a channel whose rate is used up sends what waits as
        one last digest (once), rather than keep it for the next start."""
        allowance = self._allowance(now)
        if allowance == 0 and self.owner.draining.is_set() and not self.last_digest:
            self.last_digest = True
            return [items]
        if allowance == 0:
            return []
        if len(items) <= allowance:
            return [[item] for item in items]
        return [[item] for item in items[: allowance - 1]] + [items[allowance - 1 :]]

    def message(self, batch: Sequence[Item]) -> Message:
        return self.message_of([i.payload for i in batch])

    def message_of(self, payloads: Sequence[AlertRecord]) -> Message:
        """One message for the records (a digest for several), in this channel's style."""
        project = self.owner.channels.project
        limit = LIMITS.get(self.channel.scheme)
        channel = self.channel
        style = "console" if channel.scheme == "console" else channel.style
        return render_digest(payloads, style, project, limit, channel.language, channel.emoji)

    def _deliver(self, batch: Sequence[Item]) -> bool:
        try:
            message = self.message(batch)
        except Exception as exc:  # a record that cannot be rendered still goes out, as data
            data = json.dumps([i.payload for i in batch], default=str)[:4000]
            message = Message(f"{len(batch)} alert(s)", data, "text", "failure")
            self.owner.notice(
                f"channel '{self.channel.name}': could not render an alert "
                f"({type(exc).__name__}); sent as plain data"
            )
        ok, error = send_via(self.apprise, message, self.owner.scrub)
        now = self.owner.clock()
        ids = [i.id for i in batch]
        self.owner.count(self.channel.name, ok, len(batch), error)
        if ok:
            self.owner.outbox.mark_sent(ids, now)
            self.sent_times.append(now)
            self.failing_since = None
            return True
        attempts = max(i.attempts for i in batch) + 1
        first = self.channel.retry
        delay = min(first * 2 ** (attempts - 1), max(RETRY_MAX, first)) * random.uniform(0.8, 1.2)
        self.owner.outbox.mark_failed(ids, now + delay, error)
        if self.failing_since is None:
            self.failing_since = now
            self.owner.notice(
                f"channel '{self.channel.name}' failed ({error}); retrying in "
                f"{format_duration(delay)}, nothing is lost"
            )
        return False


class PrintSink:
    """`--dry-run`: alerts printed as the console channel would, nothing queued or sent."""

    def __init__(self, write: Callable[[str], None], host: str, project: str) -> None:
        self.write, self.host, self.project = write, host, project

    def send(self, decision: Decision) -> None:
        message = render(alert_record(decision, self.host, self.project), "console", self.project)
        first, *rest = message.body.splitlines()
        lines = [f"{builtin_channels.PREFIX} {first} (dry run, not sent)"]
        lines += [f"{builtin_channels.PREFIX}   {line}" for line in rest]
        self.write("\n".join(lines))


def write_locally(channel: apprise.Apprise, message: Message) -> tuple[bool, str]:
    """`message` through a built-in local channel's own `send` (`engine.notify.builtin`):
    what Apprise does around it (formats, limits, logging) costs more than the write."""
    ERRORS.clear()
    try:
        ok = all(
            server.send(body=message.body, title=message.title, notify_type=message.notify_type)
            for server in channel
        )
    except Exception as exc:  # a bug of ours in a built-in channel: retried from the outbox
        return False, f"{type(exc).__name__}: {exc}"
    return bool(ok), "" if ok else ERRORS.last()


class Delivery:
    """The pipeline's sink for real channels, and the owner of their senders."""

    def __init__(
        self,
        channels: ChannelSet,
        outbox: Outbox,
        host: str,
        notice: Callable[[str], None],
        clock: Clock = time.time,
    ) -> None:
        self.channels = channels
        self.outbox = outbox
        self.host = host
        self.notice = notice
        self.clock = clock
        self.links: dict[str, str] = {}  # put in every alert (the dashboard's address, once served)
        self.stopping = threading.Event()
        self.draining = threading.Event()  # `stop` gives the senders their last chance
        self.senders = {c.name: Sender(c, self) for c in channels.channels if c.enabled}
        self._counts = {name: ChannelCounts(outbox.pending(name)) for name in self.senders}
        for b in channels.broken:  # shown on the dashboard and in /metrics as they are
            why = f"not built: {b.why}"
            self._counts[b.name] = ChannelCounts(outbox.pending(b.name), 0, 0, True, why, True)
        self._counts_lock = threading.Lock()
        outbox.on_fallback = self._outbox_failed

    def counts(self) -> dict[str, ChannelCounts]:
        """Each channel's numbers now (any thread; a copy)."""
        with self._counts_lock:
            return dict(self._counts)

    def count(
        self, channel: str, ok: bool | None = None, n: int = 0, error: str = "", pending: int = 0
    ) -> None:
        """Record `n` alerts sent (`ok`) or failed, or a change of the queue by `pending`."""
        with self._counts_lock:
            c = self._counts.get(channel)
            if c is None:
                return
            if ok is True:
                c = replace(c, pending=c.pending - n, ok=c.ok + n, failing=False, last_error=None)
            elif ok is False:
                c = replace(c, failed=c.failed + n, failing=True, last_error=error)
            self._counts[channel] = replace(c, pending=max(0, c.pending + pending))

    def scrub(self, text: str) -> str:
        return self.channels.scrub(text)

    def send(self, decision: Decision) -> None:
        """Queue the alert for its channels; the terminal and the journal get it at once, in
        the caller's thread, so that what the supervisor prints about it next comes after it."""
        self.send_many([decision])

    def send_many(self, decisions: Sequence[Decision]) -> None:
        """`send` for several, queued in one transaction (a storm of thousands of alerts a
        second costs one per block of output)."""
        queued: list[tuple[AlertRecord, Sequence[str]]] = []
        for decision in decisions:
            targets = route(self.channels, decision.severity, decision.channels)
            if not targets:
                continue
            record = alert_record(decision, self.host, self.channels.project, self.links)
            record = self.channels.scrub_value(record)  # a secret the training printed
            later = [c.name for c in targets if not self._shown_now(c, record)]
            if later:
                queued.append((record, later))
        if queued:
            self.enqueue_many(queued)

    def _shown_now(self, channel: Channel, record: AlertRecord) -> bool:
        """Write `record` to a channel of this machine (the terminal, a JSONL file) now, if
        nothing of it waits in the outbox; False (queue it) for any other channel, or if the
        write failed (it is retried from the outbox)."""
        sender = self.senders.get(channel.name)
        if channel.scheme not in LOCAL_SCHEMES or sender is None:
            return False
        with self._counts_lock:
            counts = self._counts.get(channel.name)
            if counts is None or counts.pending:  # would overtake what waits for a retry
                return False
        ok, error = write_locally(sender.apprise, sender.message_of([record]))
        self.count(channel.name, ok, 1, error)
        return ok

    def enqueue(self, record: AlertRecord, channels: Sequence[str]) -> None:
        self.enqueue_many([(record, channels)])

    def enqueue_many(self, items: Sequence[tuple[AlertRecord, Sequence[str]]]) -> None:
        """Queue each record for its channels, in one transaction."""
        wanted = 0
        for _, channels in items:
            for name in channels:  # counted first: a sender may send it before add() returns
                self.count(name, pending=1)
            wanted += len(channels)
        added = self.outbox.add_many([(r["key"], c, r) for r, c in items], self.clock())
        names = {name for _, channels in items for name in channels}
        for name in names:
            if added != wanted:  # some were queued already (the same key): recount
                known = self.counts().get(name, ChannelCounts()).pending
                self.count(name, pending=self.outbox.pending(name) - known)
            sender = self.senders.get(name)
            if sender is not None:
                sender.wake.set()

    def expired(self, channel: Channel, items: Sequence[Item]) -> None:
        """Items that aged out: to the fallback, and a 'delivery failing' alert to the others."""
        if channel.fallback:
            for item in items:
                again: AlertRecord = {**item.payload, "key": f"{item.key}~{channel.fallback}"}
                self.enqueue(again, [channel.fallback])
        last = items[-1].last_error or "unknown error"
        others = [
            c.name
            for c in self.channels.channels
            if c.enabled and c.name not in (channel.name, channel.fallback)
        ]
        now = self.clock()
        summary = (
            f"channel '{channel.name}' could not deliver {len(items)} alert(s) within "
            f"{format_duration(channel.max_age)}"
            + (f"; sent to '{channel.fallback}' instead" if channel.fallback else "")
        )
        record = notice_record(
            f"delivery-failing-{channel.name}-{int(now)}",
            "delivery-failing",
            "error",
            now,
            summary,
            f"Last error: {last}. Check the channel with "
            f"`rlswarm-rules channels test {channel.name}`.",
            self.host,
            self.channels.project,
            group=channel.name,
            count=len(items),
            labels={"category": "delivery"},
        )
        if others:
            self.enqueue(record, others)
        self.notice(summary)

    def _outbox_failed(self, why: str) -> None:
        """The outbox went on in memory (`Outbox.on_fallback`): the terminal and every other
        channel are told."""
        self.notice(why)
        self._tell_outbox_trouble(why)

    def _tell_outbox_trouble(self, why: str) -> None:
        now = self.clock()
        record = notice_record(
            f"outbox-failing-{int(now)}",
            "outbox-failing",
            "error",
            now,
            "alerts are queued in memory: the outbox file cannot be written",
            f"{why}. Free space on that disk (or make it writable); alerts are still sent "
            "meanwhile.",
            self.host,
            self.channels.project,
            labels={"category": "delivery"},
        )
        others = [n for n, s in self.senders.items() if s.channel.scheme != "console"]
        if others:  # the terminal has the notice
            self.enqueue(record, others)

    def start(self) -> None:
        self.outbox.retry_now(self.clock())
        for sender in self.senders.values():
            sender.thread.start()
        if self.outbox.trouble is not None:  # opened in memory: the terminal was told
            self._tell_outbox_trouble(self.outbox.trouble)
        self._tell_broken()

    def _tell_broken(self) -> None:
        """An alert to every working channel for each channel that could not be built."""
        now = self.clock()
        working = [c.name for c in self.channels.channels if c.enabled]
        for broken in self.channels.broken:
            record = notice_record(
                f"channel-broken-{broken.name}-{int(now)}",
                "channel-broken",
                "error",
                now,
                f"channel '{broken.name}' is broken: no alert goes to it until it is fixed",
                f"{broken.why}. Fix it in {self.channels.path}, check it with "
                f"`rlswarm-rules channels test {broken.name}`, and restart.",
                self.host,
                self.channels.project,
                group=broken.name,
                labels={"category": "delivery"},
            )
            if working:
                self.enqueue(record, working)  # the problems never hold a secret

    def stop(self, drain: float = 10.0) -> int:
        """Give the senders up to `drain` seconds for what is due; returns how many alerts
        stay queued in the outbox file for the next start. Those that cannot be kept there
        (the queue is in memory and the file still cannot be written) are said in a notice."""
        deadline = time.monotonic() + drain
        self.draining.set()
        while time.monotonic() < deadline and self._due_now():
            for sender in self.senders.values():
                sender.wake.set()
            time.sleep(0.05)
        self.stopping.set()
        for sender in self.senders.values():
            sender.wake.set()
            sender.thread.join(2.0)
        waiting = {c: n for (c, state), n in self.outbox.counts().items() if state == "pending"}
        left = sum(waiting.values())
        why = self.outbox.save()
        if why is None:
            return left
        if left:
            where = ", ".join(f"{c}: {n}" for c, n in sorted(waiting.items()))
            self.notice(f"{left} alert(s) not delivered ({where}) are lost: {why}")
        return 0

    def _due_now(self) -> bool:
        now = self.clock()
        return any((self.outbox.next_attempt(n) or now + 1) <= now for n in self.senders)


def test_channels(
    channels: ChannelSet, chosen: Sequence[Channel], host: str
) -> list[tuple[Channel, bool, str]]:
    """Send a test message through each chosen channel directly (not queued); the results."""
    builtin_channels.register()
    now = time.time()
    record = notice_record(
        f"test-{int(now)}",
        "channel-test",
        "info",
        now,
        "test message from rlswarm-rules: this channel works",
        "Nothing to do; `rlswarm-rules channels test` sent this.",
        host,
        channels.project,
    )
    results = []
    for channel in chosen:
        client = apprise.Apprise()
        client.add(channel.url)
        style = "console" if channel.scheme == "console" else channel.style
        limit = LIMITS.get(channel.scheme)
        message = render(record, style, channels.project, limit, channel.language, channel.emoji)
        ok, error = send_via(client, message, channels.scrub)
        results.append((channel, ok, error))
    return results
