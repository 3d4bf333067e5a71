"""No secret leaves the tool: one secret set through `.env` and one typed inline in a URL's
path, and every output of every command scanned for them.

The commands run as real processes in one working directory: `lint`, `channels list`,
`channels test` (one channel up, one down), `channels add`, `run` (with its dashboard's
every endpoint read while it runs), `watch`, `replay`, `doctor` (loopback only); then the
outbox file, the journal and the captured log are read as bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from test_dashboard import Node
from test_delivery import RULES, Receiver, free_port, wait_for

from engine.notify import channels as channelconf
from engine.notify import secrets as secret_parts
from engine.packs import yamlio

ENV_SECRET = "Zq7EnvS3cretTok3n"  # set in .env, used as a path segment and as a password
INLINE_SECRET = "Pa7hInl1neS3cretV4lue"  # typed into channels.yaml, in a URL's path
SECRETS = (ENV_SECRET, INLINE_SECRET)


def leaks(data: bytes | str) -> list[str]:
    """The secrets found in `data`, as they are or percent-encoded."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return [s for s in SECRETS if s in text or quote(s, safe="") in text]


def command(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    (tmp_path / ".env").write_text(f"HOOK_TOKEN={ENV_SECRET}\n")
    (tmp_path / ".env").chmod(0o600)
    return tmp_path


def channels_file(cwd: Path, port: int) -> None:
    (cwd / "channels.yaml").write_text(
        textwrap.dedent(
            f"""\
            channels:
              - name: console
                url: console://
              - name: journal
                url: jsonl://.rlswarm/alerts.jsonl
              - name: hook
                url: json://127.0.0.1:{port}/hook/${{HOOK_TOKEN}}
              - name: dead
                url: json://user:${{HOOK_TOKEN}}@127.0.0.1:{free_port()}/p/{INLINE_SECRET}
                retry: 200ms
            """
        )
    )


def read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return bytes(reply.read())


def first_event(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as reply:
        data = b""
        while b"\n\n" not in data.partition(b"event: state")[2]:
            data += reply.read1(65536)
        return data


def test_no_secret_in_any_output_of_any_command(workdir: Path) -> None:
    receiver = Receiver(free_port())
    receiver.start()
    try:
        channels_file(workdir, receiver.port)
        outputs: dict[str, str | bytes] = {}

        for args in (("lint", "rules"), ("channels", "list"), ("channels", "test")):
            proc = command(workdir, *args)
            outputs[" ".join(args)] = proc.stdout + proc.stderr
        assert "hook" in str(outputs["channels list"]) and "dead" in str(outputs["channels list"])
        assert "FAILED" in str(outputs["channels test"])  # 'dead' is down: its error is shown

        node = Node(workdir, ["run", "--", "sh", "-c", "echo BOOM 1; sleep 30"])
        try:
            base = node.url()
            assert wait_for(lambda: len(receiver.bodies) >= 1, 20)
            assert wait_for(lambda: b"channel 'dead' failed" in node.stderr.encode(), 20)
            time.sleep(1.5)  # the dashboard publishes the failing channel
            for path in ("", "api/state", "metrics", "static/app.js"):
                outputs[f"GET /{path}"] = read(base + path)
            outputs["GET /api/events"] = first_event(base + "api/events")
            state = json.loads(read(base + "api/state"))
            dead = next(c for c in state["outbox"]["channels"] if c["name"] == "dead")
            assert dead["failing"] and dead["last_error"]
        finally:
            node.stop()
        outputs["run"] = node.stderr.encode() + node.stdout

        (workdir / "app.log").write_text("")
        watch = Node(workdir, ["watch", "--interval", "1s", "app.log"])
        try:
            watch.url()
            with (workdir / "app.log").open("a") as log:
                log.write("BOOM 2\n")
            assert wait_for(lambda: len(receiver.bodies) >= 2, 20)
        finally:
            watch.stop()
        outputs["watch"] = watch.stderr.encode() + watch.stdout

        replay = command(workdir, "replay", "app.log")
        assert "boom" in replay.stdout
        doctor = command(
            workdir, "doctor", "--python", sys.executable, "--hosts", "127.0.0.1:9",
            "--timeout", "1s",
        )  # fmt: skip
        added = command(
            workdir, "channels", "add", "--service", "custom", "--name", "extra",
            "--field", f"url=json://127.0.0.1:9/x/{INLINE_SECRET}",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        for name, proc in (("replay", replay), ("doctor", doctor), ("channels add", added)):
            outputs[name] = proc.stdout + proc.stderr
        outputs["received"] = json.dumps(receiver.bodies)
    finally:
        receiver.stop()

    state_dir = workdir / ".rlswarm"
    written = [p for p in state_dir.rglob("*") if p.is_file()]
    names = {p.relative_to(state_dir).as_posix() for p in written}
    assert {"outbox.sqlite", "alerts.jsonl", "logs/run.log"} <= names
    for path in written:
        outputs[str(path.relative_to(workdir))] = path.read_bytes()
    found = {name: leaks(data) for name, data in outputs.items() if leaks(data)}
    assert found == {}, found


def test_channels_list_masks_env_values_and_private_parts() -> None:
    """What Apprise's privacy form shows is masked too: a `${VAR}` value in a webhook's path,
    an inline token in it, a header, and the abbreviated tokens (`1...r`) of Telegram; of the
    query, only the arguments the URL itself sets are shown."""
    text = textwrap.dedent(
        f"""\
        channels:
          - name: path
            url: json://127.0.0.1:9/p/${{TOK}}?-key=${{KEY}}
          - name: inline
            url: form://user:pw-{INLINE_SECRET}@127.0.0.1:9/p/{INLINE_SECRET}
          - name: header
            url: xml://127.0.0.1:9/x?+Authorization=Bearer%20xyz
          - name: telegram
            url: tgram://123456789:AAbbCCddEEffGG/12345
          - name: quiet-telegram
            url: tgram://123456789:AAbbCCddEEffGG/12345?silent=yes
          - name: short
            url: json://127.0.0.1:9/p/${{SHORT}}
        """
    )
    env = {"TOK": ENV_SECRET, "KEY": "k", "SHORT": "ab"}
    channels = channelconf.parse(yamlio.parse(text, "channels.yaml"), env)
    shown = {c.name: c.privacy for c in channels.channels}
    assert shown["path"] == "json://127.0.0.1:9/p/****?-key=****"
    assert shown["inline"] == "form://user:****@127.0.0.1:9/p/****"
    assert shown["header"] == "xml://127.0.0.1:9/x?+Authorization=****"
    # only the arguments the user wrote: not Apprise's nor the plugin's defaults
    assert shown["telegram"] == "tgram://****/12345/"
    assert shown["quiet-telegram"] == "tgram://****/12345/?silent=yes"
    assert shown["short"] == "json://127.0.0.1:9/p/****"
    error = f"HTTP 401 for /p/{INLINE_SECRET} and /p/{ENV_SECRET} with 123456789:AAbbCCddEEffGG"
    assert leaks(channels.scrub(error)) == [] and "AAbbCCddEEffGG" not in channels.scrub(error)
    record = {"line": f"token={ENV_SECRET}", "context": [INLINE_SECRET], "values": {"n": 1}}
    assert channels.scrub_value(record) == {
        "line": "token=****",
        "context": ["****"],
        "values": {"n": 1},
    }


def test_a_plugin_declares_what_is_private() -> None:
    """Path tokens a plugin marks `"private": True` are secrets, wherever they sit."""
    text = (
        "channels:\n"
        "  - {name: slack, url: 'slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general'}\n"
        "  - {name: ding, url: 'dingtalk://SECabcdef@5ec7e7a0b1c2d3e4f5a6/'}\n"
    )
    channels = channelconf.parse(yamlio.parse(text, "channels.yaml"), {})
    slack, ding = channels.channels
    assert {"T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"} <= set(slack.secrets)
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in slack.privacy and "T...2" not in slack.privacy
    assert {"SECabcdef", "5ec7e7a0b1c2d3e4f5a6"} <= set(ding.secrets)
    assert secret_parts.credential_like("S3cr3tValue")
    assert not secret_parts.credential_like("alerts") and not secret_parts.credential_like("v1")


def test_a_secret_the_training_prints_is_masked_in_its_alert(workdir: Path) -> None:
    """The matched line and its context go to every channel and the outbox scrubbed. (The
    training's own output, passed through to the terminal and the capture, is its own.)"""
    receiver = Receiver(free_port())
    receiver.start()
    try:
        channels_file(workdir, receiver.port)
        script = f"echo 'connecting with {ENV_SECRET}'; echo 'BOOM 7 at /p/{INLINE_SECRET}'"
        run = command(workdir, "run", "--", "sh", "-c", script)
        assert run.returncode == 0, run.stderr
        assert wait_for(lambda: len(receiver.bodies) >= 1, 20)
    finally:
        receiver.stop()
    (alert,) = receiver.alerts()
    assert alert["line"] == "BOOM 7 at /p/****"
    assert alert["context"] == ["connecting with ****"]
    state_dir = workdir / ".rlswarm"
    for path in (state_dir / "alerts.jsonl", *state_dir.glob("outbox.sqlite*")):
        assert leaks(path.read_bytes()) == [], path
    assert leaks(json.dumps(receiver.bodies)) == []


def test_a_url_apprise_refuses_is_reported_without_its_token(tmp_path: Path) -> None:
    """Apprise's reason names the URL, abbreviated (`tgram://N...n/`): not even that."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    token = "NotAV4lidB0tToken"
    (tmp_path / "channels.yaml").write_text(
        f"channels:\n  - name: tg\n    url: tgram://{token}/12345\n"
    )
    proc = command(tmp_path, "lint", "rules")
    assert proc.returncode == 1
    (line,) = [x for x in proc.stdout.splitlines() if "channel 'tg'" in x]
    assert line.startswith("channels.yaml:3: channel 'tg': Apprise refused this tgram:// URL")
    assert token not in line and "N...n" not in line
