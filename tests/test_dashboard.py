"""The dashboard end to end: real `run`/`watch` processes, real HTTP on loopback.

The long test runs the built-in demo with `--demo-fault crash` under
`bin/rlswarm-rules`, reads the URL from its notice and follows /api/state,
/api/events and /metrics while the demo trains, crashes and waits to restart.
The others use small children to check the token, the bind check, a taken
port, `--node`, `watch` and `--no-dashboard`.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
SECRET = "hunter2-dashboard-secret"
SLEEP = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    """A running `rlswarm-rules` with its stderr collected line by line."""

    def __init__(self, cwd: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "engine", *args]
        if args[0] == "bin":
            command = [str(ROOT / "bin" / "rlswarm-rules"), *args[1:]]
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self.stdout = b""
        self._readers = [
            threading.Thread(target=self._read_err, daemon=True),
            threading.Thread(target=self._read_out, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout.read()

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait_line(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.stderr}")

    def url(self) -> str:
        return self.wait_line(r"dashboard: (http://\S+)").group(1)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            tail = self.stderr[-3000:]
            raise AssertionError(f"not stopped {timeout}s after SIGINT; it said:\n{tail}") from None
        for reader in self._readers:
            reader.join(5)
        return code


@pytest.fixture
def nodes() -> Iterator[list[Node]]:
    started: list[Node] = []
    yield started
    for node in started:
        if node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait(10)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def state(base: str, suffix: str = "") -> dict[str, Any]:
    status, _, body = get(base + "api/state" + suffix)
    assert status == 200, body
    result: dict[str, Any] = json.loads(body)
    return result


def wait_state(
    base: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 90.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        last = state(base)
        if predicate(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"the state never got there; last: {json.dumps(last)[:3000]}")


def sse_states(base: str, count: int, suffix: str = "", timeout: float = 20.0) -> list[Any]:
    """The first `count` `state` events of /api/events, parsed."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    conn.request("GET", "/api/events" + suffix)
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    states: list[Any] = []
    event = ""
    try:
        while len(states) < count:
            line = response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "state":
                states.append(json.loads(line[len("data: ") :]))
            elif line == "":
                event = ""
    finally:
        conn.close()
    return states


