"""The ``alertmanager://`` channel: the exact request against a loopback receiver (path, JSON
body, labels, times, auth header), refusals and outages reported as delivery reports them,
and the real Debian ``prometheus-alertmanager`` holding an alert until its resolution ends it.

Nothing leaves the machine: every request goes to 127.0.0.1 and a guard fails any other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import Any

import apprise
import pytest
from histories import TICK, Line, event, feed_one_by_one, make_engine, metrics
from offline import Captured, apprise_warnings, loopback_server, plugins_offline
from promstack import active_alerts, alertmanager, free_port, wait_for

from engine.errors import ConfigError
from engine.model import Decision, Kind, Reason, Severity
from engine.notify import channels as channelconf
from engine.notify.delivery import Delivery, send_via
from engine.notify.outbox import Outbox
from engine.notify.plugins import NotifyAlertmanager
from engine.notify.plugins._alerts import EXPIRE, HOLD, alert_of, rfc3339
from engine.notify.record import alert_record
from engine.notify.render import render, render_digest
from engine.packs import yamlio

T0 = 1_764_250_000.0  # 2025-11-27T13:26:40Z
TOKEN = "am-token-5ec7e7a0b1"
PASSWORD = "pa55-w0rd-9f8e"


@dataclass
class Receiver:
    """A loopback HTTP server standing in for Alertmanager: records requests, replies as told."""

    port: int
    requests: list[Captured] = field(default_factory=list)
    status: int = 200
    reply: str = ""

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def alerts(self) -> list[dict[str, Any]]:
        return [alert for request in self.requests for alert in request.body]


@pytest.fixture(autouse=True)
def _registered_and_offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from plugins_offline(monkeypatch)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=0)

    def handle(method: str, path: str, headers: Message, body: bytes) -> tuple[int, bytes]:
        state.requests.append(Captured(method, path, headers, json.loads(body)))
        return state.status, state.reply.encode()

    with loopback_server(handle) as port:
        state.port = port
        yield state


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    with apprise_warnings() as seen:
        yield seen


def plugin_for(url: str) -> Any:
    plugin = apprise.Apprise.instantiate(url)
    assert isinstance(plugin, NotifyAlertmanager), url
    return plugin


def decision(rule: str = "cuda-oom", t: float = T0, **fields: Any) -> Decision:
    base: dict[str, Any] = dict(
        t=t,
        rule=rule,
        group="",
        reason=Reason.FIRST,
        severity=Severity.CRITICAL,
        summary="GPU out of memory (tried to allocate 2.00 GiB)",
        advice="Lower the batch size.",
        labels={"category": "oom_gpu", "pack": "rlswarm"},
        source="stdout",
        line="torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
        line_no=42,
        kind=Kind.LOG,
    )
    return Decision(**{**base, **fields})


def record(d: Decision, host: str = "gpu-node-07", project: str = "swarm") -> dict[str, Any]:
    return alert_record(d, host, project)


def post(url: str, *records: dict[str, Any]) -> bool:
    """Send as delivery does: the record rendered in the channel's style (json)."""
    client = apprise.Apprise()
    assert client.add(url)
    style = channelconf.STYLES[url.split("://", 1)[0]]
    if len(records) == 1:
        message = render(records[0], style, "swarm")
    else:
        message = render_digest(records, style, "swarm")
    ok, _ = send_via(client, message, lambda text: text)
    return ok


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------- the request


