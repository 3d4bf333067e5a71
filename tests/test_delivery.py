"""Delivery with real parts: an SMTP server and an HTTP receiver on loopback, outages,
`kill -9` with alerts pending, and a scan of everything written for secrets."""

from __future__ import annotations

import email
import email.policy
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiosmtpd.controller import Controller

from engine.errors import ConfigError
from engine.notify import channels as channelconf
from engine.packs import yamlio

SECRET = "5ec7e7a0b1c2d3e4f5a6"  # lowercase hex: a valid DingTalk token too
RULES = """\
rules:
  - id: boom
    severity: error
    log: 'BOOM (?P<n>\\d+)'
    summary: "boom {n}"
    advice: "Look at boom {n}."
    cooldown: 0s
    examples: {fires: ["BOOM 1"]}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """A real HTTP server on loopback that records the JSON bodies posted to it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bodies: list[dict[str, Any]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(b["message"]) for b in self.bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    yield r
    r.stop()


def workdir_with(tmp_path: Path, channels: str, env: str = "") -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    (tmp_path / "channels.yaml").write_text(textwrap.dedent(channels))
    if env:
        (tmp_path / ".env").write_text(env)
    return tmp_path


def start_run(cwd: Path, *command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "--", *command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def pending(cwd: Path) -> int:
    path = cwd / ".rlswarm" / "outbox.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(str(path)) as db:
            query = "SELECT COUNT(*) FROM items WHERE state = 'pending'"
            return int(db.execute(query).fetchone()[0])
    except sqlite3.OperationalError:  # created, but its table not yet
        return 0


def wait_for(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def webhook_channels(port: int, retry: str = "300ms") -> str:
    return f"""\
        channels:
          - name: hook
            url: json://user:${{HOOK_TOKEN}}@127.0.0.1:{port}/alerts
            retry: {retry}
        """


def test_outage_then_every_alert_arrives_in_order(tmp_path: Path, receiver: Receiver) -> None:
    cwd = workdir_with(tmp_path, webhook_channels(receiver.port), f"HOOK_TOKEN={SECRET}\n")
    proc = start_run(
        cwd, "sh", "-c", "for i in 1 2 3 4 5; do echo BOOM $i; sleep 0.2; done; sleep 4"
    )
    assert wait_for(lambda: pending(cwd) == 5, 15)  # the receiver is down: all five wait
    receiver.start()  # it comes back while the training still runs
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert [a["values"]["n"] for a in receiver.alerts()] == [1, 2, 3, 4, 5]
    assert [a["rule"] for a in receiver.alerts()] == ["boom"] * 5
    assert pending(cwd) == 0
    assert b"channel 'hook' failed" in err and b"nothing is lost" in err
    assert_no_secret(cwd, out + err)


def test_alertjson_posts_the_record_itself_as_an_object(
    tmp_path: Path, receiver: Receiver
) -> None:
    """`alertjson://`: the receiver reads the record's fields at once (Apprise's `json://`
    would hand it an envelope with the record as a string inside)."""
    receiver.start()
    cwd = workdir_with(
        tmp_path,
        f"""\
        channels:
          - name: hook
            url: alertjson://127.0.0.1:{receiver.port}/alerts?token=${{HOOK_TOKEN}}
        """,
        f"HOOK_TOKEN={SECRET}\n",
    )
    proc = start_run(cwd, "sh", "-c", "echo 'BOOM 9'")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert wait_for(lambda: len(receiver.bodies) == 1, 10)
    (body,) = receiver.bodies
    assert body["rule"] == "boom" and body["values"]["n"] == 9
    assert body["line"] == "BOOM 9" and body["severity"] == "error"
    assert isinstance(body["context"], list) and "message" not in body
    assert_no_secret(cwd, out + err)


def test_an_outbox_that_cannot_be_opened_queues_in_memory(
    tmp_path: Path, receiver: Receiver
) -> None:
    """A directory where the outbox file should be: a notice says why and what it costs,
    the training runs, the alerts are still delivered (from memory), and the channels are
    told too (`outbox-failing`)."""
    cwd = workdir_with(tmp_path, webhook_channels(receiver.port), f"HOOK_TOKEN={SECRET}\n")
    (cwd / ".rlswarm" / "outbox.sqlite").mkdir(parents=True)
    receiver.start()
    proc = start_run(cwd, "sh", "-c", "echo BOOM 1; echo BOOM 2; echo done")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err
    assert b"cannot open the outbox .rlswarm/outbox.sqlite" in err
    assert b"queued in memory" in err
    assert b"done" in out
    assert [a["values"]["n"] for a in receiver.alerts() if a["rule"] == "boom"] == [1, 2]
    told = [a for a in receiver.alerts() if a["rule"] == "outbox-failing"]
    assert len(told) == 1 and told[0]["labels"] == {"category": "delivery"}
    assert len(receiver.alerts()) == 3


def test_kill_9_with_alerts_pending_then_all_arrive_after_the_next_start(
    tmp_path: Path, receiver: Receiver
) -> None:
    cwd = workdir_with(
        tmp_path, webhook_channels(receiver.port, retry="1h"), f"HOOK_TOKEN={SECRET}\n"
    )
    n = 7
    proc = start_run(cwd, "sh", "-c", f"for i in $(seq 1 {n}); do echo BOOM $i; done; sleep 60")
    assert wait_for(lambda: pending(cwd) == n, 20)
    tree = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up or to send
    proc.wait()
    for child in tree:  # the training itself was not ours to kill in this test
        child.kill()
    receiver.start()
    again = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--", "true"],
        cwd=cwd,
        capture_output=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert sorted(a["values"]["n"] for a in receiver.alerts()) == list(range(1, n + 1))
    assert [a["values"]["n"] for a in receiver.alerts()] == list(range(1, n + 1))  # in order
    assert pending(cwd) == 0
    assert_no_secret(cwd, again.stdout + again.stderr)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def test_email_is_html_with_a_text_part(tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    cwd = workdir_with(
        tmp_path,
        f"""\
        project: node-7
        channels:
          - name: email
            url: mailto://127.0.0.1:{port}?from=node@example.com&to=me@example.com&mode=insecure
            min_severity: error
        """,
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "--",
            "sh",
            "-c",
            "echo 'loading'; echo 'BOOM 42 <script>x</script>'",
        ],
        cwd=cwd,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert wait_for(lambda: len(box.messages) == 1, 10)
    (message,) = box.messages
    assert message["Subject"] == "❗ [node-7] ERROR boom: boom 42"
    assert message["To"] == "me@example.com"
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    html_text, plain = html.get_content(), text.get_content().replace("\r\n", "\n")
    assert "boom 42" in html_text and "<table" in html_text
    assert "&lt;script&gt;" in html_text and "<script>" not in html_text  # the line is escaped
    for part in (html_text, plain):
        assert "Look at boom 42." in part  # the advice
        assert "loading" in part  # the context before the matched line
        assert "node-7" in part and "alert id:" in part
    # The plain part, which Apprise derives from the HTML, reads as text: the sections in
    # order, a fact a line as `key: value`, numbers that are whole as whole numbers, the
    # last lines as they were.
    in_order = [
        "ERROR boom: boom 42\n",
        "\n🔎 Cause: line 2 of stdout\n",
        "\n🔧 What to do\nLook at boom 42.\n",
        "\n📋 Details\n",
        "\nproject: node-7\nwhere: stdout:2\n",
        "\nn: 42\n",
        "\n📄 Last lines\nloading\nBOOM 42 <script>x</script>\n",
        "\nalert id: ",
    ]
    at = 0
    for piece in in_order:
        found = plain.find(piece, at)
        assert found >= 0, f"{piece!r} missing or out of order in:\n{plain}"
        at = found + len(piece)
    assert re.search(r"^restarts: 0$", plain, re.M), plain


def test_lint_reports_channel_problems_with_lines(tmp_path: Path) -> None:
    cwd = workdir_with(
        tmp_path,
        """\
        channels:
          - name: ding
            url: dingtalk://${DING_SECRET}@${DING_TOKEN}/
          - name: weird
            url: notaservice://abc
          - name: sms
            url: json://127.0.0.1:9/x
            fallback: emial
        """,
        f"DING_SECRET={SECRET}\n",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "lint", "rules"], cwd=cwd, capture_output=True, text=True
    )
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert (
        "channels.yaml:3: channel 'ding': ${DING_TOKEN} not set; set it in the environment or in "
        ".env beside this file" in lines
    )
    assert any(
        line.startswith("channels.yaml:5: channel 'weird': Apprise does not understand")
        for line in lines
    )
    assert any(
        line.startswith("channels.yaml:7: channel 'sms': fallback 'emial' is not a channel")
        for line in lines
    )
    assert SECRET not in proc.stdout + proc.stderr


def test_env_values_are_url_encoded_and_scrubbed() -> None:
    text = "channels:\n  - name: hook\n    url: json://u:${T}@127.0.0.1:9/x\n"
    channels = channelconf.parse(yamlio.parse(text, "channels.yaml"), {"T": "a/b@c:d"})
    (hook,) = channels.channels
    assert hook.url == "json://u:a%2Fb%40c%3Ad@127.0.0.1:9/x"
    assert "a/b@c:d" not in hook.privacy and "a%2Fb" not in hook.privacy
    assert channels.scrub("failed for a%2Fb%40c%3Ad and a/b@c:d") == "failed for **** and ****"
    with pytest.raises(ConfigError):
        channelconf.parse(yamlio.parse(text, "channels.yaml"), {})


def test_channels_add_writes_references_and_env(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "channels",
            "add",
            "--service",
            "dingtalk",
            "--name",
            "ding",
            "--field",
            f"token={SECRET}",
            "--field",
            "secret=SECabc",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    written = (tmp_path / "channels.yaml").read_text()
    assert "url: 'dingtalk://${DINGTALK_SECRET}@${DINGTALK_TOKEN}/'" in written
    assert SECRET not in written and SECRET not in proc.stdout
    env = (tmp_path / ".env").read_text()
    assert f"DINGTALK_TOKEN={SECRET}" in env
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    listed = channels_command(tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert "ding " in listed.stdout and SECRET not in listed.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "engine", "channels", "add", "--service", "wecom", "--name", "wc"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 0
    assert "WECOM_KEY" in missing.stdout  # told which variable to set


def test_channels_test_reports_each_result(tmp_path: Path, receiver: Receiver) -> None:
    cwd = workdir_with(
        tmp_path,
        f"""\
        channels:
          - name: hook
            url: json://127.0.0.1:{receiver.port}/alerts
          - name: dead
            url: json://user:${{HOOK_TOKEN}}@127.0.0.1:{free_port()}/alerts
        """,
        f"HOOK_TOKEN={SECRET}\n",
    )
    receiver.start()
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "channels", "test"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "hook         ok" in proc.stdout
    assert "dead         FAILED" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr
    assert receiver.alerts()[0]["rule"] == "channel-test"


def test_fallback_gets_what_ages_out_and_others_are_told(
    tmp_path: Path, receiver: Receiver
) -> None:
    cwd = workdir_with(
        tmp_path,
        f"""\
        channels:
          - name: sms
            url: json://127.0.0.1:{free_port()}/down
            retry: 100ms
            max_age: 1s
            fallback: hook
          - name: hook
            url: json://127.0.0.1:{receiver.port}/alerts
            min_severity: critical
          - name: journal
            url: jsonl://.rlswarm/alerts.jsonl
        """,
    )
    receiver.start()
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--", "sh", "-c", "echo 'BOOM 5'; sleep 3"],
        cwd=cwd,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert [a["rule"] for a in receiver.alerts()] == ["boom"]  # via the fallback, though < critical
    journal = [json.loads(x) for x in (cwd / ".rlswarm" / "alerts.jsonl").read_text().splitlines()]
    assert [a["rule"] for a in journal] == ["boom", "delivery-failing"]
    assert "channel 'sms' could not deliver 1 alert(s)" in journal[1]["summary"]


def assert_no_secret(cwd: Path, output: bytes) -> None:
    """Nothing the tool printed or wrote holds the secret."""
    assert SECRET.encode() not in output
    for path in (cwd / ".rlswarm").rglob("*"):
        if path.is_file() and path.name != ".env":
            assert SECRET.encode() not in path.read_bytes(), path


def channels_command(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine", "channels", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


def test_channels_add_offers_alertmanager(tmp_path: Path) -> None:
    proc = channels_command(
        tmp_path,
        "add",
        "--service",
        "alertmanager",
        "--name",
        "am",
        "--field",
        "host=127.0.0.1:9093",
    )
    assert proc.returncode == 0, proc.stderr
    written = (tmp_path / "channels.yaml").read_text()
    assert "url: 'alertmanager://127.0.0.1:9093'" in written
    listed = channels_command(tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert "am " in listed.stdout and "alertmanager://" in listed.stdout


def test_every_network_channel_has_a_default_rate() -> None:
    """Only the local channels go unlimited; `rate: 0/m` still means no limit."""
    for scheme in channelconf.apprise_schemes():
        rate = channelconf._rate(None, scheme)
        if scheme in ("console", "jsonl"):
            assert rate is None
        else:
            assert rate is not None and 0 < rate <= 2, scheme
    assert channelconf._rate("0/m", "json") is None
    assert channelconf._rate("120/m", "json") == 2.0


def test_a_storm_to_a_json_webhook_becomes_digests(tmp_path: Path, receiver: Receiver) -> None:
    """300 alerts at once to a `json://` webhook without a `rate`: at most 60 requests in the
    minute, alerts beyond the rate merged into digests (what the rate still held back when
    the run ended: one last digest), every alert in them, in order."""
    receiver.start()
    cwd = workdir_with(
        tmp_path,
        f"""\
        channels:
          - name: hook
            url: json://127.0.0.1:{receiver.port}/alerts
        """,
    )
    proc = start_run(cwd, "sh", "-c", "for i in $(seq 1 300); do echo BOOM $i; done")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    numbers: list[int] = []
    for message in receiver.alerts():
        records = message.get("digest", [message])
        numbers += [r["values"]["n"] for r in records]
    with sqlite3.connect(str(cwd / ".rlswarm" / "outbox.sqlite")) as db:
        query = "SELECT payload FROM items WHERE state = 'pending' ORDER BY id"
        queued = [json.loads(row[0])["values"]["n"] for row in db.execute(query)]
    assert numbers == list(range(1, 301)) and queued == []
    assert len(receiver.bodies) <= 61  # the default, 60 a minute, and the last digest


def lint_command(cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine", "lint", "rules"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True)


HOOKS = """\
    channels:
      - name: hook
        url: json://127.0.0.1:9/alerts?-token=${TOK}
      - name: other
        url: json://127.0.0.1:9/other?-token=${BAD}
    """


def test_a_dotenv_line_that_is_not_utf8_costs_that_line_only(tmp_path: Path) -> None:
    cwd = workdir_with(tmp_path, HOOKS)
    (cwd / ".env").write_bytes(b"# secrets\nBAD=caf\xe9\nTOK=" + SECRET.encode() + b"\n")
    (cwd / ".env").chmod(0o600)
    proc = lint_command(cwd)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert (
        ".env:2: warning: this line (sets BAD) is not valid UTF-8 (byte 0xe9 at column 8) and "
        "is skipped; the other lines are read. Save the file as UTF-8" in lines
    )
    assert (
        "channels.yaml:5: channel 'other': ${BAD} not set: .env:2 sets it, but that line is not "
        "valid UTF-8; set it in the environment or in .env beside this file" in lines
    )
    assert not any("'hook'" in line for line in lines)  # ${TOK}, on a good line, was read
    assert SECRET not in proc.stdout + proc.stderr


def test_a_dotenv_that_is_a_directory_is_named_as_one(tmp_path: Path) -> None:
    cwd = workdir_with(tmp_path, HOOKS)
    (cwd / ".env").mkdir()
    proc = lint_command(cwd)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert (
        ".env: warning: not read: it is a directory, not a file; make it a file of NAME=value "
        "lines (chmod 600), or remove it" in lines
    )
    assert (
        "channels.yaml:3: channel 'hook': ${TOK} not set: .env was not read (it is a directory, "
        "not a file); set it in the environment or in .env beside this file" in lines
    )
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("mode", "who"),
    [(0o666, "anyone on this machine read and change"), (0o640, "its group read")],
)
def test_a_dotenv_others_may_read_is_warned_of(tmp_path: Path, mode: int, who: str) -> None:
    cwd = workdir_with(tmp_path, HOOKS, f"TOK={SECRET}\nBAD=x\n")
    (cwd / ".env").chmod(mode)
    warning = (
        f".env: warning: mode {mode:04o} lets {who} this file of secrets; make it the owner's "
        "alone: chmod 600 .env"
    )
    proc = lint_command(cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a warning, not an error
    assert warning in proc.stdout.splitlines()
    run = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--", "sh", "-c", "echo started"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines()[0] == warning  # said before the training starts
    (cwd / ".env").chmod(0o600)
    assert warning not in lint_command(cwd).stdout
    assert SECRET not in proc.stdout + run.stdout + run.stderr


def test_a_fallback_cycle_is_an_error_at_its_fallback_line(tmp_path: Path) -> None:
    cwd = workdir_with(
        tmp_path,
        """\
        channels:
          - name: journal
            url: jsonl://.rlswarm/alerts.jsonl
          - name: a
            url: json://127.0.0.1:9/a
            fallback: b
          - name: b
            url: json://127.0.0.1:9/b
            fallback: c
          - name: c
            url: json://127.0.0.1:9/c
            fallback: a
          - name: d
            url: json://127.0.0.1:9/d
            fallback: a
        """,
    )
    proc = lint_command(cwd)
    assert proc.returncode == 1
    cycle = [line for line in proc.stdout.splitlines() if "cycle" in line]
    assert cycle == [
        "channels.yaml:6: channel 'a': fallback cycle a -> b -> c -> a: an alert none of them "
        "can deliver would be handed round forever; end the chain at a channel without a fallback"
    ]
    run = start_run(cwd, "true")
    _, err = run.communicate(timeout=60)
    assert run.returncode == 2 and b"fallback cycle a -> b -> c -> a" in err
