"""Time to drain a backlog of alerts to a local SMTP server.

    .venv/bin/python bench/drain_bench.py [--alerts 1000]

A real aiosmtpd server on loopback; N alerts already in the outbox for an
email channel (as after an outage); the delivery layer started; the time until
every alert was delivered. Two channel settings: no rate limit (one email
per alert) and the email default of 10 a minute (the burst is merged into
digests). The reference, in the same run, is N plain `smtplib` sends of a
similar message on one connection each.
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.model import Decision, Reason, Severity  # noqa: E402
from engine.notify import channels as channelconf  # noqa: E402
from engine.notify.delivery import Delivery  # noqa: E402
from engine.notify.outbox import Outbox  # noqa: E402
from engine.notify.record import alert_record  # noqa: E402
from engine.packs import yamlio  # noqa: E402


class Counter:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def decision(i: int) -> Decision:
    return Decision(
        t=time.time(), rule="cuda-oom", group="", reason=Reason.FIRST, severity=Severity.CRITICAL,
        summary=f"GPU out of memory (tried to allocate {i % 8 + 1}.00 GiB)",
        advice="Use a smaller model or batch.", labels={"category": "oom_gpu"},
        line=f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {i % 8 + 1}.00 GiB",
        line_no=i, source="stderr", context=("step 12/20", "loss 0.01"),
    )


def drain(n: int, port: int, rate: str | None, box: Counter) -> tuple[float, int]:
    rate_line = f"\n    rate: '{rate}'" if rate else ""
    text = (
        f"channels:\n  - name: email\n    url: mailto://127.0.0.1:{port}?from=n@example.com"
        f"&to=me@example.com&mode=insecure{rate_line}\n"
    )
    channels = channelconf.parse(yamlio.parse(text, "channels.yaml"), {})
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Outbox(Path(tmp) / "outbox.sqlite")
        for i in range(n):
            record = alert_record(decision(i), "bench-host", channels.project)
            outbox.add(str(record["key"]), ["email"], record, time.time())
        before = box.messages
        delivery = Delivery(channels, outbox, "bench-host", lambda text: None)
        started = time.perf_counter()
        delivery.start()
        while outbox.pending("email"):
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        delivery.stop(0)
        outbox.close()
    return seconds, box.messages - before


def reference(n: int, port: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = f"alert {i}", "n@example.com", "me@x"
        message.set_content("CUDA out of memory")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=1000)
    n = parser.parse_args().alerts
    box = Counter()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ref = reference(n, port)
        plain, plain_mails = drain(n, port, "0/m", box)
        limited, limited_mails = drain(n, port, None, box)
    finally:
        controller.stop()
    print(f"backlog of {n:,} alerts to a local SMTP server (aiosmtpd on loopback):")
    print(f"  reference: {n:,} smtplib sends           {ref:7.2f} s  1.00x")
    print(f"  no rate limit: {plain_mails:,} emails            {plain:7.2f} s  {plain / ref:.2f}x"
          f"  ({n / plain:,.0f} alerts/s)")
    print(f"  email default (10/min): {limited_mails:,} emails  {limited:7.2f} s  "
          f"{limited / ref:.2f}x  (the rest merged into digests)")


if __name__ == "__main__":
    main()