def test_a_log_alert_is_posted_with_its_labels_annotations_and_times(receiver: Receiver) -> None:
    url = f"alertmanager://{receiver.hostport}/am/prefix/"
    rec = record(decision())
    assert channelconf.STYLES["alertmanager"] == "json"
    assert post(url, rec)

    [sent] = receiver.requests
    assert (sent.method, sent.path) == ("POST", "/am/prefix/api/v2/alerts")
    assert sent.headers["Content-Type"] == "application/json; charset=utf-8"
    assert sent.headers["Authorization"] is None
    [alert] = sent.body
    assert alert["labels"] == {
        "alertname": "cuda-oom",
        "rule": "cuda-oom",
        "severity": "critical",
        "category": "oom_gpu",
        "pack": "rlswarm",
        "node": "gpu-node-07",
        "project": "swarm",
    }
    assert alert["annotations"]["summary"] == "GPU out of memory (tried to allocate 2.00 GiB)"
    assert alert["annotations"]["advice"] == "Lower the batch size."
    description = alert["annotations"]["description"]
    assert description.startswith("CRITICAL cuda-oom: GPU out of memory")
    assert "torch.OutOfMemoryError: CUDA out of memory." in description
    assert f"alert id: {rec['key']}" in description
    # a one-off (log) alert: active for an hour from its time
    assert alert["startsAt"] == "2025-11-27T13:26:40.000Z"
    assert alert["endsAt"] == "2025-11-27T14:26:40.000Z"
    assert set(alert) == {"labels", "annotations", "startsAt", "endsAt"}


def test_grouped_alerts_are_distinct_and_repeats_start_at_their_first_occurrence(
    receiver: Receiver,
) -> None:
    url = f"alertmanager://{receiver.hostport}"
    repeated = decision(group="peer-7", count=4, since=T0 - 90, reason=Reason.DIGEST)
    assert post(url, record(repeated))
    [alert] = receiver.alerts()
    assert alert["labels"]["group"] == "peer-7"
    assert alert["startsAt"] == rfc3339(T0 - 90)
    assert alert["endsAt"] == rfc3339(T0 + 3600)
    assert "more since 13:25 UTC" in alert["annotations"]["description"]


def test_a_stateful_alert_holds_until_its_resolution_ends_it(receiver: Receiver) -> None:
    url = f"alertmanager://{receiver.hostport}"
    stalled = decision(
        "training-stalled",
        severity=Severity.ERROR,
        summary="no progress for 30m",
        labels={"category": "stall_no_progress"},
        source=None,
        line=None,
        line_no=None,
        values={"silent_s": 1800.0, "silent_for": "30m"},
        kind=Kind.ABSENT,
    )
    assert post(url, record(stalled))
    resolved = decision(
        "training-stalled",
        t=T0 + 600,
        reason=Reason.RESOLVED,
        severity=Severity.ERROR,
        summary="no progress for 40m",
        labels={"category": "stall_no_progress"},
        source=None,
        line=None,
        line_no=None,
        duration_s=2400.0,
        kind=Kind.ABSENT,
    )
    assert post(url, record(resolved))

    firing, ended = receiver.alerts()
    assert firing["labels"] == ended["labels"]  # the same alert to Alertmanager
    assert (firing["startsAt"], firing["endsAt"]) == (rfc3339(T0), rfc3339(T0 + 24 * 3600))
    assert (ended["startsAt"], ended["endsAt"]) == (rfc3339(T0 + 600 - 2400), rfc3339(T0 + 600))
    assert ended["annotations"]["description"].startswith("RESOLVED training-stalled after 40m")
    assert "advice" not in ended["annotations"]


@pytest.mark.parametrize(
    ("fields", "hours"),
    [
        ({"kind": "metric"}, 24),  # told by the record
        ({"kind": "absent"}, 24),
        ({"kind": "event"}, 1),
        ({"kind": "log"}, 1),
        ({"kind": None, "values": None}, 1),  # made up by delivery: delivery-failing, test
    ],
)
def test_how_long_a_firing_stays_active(
    receiver: Receiver, fields: dict[str, Any], hours: int
) -> None:
    rec = {**record(decision(source=None, line=None, line_no=None)), **fields}
    assert post(f"alertmanager://{receiver.hostport}", rec)
    [alert] = receiver.alerts()
    assert alert["endsAt"] == rfc3339(T0 + hours * 3600)


KINDS = """\
rules:
  - id: boom
    severity: error
    log: 'BOOM'
  - id: mem-high
    severity: warning
    metric: mem_percent > 90
    repeat: 1m
  - id: quiet
    severity: error
    absent: activity
    for: 10s
  - id: crashed
    severity: critical
    event: exit
    where: code != 0
"""


