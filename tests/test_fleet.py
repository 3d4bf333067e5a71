"""The fleet path of docs/fleet.md, run for real: Debian's Alertmanager and Prometheus on
loopback, two supervised demo nodes that crash, Prometheus scraping both with the dashboard
token, Alertmanager grouping their alerts by rule and category and routing the critical ones
to the `phones` receiver, and Prometheus's `RlswarmNodeDown` once the nodes are stopped.

The configurations are the blocks marked ``# file:`` in docs/fleet.md, pointed at loopback
ports and temporary files, their intervals shortened, and checked with promtool and amtool;
the receivers become webhooks to this test. No process outlives the test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from promstack import (
    ALERTMANAGER,
    PROMETHEUS,
    Daemon,
    active_alerts,
    alertmanager,
    binary,
    get_json,
    prometheus,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "fleet.md"
TOKEN = "fleet-test-token-3f9a1c7e5b"
DASHBOARD = re.compile(r"dashboard: http://127\.0\.0\.1:(\d+)/")
_BLOCK = re.compile(r"```yaml\n# file: (\S+)\n(.*?)```", re.DOTALL)


def doc_files() -> dict[str, Any]:
    """The ``# file:`` blocks of docs/fleet.md, parsed."""
    found = {name: yaml.safe_load(text) for name, text in _BLOCK.findall(DOC.read_text())}
    expected = {
        "channels.yaml",
        "prometheus.yml",
        "rlswarm-nodes.yml",
        "prometheus-static.yml",
        "rlswarm-fleet.rules.yml",
        "alertmanager.yml",
    }
    assert set(found) == expected, sorted(found)
    return found


# --------------------------------------------------------------------------- configs


def alertmanager_config(doc: dict[str, Any], hooks: int) -> str:
    """The docs' routes and inhibitions as they are; waits of 1 s; receivers posting here."""
    doc["route"].update(group_wait="1s", group_interval="1s")
    doc["receivers"] = [
        {
            "name": r["name"],
            "webhook_configs": [{"url": f"http://127.0.0.1:{hooks}/{r['name']}"}],
        }
        for r in doc["receivers"]
    ]
    return yaml.safe_dump(doc)


def prometheus_config(doc: dict[str, Any], work: Path, am_port: int) -> dict[str, Any]:
    doc["global"].update(scrape_interval="1s", evaluation_interval="1s")
    doc["rule_files"] = [str(work / "rlswarm-fleet.rules.yml")]
    doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{am_port}"]
    [job] = doc["scrape_configs"]
    job["scrape_timeout"] = "1s"
    job["authorization"]["credentials_file"] = str(work / "rlswarm.token")
    job["file_sd_configs"][0]["files"] = [str(work / "rlswarm-nodes.yml")]
    return doc


def write_prometheus_files(files: dict[str, Any], work: Path, ports: list[int], am: int) -> str:
    """prometheus.yml and what it names; the nodes file lists the nodes' dashboard ports."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "rlswarm.token").write_text(TOKEN)
    nodes = files["rlswarm-nodes.yml"]
    for entry, port in zip(nodes, ports, strict=True):
        entry["targets"] = [f"127.0.0.1:{port}"]
    (work / "rlswarm-nodes.yml").write_text(yaml.safe_dump(nodes))
    rules = files["rlswarm-fleet.rules.yml"]
    for rule in rules["groups"][0]["rules"]:
        if "for" in rule:
            rule["for"] = "1s"
    (work / "rlswarm-fleet.rules.yml").write_text(yaml.safe_dump(rules))
    static = files["prometheus-static.yml"]
    static["scrape_configs"][0]["authorization"]["credentials_file"] = str(work / "rlswarm.token")
    (work / "prometheus-static.yml").write_text(yaml.safe_dump(static))
    return yaml.safe_dump(prometheus_config(files["prometheus.yml"], work, am))


def check(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}{done.stderr}"


# --------------------------------------------------------------------------- the nodes


@dataclass
class Node:
    name: str
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def stderr(self) -> str:
        return (self.workdir / "stderr.log").read_text(errors="replace")

    def dashboard_port(self) -> int:
        def port() -> int | None:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.stderr[-3000:]}")
            match = DASHBOARD.search(self.stderr)
            return int(match.group(1)) if match else None

        found = wait_for(port, 30)
        assert found, f"{self.name} printed no dashboard address:\n{self.stderr[-3000:]}"
        return int(found)

    def stop(self) -> None:
        """Ctrl-C, as an operator would; then make sure nothing of it is left."""
        if self.process.poll() is not None:
            return
        try:
            tree = [psutil.Process(self.process.pid)]
            tree += tree[0].children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            pass
        _gone, alive = psutil.wait_procs(tree, timeout=5)
        for proc in alive:
            proc.kill()
        self.process.wait(5)
        assert not alive, f"{self.name}: still running after Ctrl-C: {alive}"


def start_node(workdir: Path, name: str, channels: dict[str, Any], by_env: bool) -> Node:
    workdir.mkdir(parents=True)
    (workdir / "channels.yaml").write_text(yaml.safe_dump(channels))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLSWARM_")}
    env["RLSWARM_DASHBOARD_TOKEN"] = TOKEN
    naming = ["--node", name]
    if by_env:
        env["RLSWARM_NODE"], naming = name, []
    command = [
        *(sys.executable, "-m", "engine", "run", *naming, "--dashboard-port", "0"),
        *("--interval", "1s", "--demo-fault", "crash", "--restart", "on-failure"),
        *("--backoff", "5m"),  # crashed, the node waits (and is scraped) until stopped
    ]
    with open(workdir / "stderr.log", "wb") as err, open(workdir / "stdout.log", "wb") as out:
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
    return Node(name, workdir, process)


@contextmanager
def fleet(tmp: Path, files: dict[str, Any], am_port: int) -> Iterator[list[Node]]:
    names = [entry["labels"]["node"] for entry in files["rlswarm-nodes.yml"]]
    channels = files["channels.yaml"]
    [fleet_channel] = [c for c in channels["channels"] if c["url"].startswith("alertmanager://")]
    fleet_channel["url"] = f"alertmanager://127.0.0.1:{am_port}"
    nodes: list[Node] = []
    try:
        for i, name in enumerate(names):
            nodes.append(start_node(tmp / name, name, channels, by_env=i == 1))
        yield nodes
    finally:
        for node in nodes:
            node.stop()


# --------------------------------------------------------------------------- the receivers


@dataclass
class Hooks:
    """Alertmanager's receivers, as webhooks to this test: the notifications by receiver."""

    port: int = 0
    got: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def nodes_notified(self, receiver: str, rule: str) -> set[str]:
        return {
            alert["labels"]["node"]
            for message in self.got.get(receiver, [])
            if message["groupLabels"].get("rule") == rule
            for alert in message["alerts"]
        }


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    state = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            state.got.setdefault(self.path.strip("/"), []).append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(5)