def scrape(base: str, suffix: str = "") -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    status, headers, body = get(base + "metrics" + suffix)
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def names_and_labels(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> set[str]:
    return {f"{name}{{{','.join(sorted(k for k, _ in labels))}}}" for name, labels in samples}


# --- the demo, end to end -----------------------------------------------------------------


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    dead = free_port()  # nothing listens there: the hook channel keeps failing
    (tmp_path / "channels.yaml").write_text(
        textwrap.dedent(
            f"""\
            project: dashboard-test
            channels:
              - name: journal
                url: jsonl://.rlswarm/alerts.jsonl
              - name: hook
                url: json://user:${{HOOK_SECRET}}@127.0.0.1:{dead}/alerts/${{HOOK_SECRET}}
                retry: 1s
            """
        )
    )
    (tmp_path / ".env").write_text(f"HOOK_SECRET={SECRET}\n")
    return tmp_path


def test_the_demo_seen_through_the_dashboard(demo_dir: Path, nodes: list[Node]) -> None:
    node = Node(
        demo_dir,
        [
            "bin",
            "run",
            "--demo-fault",
            "crash",
            "--restart",
            "on-failure",
            "--backoff",
            "5m",
            "--interval",
            "1s",
            "--dashboard-port",
            "0",
        ],
    )
    nodes.append(node)
    base = node.url()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", base)

    # samples appear while the demo trains
    first = wait_state(base, lambda s: len(s["series"]["t"]) >= 2)
    assert first["node"] == socket.gethostname() and first["project"] == "dashboard-test"
    assert first["mode"] == "run"
    later = wait_state(base, lambda s: len(s["series"]["t"]) >= len(first["series"]["t"]) + 2)
    assert later["now"] > first["now"]
    series = later["series"]
    assert all(len(series[k]) == len(series["t"]) for k in series)
    assert all(isinstance(v, float) for v in series["cpu_percent"])
    assert any(isinstance(v, float) and v > 0 for v in series["proc_rss_gb"])

    running = wait_state(base, lambda s: s["training"]["state"] == "running")
    training = running["training"]
    assert "train.py --fault crash" in training["command"] and training["pid"] > 0
    assert training["uptime_s"] >= 0 and training["restarts"] == 0

    # the stream sends the same snapshot, about once a second
    events = sse_states(base, 3)
    assert [set(e) for e in events] == [set(running)] * 3
    assert events[2]["now"] > events[0]["now"]

    # the fault: an alert with its reason, the exit and the restart to come
    # (the exit folds into the exception's alert: one critical alert for the crash)
    crashed = wait_state(
        base, lambda s: any(a["rule"] == "python-exception" for a in s["alerts"]), timeout=120
    )
    (alert,) = [a for a in crashed["alerts"] if a["rule"] == "python-exception"]
    assert alert["reason"] == "first" and alert["severity"] == "critical"
    assert alert["summary"].startswith("the trainer raised RuntimeError: demo fault")
    assert not any(a["rule"] == "trainer-crashed" for a in crashed["alerts"])
    waiting = wait_state(base, lambda s: s["training"]["state"] == "restarting")
    assert waiting["training"]["exit_code"] == 1 and waiting["training"]["restarts"] == 1
    assert waiting["training"]["pid"] is None and waiting["training"]["uptime_s"] is None
    fix = waiting["training"]["fix"]
    assert fix["applied"] is True and "accelerate 1.8.1: fix applied" in fix["detail"]

    # the failing channel: pending, failing, its error scrubbed
    hook = wait_state(
        base, lambda s: any(c["name"] == "hook" and c["failing"] for c in s["outbox"]["channels"])
    )
    (channel,) = [c for c in hook["outbox"]["channels"] if c["name"] == "hook"]
    assert channel["pending"] >= 1 and channel["last_error"]
    assert hook["outbox"]["pending"] >= channel["pending"]

    samples = scrape(base)
    assert names_and_labels(samples) >= {
        "rlswarm_host_cpu_percent{}", "rlswarm_host_mem_percent{}", "rlswarm_host_swap_percent{}",
        "rlswarm_host_disk_percent{}", "rlswarm_seconds_since_progress{}",
        "rlswarm_training_up{}", "rlswarm_restarts_total{}", "rlswarm_fix_applied{}",
        "rlswarm_alerts_total{rule,severity}", "rlswarm_outbox_pending{channel}",
        "rlswarm_deliveries_total{channel,result}", "rlswarm_lines_total{}",
        "rlswarm_node_info{node,project,version}",
    }  # fmt: skip
    crash_key = (
        "rlswarm_alerts_total",
        frozenset({("rule", "python-exception"), ("severity", "critical")}),
    )
    assert samples[crash_key] == 1.0
    assert samples[("rlswarm_restarts_total", frozenset())] == 1.0
    assert samples[("rlswarm_training_up", frozenset())] == 0.0
    assert samples[("rlswarm_fix_applied", frozenset())] == 1.0
    assert samples[("rlswarm_lines_total", frozenset())] > 50
    ok = ("rlswarm_deliveries_total", frozenset({("channel", "journal"), ("result", "ok")}))
    failed = ("rlswarm_deliveries_total", frozenset({("channel", "hook"), ("result", "failed")}))
    assert samples[ok] >= 1 and samples[failed] >= 1  # the crash's one alert
    assert samples[("rlswarm_outbox_pending", frozenset({("channel", "hook")}))] >= 1

    # no secret anywhere the dashboard serves
    served = [get(base + "api/state")[2], get(base + "metrics")[2], get(base)[2]]
    page = served[-1].decode()
    for ref in set(re.findall(r"[\"'](static/[^\"'?]+)[\"']", page)):
        status, _, body = get(base + ref)
        assert status == 200, ref
        served.append(body)
    assert len(served) >= 6  # the page's scripts and styles
    assert not [b for b in served if SECRET.encode() in b]
    assert SECRET not in channel["last_error"]

    assert node.stop() == 1
    with pytest.raises(OSError):  # the server ended with the run
        get(base + "api/state")


# --- the flags ----------------------------------------------------------------------------


def test_a_token_guards_every_endpoint(tmp_path: Path, nodes: list[Node]) -> None:
    token = "t0ken-for-test"
    node = Node(tmp_path, ["run", "--dashboard-token", token, "--", *SLEEP])
    nodes.append(node)
    base = node.url()
    node.wait_line("requests need the token")
    for path in ("", "api/state", "api/events", "metrics", "static/app.js"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            status, reply, body = get(base + path, headers)
            assert status == 401, (path, headers)
            assert reply["WWW-Authenticate"].startswith("Bearer")
            assert token.encode() not in body
        status, _, _ = get(base + path + "?token=wrong")
        assert status == 401
    auth = {"Authorization": f"Bearer {token}"}
    status, headers, _ = get(base + "api/state", auth)
    assert status == 200
    assert headers["Referrer-Policy"] == "no-referrer"  # the page's ?token= stays on the page
    assert headers["Cache-Control"] == "no-store"
    assert state(base, f"?token={token}")["training"]["state"] in ("starting", "running")
    assert get(base + f"?token={token}")[0] == 200
    assert get(base + "metrics", auth)[0] == 200
    assert len(sse_states(base, 1, f"?token={token}")) == 1
    for scheme in ("bearer", "BEARER", "beArer"):  # HTTP's auth schemes know no case
        assert get(base + "api/state", {"Authorization": f"{scheme}  {token}"})[0] == 200
    assert get(base + "api/state", {"Authorization": f"Basic {token}"})[0] == 401
    node.stop()


def test_the_page_is_served_under_a_strict_content_security_policy(
    tmp_path: Path, nodes: list[Node]
) -> None:
    """Scripts from the page's origin and its own inline scripts (by hash) only; no inline
    styles, no other origin, no framing. tests/test_browser.py runs the page under it."""
    node = Node(tmp_path, ["run", "--", *SLEEP])
    nodes.append(node)
    base = node.url()
    status, headers, body = get(base)
    assert status == 200
    directives = [part.partition(" ") for part in headers["Content-Security-Policy"].split("; ")]
    policy = {name: value for name, _, value in directives}
    inline = re.findall(rb"<script>(.*?)</script>", body, re.S)
    assert len(inline) == 2
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in inline
    }
    assert set(policy["script-src"].split()) == {"'self'", *hashes}
    assert policy["default-src"] == "'none'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in headers["Content-Security-Policy"]
    for path in ("api/state", "metrics", "static/app.js"):
        assert "Content-Security-Policy" in get(base + path)[1]
    node.stop()


def test_another_address_without_a_token_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for command in (
        ["run", "--dashboard-bind", "0.0.0.0", "--", "touch", str(marker)],
        ["watch", "--dashboard-bind", "192.0.2.7", str(tmp_path / "x.log")],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "engine", *command],
            cwd=tmp_path,
            capture_output=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != "RLSWARM_DASHBOARD_TOKEN"},
        )
        assert proc.returncode == 2
        err = proc.stderr.decode()
        assert "Traceback" not in err
        assert "--dashboard-token" in err and "RLSWARM_DASHBOARD_TOKEN" in err
        assert not marker.exists()