def test_the_real_core_s_alerts_get_the_lifetime_of_their_kind() -> None:
    """Decisions of the real engine, as delivery records them: only metric and absent rules
    (which resolve) hold; log and event alerts expire; resolutions end at their time."""
    history = [
        (0.0, metrics(mem_percent=95.0)),
        (1.0, Line("BOOM")),
        (20.0, TICK),
        (70.0, TICK),
        (80.0, metrics(mem_percent=50.0)),
        (81.0, Line("back")),
        (90.0, event("exit", code=1, signal=0, runtime_s=90.0)),
    ]
    seen = []
    for d in feed_one_by_one(make_engine(KINDS), history):
        if d.reason.notifies:
            alert = alert_of(record(d), EXPIRE, HOLD, now=T0)
            seen.append((d.rule, d.reason.value, stamp(alert["endsAt"]) - d.t))
    assert seen == [
        ("mem-high", "first", HOLD),
        ("boom", "first", EXPIRE),
        ("quiet", "first", HOLD),
        ("mem-high", "repeat", HOLD),
        ("mem-high", "resolved", 0.0),
        ("quiet", "resolved", 0.0),
        ("crashed", "first", EXPIRE),
    ]


def test_lifetimes_are_options_of_the_url(receiver: Receiver) -> None:
    url = f"alertmanager://{receiver.hostport}?expire=10m&hold=2h30m"
    assert post(url, record(decision()))
    assert post(url, {**record(decision()), "kind": "metric"})
    one_off, held = receiver.alerts()
    assert one_off["endsAt"] == rfc3339(T0 + 600)
    assert held["endsAt"] == rfc3339(T0 + 9000)


def test_a_resolution_from_a_clock_ahead_ends_before_alertmanagers_now(
    receiver: Receiver,
) -> None:
    plugin = plugin_for(f"alertmanager://{receiver.hostport}")
    plugin.clock = lambda: time.time() + 120  # this node's clock runs two minutes ahead
    started = plugin.clock()
    assert plugin.notify(body=json.dumps({**record(decision(t=started)), "kind": "metric"}))
    ahead = record(decision(t=plugin.clock(), reason=Reason.RESOLVED, duration_s=30.0))
    assert plugin.notify(body=json.dumps(ahead))
    firing, ended = receiver.alerts()
    assert stamp(firing["startsAt"]) == pytest.approx(started, abs=0.01)
    # ended by the receiver's clock (its Date header), 2 s early at least: not left firing
    assert time.time() - 4 < stamp(ended["endsAt"]) <= time.time() - 1
    assert stamp(ended["startsAt"]) <= stamp(ended["endsAt"])


def test_a_digest_posts_every_alert_in_one_request(receiver: Receiver) -> None:
    burst = [record(decision(t=T0 + i, group=f"g{i}")) for i in range(3)]
    assert post(f"alertmanager://{receiver.hostport}", *burst)
    [sent] = receiver.requests
    assert [a["labels"]["group"] for a in sent.body] == ["g0", "g1", "g2"]


def test_a_message_that_is_not_an_alert_record_is_posted_as_one_alert(
    receiver: Receiver,
) -> None:
    plugin = plugin_for(f"alertmanager://{receiver.hostport}")
    plugin.clock = lambda: T0
    assert plugin.notify(title="[swarm] 2 alerts", body="line one\nline two", notify_type="failure")
    [alert] = receiver.alerts()
    assert alert == {
        "labels": {"alertname": "rlswarm-message", "severity": "error"},
        "annotations": {"summary": "[swarm] 2 alerts", "description": "line one\nline two"},
        "startsAt": rfc3339(T0),
        "endsAt": rfc3339(T0 + 3600),
    }