# --------------------------------------------------------------------------- checks


def query(prom: Daemon, expr: str) -> list[dict[str, Any]]:
    url = f"{prom.url}/api/v1/query?query={urllib.parse.quote(expr)}"
    result: list[dict[str, Any]] = get_json(url)["data"]["result"]
    return result


def targets_up(prom: Daemon) -> dict[str, str]:
    active = get_json(f"{prom.url}/api/v1/targets")["data"]["activeTargets"]
    return {t["labels"].get("node", "?"): t["health"] for t in active}


def group_nodes(am: Daemon, labels: dict[str, str], receiver: str) -> set[str]:
    groups = get_json(f"{am.url}/api/v2/alerts/groups")
    return {
        alert["labels"]["node"]
        for group in groups
        if group["labels"] == labels and group["receiver"]["name"] == receiver
        for alert in group["alerts"]
    }


def scraped(prom: Daemon, names: set[str]) -> None:
    """Both targets up (with the token), each series with its node label, the rules evaluated."""
    up = wait_for(lambda: targets_up(prom) == dict.fromkeys(names, "up"), 20)
    assert up, targets_up(prom)
    assert wait_for(lambda: len(query(prom, "rlswarm_node_info")) == 2, 10)
    own = {r["metric"]["node"]: r["metric"]["project"] for r in query(prom, "rlswarm_node_info")}
    assert own == dict.fromkeys(names, "rl-swarm")  # each node named itself so
    cpu = {r["metric"]["node"] for r in query(prom, "rlswarm_host_cpu_percent")}
    assert cpu == names

    def nodes_up() -> list[str]:
        return [r["value"][1] for r in query(prom, "rlswarm:nodes_up:count")]

    assert wait_for(lambda: nodes_up() == ["2"], 10), nodes_up()  # a recording rule


def grouped(am: Daemon, hooks: Hooks, nodes: list[Node]) -> None:
    """Both nodes crash: one group per rule holds both, sent to `phones` and to `team`."""
    names = {node.name for node in nodes}
    crashed = {"rule": "python-exception", "category": "app_bug_crash"}
    together = wait_for(lambda: group_nodes(am, crashed, "phones") == names, 60, 0.5)
    assert together, (get_json(f"{am.url}/api/v2/alerts/groups"), nodes[0].stderr[-2000:])
    assert group_nodes(am, crashed, "team") == names  # critical: phones *and* team

    def notified(receiver: str) -> bool:
        return hooks.nodes_notified(receiver, "python-exception") == names

    assert wait_for(lambda: notified("phones") and notified("team"), 15), hooks.got
    first = nodes[0].name
    [labels] = [
        a["labels"]
        for a in active_alerts(am)
        if a["labels"]["alertname"] == "python-exception" and a["labels"]["node"] == first
    ]
    assert labels == {
        "alertname": "python-exception",
        "rule": "python-exception",
        "severity": "critical",
        "category": "app_bug_crash",
        "pack": "rlswarm",
        "node": first,
        "project": "rl-swarm",
    }


def test_prometheus_scrapes_both_nodes_and_alertmanager_groups_their_alerts(
    tmp_path: Path, hooks: Hooks
) -> None:
    promtool, amtool = binary("promtool"), binary("amtool")
    for daemon in (PROMETHEUS, ALERTMANAGER):
        binary(daemon)
    files = doc_files()
    check(amtool, "check-config", str(_written(tmp_path / "doc-am.yml", files["alertmanager.yml"])))
    am_config = alertmanager_config(files["alertmanager.yml"], hooks.port)

    with alertmanager(tmp_path / "am", am_config) as am, fleet(tmp_path, files, am.port) as nodes:
        check(amtool, "check-config", str(tmp_path / "am" / "alertmanager.yml"))
        names = {node.name for node in nodes}
        ports = [node.dashboard_port() for node in nodes]
        work = tmp_path / "prom"
        config = write_prometheus_files(files, work, ports, am.port)
        with prometheus(work, config) as prom:
            check(promtool, "check", "config", str(work / "prometheus.yml"))
            check(promtool, "check", "config", str(work / "prometheus-static.yml"))
            scraped(prom, names)
            grouped(am, hooks, nodes)

            # stopped nodes cannot send their own alert: Prometheus's up == 0 does
            for node in nodes:
                node.stop()
            down = {"rule": "node-down", "category": "node_down"}
            gone = wait_for(lambda: group_nodes(am, down, "phones") == names, 20, 0.5)
            assert gone, get_json(f"{am.url}/api/v2/alerts/groups")


def _written(path: Path, doc: Any) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path