def test_a_taken_port_is_only_a_notice(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "engine",
                "run",
                "--dashboard-port",
                str(port),
                "--",
                sys.executable,
                "-c",
                "print('the training ran')",
            ],
            cwd=tmp_path,
            capture_output=True,
            timeout=60,
        )
    assert proc.returncode == 0
    assert proc.stdout == b"the training ran\n"
    err = proc.stderr.decode()
    assert f"dashboard: cannot listen on http://127.0.0.1:{port}/ (the port is taken)" in err
    assert "going on without a dashboard" in err and "summary: exit code 0" in err


def test_the_port_comes_from_the_environment_and_no_dashboard_turns_it_off(
    tmp_path: Path, nodes: list[Node]
) -> None:
    port = free_port()
    node = Node(tmp_path, ["run", "--", *SLEEP], env={"RLSWARM_DASHBOARD_PORT": str(port)})
    nodes.append(node)
    assert node.url() == f"http://127.0.0.1:{port}/"
    node.stop()
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--no-dashboard", "--", "true"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0 and b"dashboard" not in proc.stderr


def test_node_name_everywhere_the_host_name_went(tmp_path: Path, nodes: list[Node]) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(
        "rules:\n  - id: boom\n    severity: error\n    log: BOOM\n    summary: 'boom on {host}'\n"
    )
    child = "import time; print('BOOM', flush=True); time.sleep(60)"
    node = Node(
        tmp_path,
        ["run", "--", sys.executable, "-c", child],
        env={"RLSWARM_NODE": "node-b"},
    )
    nodes.append(node)
    base = node.url()
    seen = wait_state(base, lambda s: bool(s["alerts"]))
    assert seen["node"] == "node-b"
    assert seen["alerts"][0]["summary"] == "boom on node-b"
    info = [labels for name, labels in scrape(base) if name == "rlswarm_node_info"]
    assert dict(info[0])["node"] == "node-b"
    node.stop()
    journal = (tmp_path / ".rlswarm" / "alerts.jsonl").read_text().splitlines()
    assert json.loads(journal[0])["host"] == "node-b"


def test_watch_serves_the_dashboard_too(tmp_path: Path, nodes: list[Node]) -> None:
    log = tmp_path / "train.log"
    log.write_text("old line, never read\n")
    node = Node(
        tmp_path,
        ["watch", str(log), "--node", "watcher", "--interval", "1s", "--dashboard-port", "0"],
    )
    nodes.append(node)
    base = node.url()
    node.wait_line("watching")
    with log.open("a") as f:
        f.write("step 1\nstep 2\nstep 3\n")
    seen = wait_state(base, lambda s: bool(s["series"]["t"]) and s["training"]["last_progress"])
    assert seen["mode"] == "watch" and seen["node"] == "watcher"
    assert seen["training"]["state"] == "watching"
    assert scrape(base)[("rlswarm_lines_total", frozenset())] == 3.0
    assert node.stop() == 0