@pytest.mark.parametrize(
    ("userinfo", "query", "header"),
    [
        # printf 'ops:pa55-w0rd-9f8e' | base64
        (f"ops:{PASSWORD}@", "", "Basic b3BzOnBhNTUtdzByZC05Zjhl"),
        ("", f"?token={TOKEN}", f"Bearer {TOKEN}"),
    ],
)
def test_basic_auth_and_bearer_token(
    receiver: Receiver, userinfo: str, query: str, header: str
) -> None:
    assert post(f"alertmanager://{userinfo}{receiver.hostport}{query}", record(decision()))
    [sent] = receiver.requests
    assert sent.headers["Authorization"] == header
    assert sent.path == "/api/v2/alerts"


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("status", "reply", "said"),
    [
        (400, '"start time must be before end time"', "HTTP 400: 'start time must be before"),
        (400, '{"code":400,"message":"parsing alerts body failed"}', "parsing alerts body failed"),
        (503, "upstream down", "HTTP 503: 'upstream down'"),
    ],
)
def test_a_refusal_is_false_with_alertmanagers_message(
    receiver: Receiver, warnings_logged: list[str], status: int, reply: str, said: str
) -> None:
    receiver.status, receiver.reply = status, reply
    client = apprise.Apprise()
    client.add(f"alertmanager://{receiver.hostport}?token={TOKEN}")
    ok, error = send_via(client, render(record(decision()), "json", "swarm"), str)
    assert not ok
    assert said in error and error.startswith("Alertmanager: Alertmanager refused the alerts")
    assert any(said in line for line in warnings_logged)
    assert not any(TOKEN in line for line in warnings_logged)


def test_connection_refused_is_false_and_keeps_secrets_out(warnings_logged: list[str]) -> None:
    url = f"alertmanager://ops:{PASSWORD}@127.0.0.1:{free_port()}?token={TOKEN}"
    client = apprise.Apprise()
    client.add(url)
    ok, error = send_via(client, render(record(decision()), "json", "swarm"), str)
    assert not ok
    assert "request to http://127.0.0.1:" in error and "Connection refused" in error
    assert not any(TOKEN in line or PASSWORD in line for line in warnings_logged)


def test_delivery_retries_until_alertmanager_takes_it(tmp_path: Path, receiver: Receiver) -> None:
    """The whole path: channels.yaml, the outbox, a sender thread, a refusal, then success."""
    text = (
        "channels:\n  - name: fleet\n"
        f"    url: alertmanager://{receiver.hostport}\n    retry: 200ms\n"
    )
    channels = channelconf.parse(yamlio.parse(text, "channels.yaml"), {})
    assert channels.channels[0].style == "json"
    notices: list[str] = []
    receiver.status, receiver.reply = 500, '"storage full"'
    delivery = Delivery(channels, Outbox(tmp_path / "outbox.sqlite"), "node-a", notices.append)
    delivery.start()
    try:
        delivery.send(decision())
        assert wait_for(lambda: receiver.requests, 5)
        receiver.status, receiver.reply = 200, ""
        assert wait_for(lambda: delivery.outbox.pending() == 0, 10)
    finally:
        delivery.stop(2)
        delivery.outbox.close()
    assert len(receiver.requests) >= 2
    assert receiver.requests[0].body == receiver.requests[-1].body  # the same alert, retried
    assert receiver.requests[-1].body[0]["labels"]["node"] == "node-a"
    assert any("HTTP 500: 'storage full'" in n for n in notices)


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "base", "secrets"),
    [
        ("alertmanager://am.local", "http://am.local:9093", ()),
        ("alertmanager://10.0.0.5:19093/alertmanager", "http://10.0.0.5:19093/alertmanager", ()),
        ("alertmanagers://am.example.org", "https://am.example.org:443", ()),
        (f"alertmanagers://ops:{PASSWORD}@am.example.org/am", "https://am.example.org:443/am",
         (PASSWORD,)),
        (f"alertmanager://am.local?token={TOKEN}&expire=30m&hold=6h", "http://am.local:9093",
         (TOKEN,)),
    ],
)  # fmt: skip
def test_urls_parse_mask_secrets_and_round_trip(url: str, base: str, secrets: tuple[str]) -> None:
    plugin = plugin_for(url)
    assert plugin.base == base
    private = plugin.url(privacy=True)
    for secret in secrets:
        assert secret not in private
        assert "****" in private or "%2A%2A%2A%2A" in private
    again = plugin_for(plugin.url())
    assert (again.base, again.expire, again.hold) == (plugin.base, plugin.expire, plugin.hold)
    assert again.url() == plugin.url()
    assert again.url_id() == plugin.url_id()


@pytest.mark.parametrize(
    "url", ["alertmanager://", "alertmanager://am?expire=soon", "alertmanager://am?hold=0s"]
)
def test_malformed_urls_are_refused(url: str) -> None:
    assert not apprise.Apprise().add(url)


def test_channels_yaml_locates_a_bad_alertmanager_url() -> None:
    text = "channels:\n  - name: fleet\n    url: alertmanager://am:9093?expire=soon\n"
    with pytest.raises(ConfigError) as caught:
        channelconf.parse(yamlio.parse(text, "channels.yaml"), {})
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == ("channels.yaml", 3)
    assert "Apprise refused this alertmanager:// URL" in problem.message


# --------------------------------------------------------------------------- the real thing


def test_real_alertmanager_holds_the_alert_until_its_resolution(tmp_path: Path) -> None:
    with alertmanager(tmp_path) as am:
        url = f"alertmanager://127.0.0.1:{am.port}"
        now = time.time()
        stalled = {"source": None, "line": None, "line_no": None, "severity": Severity.ERROR}
        high = decision("memory-high", t=now - 5, **stalled, labels={"category": "host_memory"})
        for node in ("node-a", "node-b"):
            assert post(url, {**record(high, host=node), "kind": "metric"})
        assert post(url, record(decision(t=now - 1), host="node-a"))

        def by_node_and_rule() -> dict[tuple[str, str], dict[str, Any]]:
            return {(a["labels"]["node"], a["labels"]["rule"]): a for a in active_alerts(am)}

        alerts = wait_for(lambda: len(by_node_and_rule()) == 3 and by_node_and_rule(), 10)
        assert alerts, active_alerts(am)
        mem_a = alerts[("node-a", "memory-high")]
        assert mem_a["status"]["state"] == "active"
        assert mem_a["labels"] == {
            "alertname": "memory-high",
            "rule": "memory-high",
            "severity": "error",
            "category": "host_memory",
            "node": "node-a",
            "project": "swarm",
        }
        assert stamp(mem_a["endsAt"]) == pytest.approx(now - 5 + 24 * 3600, abs=0.01)
        oom = alerts[("node-a", "cuda-oom")]
        assert stamp(oom["endsAt"]) == pytest.approx(now - 1 + 3600, abs=0.01)

        ended = decision(
            "memory-high", t=time.time(), **stalled, labels={"category": "host_memory"},
            reason=Reason.RESOLVED, duration_s=5.0,
        )  # fmt: skip
        assert post(url, record(ended, host="node-a"))
        left = wait_for(lambda: set(by_node_and_rule()) == {("node-b", "memory-high"),
                                                          ("node-a", "cuda-oom")}, 10)  # fmt: skip
        assert left, sorted(by_node_and_rule())


def test_real_alertmanager_ends_the_alert_of_a_node_whose_clock_runs_ahead(
    tmp_path: Path,
) -> None:
    with alertmanager(tmp_path) as am:
        plugin = plugin_for(f"alertmanager://127.0.0.1:{am.port}")
        plugin.clock = lambda: time.time() + 120  # NTP-less VPS, two minutes ahead
        firing = {**record(decision(t=plugin.clock())), "kind": "metric"}
        assert plugin.notify(body=json.dumps(firing))
        assert wait_for(lambda: active_alerts(am), 10)
        ended = record(decision(t=plugin.clock(), reason=Reason.RESOLVED, duration_s=1.0))
        assert plugin.notify(body=json.dumps(ended))
        assert wait_for(lambda: active_alerts(am) == [], 10), active_alerts(am)
