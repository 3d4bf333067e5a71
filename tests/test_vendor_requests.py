"""The exact HTTP requests our alerts make: DingTalk, WeCom bot, Feishu/Lark, Twilio SMS.

Each channel comes from a channels.yaml text through `engine.notify.channels.parse`,
the alert from a real `Decision` through `alert_record`, the message from
`Sender.message` (the channel's style and byte limit, as the sender picks
them) and the request from `send_via`. DingTalk, WeCom and Feishu/Lark go
through this project's plugins (`engine.notify.plugins`), registered under Apprise's
schemes; Twilio through Apprise's own. Nothing leaves the machine: `responses`
stands in for every vendor host, and a request to a URL not registered here
fails the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, quote, quote_plus, urlencode, urlsplit

import pytest
import requests
import responses

from engine.model import Decision, Reason, Severity
from engine.notify import channels as channelconf
from engine.notify.channels import ChannelSet
from engine.notify.delivery import Delivery, Sender, route, send_via
from engine.notify.outbox import Item
from engine.notify.plugins import _robot
from engine.notify.plugins import dingtalk as dingtalk_plugin
from engine.notify.plugins import feishu as feishu_plugin
from engine.notify.record import alert_record
from engine.notify.render import CUT as RENDER_CUT
from engine.notify.render import Message
from engine.packs import yamlio

# Fake credentials shaped like the real ones (DingTalk: 64 hex + SEC..., Twilio: AC + 32 hex).
DINGTALK_TOKEN = "a2fe2323fec061009fc7846351cc75a4e85c417073a5e9839c86316dde54bb11"
DINGTALK_SECRET = "SEC1bfef677b0fdba76b5f58c8e1fa4da786593d40aba8b9ff5c6a6f9b7dde4176c"
WECOM_KEY = "693a91f6-7b0e-4bc4-97a0-0ec2f1a5a1b2"
FEISHU_TOKEN = "3f1e6d0a-2b4c-4e8f-9a7d-5c6b8e0f1a2b"
LARK_TOKEN = "9c0b7a6e-1d2f-4a3b-8c5d-6e7f8a9b0c1d"
LARK_SECRET = "nIMtb7r3N9pkXyXdtAbx6e"
TWILIO_SID = "ACb35d17bf1e55a25250a24a8f1a3e87c5"
TWILIO_TOKEN = "8f84947d802aa575d3cfc44114acdc3d"
TWILIO_FROM = "+15550001111"
MY_PHONE = "+15552223333"

ENV = {
    "DINGTALK_SECRET": DINGTALK_SECRET,
    "DINGTALK_TOKEN": DINGTALK_TOKEN,
    "WECOM_KEY": WECOM_KEY,
    "FEISHU_TOKEN": FEISHU_TOKEN,
    "LARK_TOKEN": LARK_TOKEN,
    "LARK_SECRET": LARK_SECRET,
    "TWILIO_SID": TWILIO_SID,
    "TWILIO_TOKEN": TWILIO_TOKEN,
    "TWILIO_FROM": TWILIO_FROM,
    "MY_PHONE": MY_PHONE,
}
SECRETS = (
    DINGTALK_TOKEN,
    DINGTALK_SECRET,
    WECOM_KEY,
    FEISHU_TOKEN,
    LARK_TOKEN,
    LARK_SECRET,
    TWILIO_SID,
    TWILIO_TOKEN,
)

CHANNELS_YAML = """\
project: RL-Swarm node 1
channels:
  - name: dingtalk
    url: dingtalk://${DINGTALK_SECRET}@${DINGTALK_TOKEN}/
    min_severity: warning
  - name: wecom
    url: wecombot://${WECOM_KEY}
    min_severity: warning
  - name: feishu
    url: feishu://${FEISHU_TOKEN}
    min_severity: warning
  - name: sms
    url: twilio://${TWILIO_SID}:${TWILIO_TOKEN}@${TWILIO_FROM}/${MY_PHONE}
    min_severity: critical
"""
LARK_YAML = """\
project: RL-Swarm node 1
channels:
  - name: lark
    url: lark://${LARK_SECRET}@${LARK_TOKEN}
"""

DINGTALK_API = "https://oapi.dingtalk.com/robot/send"
WECOM_API = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
FEISHU_API = f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}"
LARK_API = f"https://open.larksuite.com/open-apis/bot/v2/hook/{LARK_TOKEN}"
TWILIO_API = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
API = {
    "dingtalk": DINGTALK_API,
    "wecom": WECOM_API,
    "feishu": FEISHU_API,
    "lark": LARK_API,
    "sms": TWILIO_API,
}
ACCEPTED: dict[str, tuple[int, dict[str, Any]]] = {
    "dingtalk": (200, {"errcode": 0, "errmsg": "ok"}),
    "wecom": (200, {"errcode": 0, "errmsg": "ok"}),
    "feishu": (200, {"code": 0, "msg": "success", "data": {}}),
    "lark": (200, {"code": 0, "msg": "success", "data": {}}),
    "sms": (201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}),
}
JSON_UTF8 = "application/json; charset=utf-8"

HOST = "gpu-node-07"
T = 1_717_000_000.0  # 2024-05-29 16:26:40 UTC
FROZEN = 1_717_000_123.456  # what our DingTalk / Feishu plugins read as the time, when frozen
FROZEN_MS = "1717000123456"  # DingTalk signs milliseconds
FROZEN_S = "1717000123"  # Feishu signs seconds
# How the renderer and our plugins end a message they cut (the same words on purpose).
RENDER_CUT_AT_END = re.compile(re.escape(RENDER_CUT).replace(r"\{n\}", r"\d+") + r"\Z")
PLUGIN_CUT_AT_END = re.compile(re.escape(_robot.CUT).replace(r"\{n\}", r"\d+") + r"\Z")

OOM = Decision(
    t=T,
    rule="cuda-oom",
    group="",
    reason=Reason.FIRST,
    severity=Severity.CRITICAL,
    summary="CUDA out of memory on GPU 0 (tried to allocate 2.00 GiB)",
    advice="Lower per_device_train_batch_size in the config, "
    "or set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True.",
    labels={"category": "gpu"},
    source="logs/swarm_launcher.log",
    line_no=1832,
    line="torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. "
    "GPU 0 has a total capacity of 23.65 GiB of which 1.12 GiB is free.",
    context=(
        '  File "/home/gensyn/rl-swarm/hivemind_exp/trainer.py", line 212, in training_step',
        "    loss = self.compute_loss(model, inputs)",
    ),
)
OOM_TITLE = (  # a subject starts with the severity's emoji, as channels have by default
    "🚨 [RL-Swarm node 1] CRITICAL cuda-oom: CUDA out of memory on GPU 0 "
    "(tried to allocate 2.00 GiB)"
)
OOM_HEADLINE = "CRITICAL cuda-oom: CUDA out of memory on GPU 0 (tried to allocate 2.00 GiB)"

# A 50 kB peer list the DHT dumped, with some CJK in it so bytes != characters; it is both the
# log line (the renderer shortens log lines) and part of the advice (which it does not).
HUGE_LINE = (
    "hivemind.dht: 显存不足, peers unreachable: "
    + "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/ip4/10.0.0.7/tcp/38331; " * 800
)[:50_000]
HUGE = Decision(
    t=T + 5,
    rule="dht-error",
    group="",
    reason=Reason.FIRST,
    severity=Severity.CRITICAL,
    summary="the DHT lost every peer",
    advice="Check the network; restart the node if it does not recover. Unreachable: " + HUGE_LINE,
    source="logs/swarm_launcher.log",
    line_no=90210,
    line=HUGE_LINE,
    context=tuple(f'  "显存" peer {i}: ' + "Qm\\x" * 60 for i in range(5)),  # escapes in JSON
)


# --- plumbing -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def channels() -> ChannelSet:
    return channelconf.parse(yamlio.parse(CHANNELS_YAML, "channels.yaml"), ENV)


@pytest.fixture(scope="module")
def lark_channels() -> ChannelSet:
    return channelconf.parse(yamlio.parse(LARK_YAML, "channels.yaml"), ENV)


@pytest.fixture
def vendor() -> Iterator[responses.RequestsMock]:
    """The vendor hosts; every registered reply must be used, and nothing else may be asked."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
        strays = [c.request.url for c in mock.calls if isinstance(c.response, Exception)]
        assert not strays, f"requests to unregistered URLs: {strays}"


@pytest.fixture
def frozen_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clocks our DingTalk and Feishu plugins sign with, and only those."""
    frozen = SimpleNamespace(time=lambda: FROZEN)
    monkeypatch.setattr(dingtalk_plugin, "time", frozen)
    monkeypatch.setattr(feishu_plugin, "time", frozen)


def reply(vendor: responses.RequestsMock, name: str, status: int, payload: object) -> None:
    if isinstance(payload, str):
        vendor.add(responses.POST, API[name], body=payload, status=status)
    else:
        vendor.add(responses.POST, API[name], json=payload, status=status)


def deliver(channels: ChannelSet, name: str, decision: Decision) -> tuple[Message, bool, str]:
    """Route, render and send one alert the way the channel's sender does."""
    channel = channels.get(name)
    assert channel is not None
    assert channel in route(channels, decision.severity, decision.channels)
    sender = Sender(channel, cast(Delivery, SimpleNamespace(channels=channels)))
    record = alert_record(decision, HOST, channels.project)
    message = sender.message([Item(1, str(record["key"]), name, decision.t, 0, record)])
    ok, why = send_via(sender.apprise, message, channels.scrub)
    return message, ok, why


def only_request(vendor: responses.RequestsMock) -> Any:
    assert len(vendor.calls) == 1
    return vendor.calls[0].request


def raw_body(request: Any) -> bytes:
    body = request.body
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def compact(payload: object) -> bytes:
    """JSON as the robots get it: no spaces, UTF-8 written as is (not \\u escapes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_headers(body: bytes) -> dict[str, str]:
    """Every header of a JSON POST made with requests: its defaults plus ours, nothing else."""
    return {
        **requests.utils.default_headers(),
        "Content-Type": JSON_UTF8,
        "Content-Length": str(len(body)),
    }


def dingtalk_sign(timestamp: str, secret: str = DINGTALK_SECRET) -> str:
    """DingTalk's robot signature, base64 (before URL encoding): HMAC-SHA256 of "ts\\nsecret"."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(timestamp: str, secret: str) -> str:
    """Feishu's bot signature: HMAC-SHA256 keyed by "ts\\nsecret" over an empty message."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def without_headline(body: str) -> str:
    """A markdown body minus its `### ...` headline and the blank line after it."""
    first, blank, rest = body.split("\n", 2)
    assert first.startswith("### ") and blank == ""
    return rest


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text or quote(s, safe="") in text]


# --- the channels themselves --------------------------------------------------------------------


def test_channels_yaml_resolves_to_the_expected_channels(channels: ChannelSet) -> None:
    by_name = {c.name: c for c in channels.channels}
    assert channels.project == "RL-Swarm node 1"
    assert {n: (c.scheme, c.style) for n, c in by_name.items()} == {
        "dingtalk": ("dingtalk", "markdown"),
        "wecom": ("wecombot", "markdown"),
        "feishu": ("feishu", "markdown"),
        "sms": ("twilio", "sms"),
    }
    for channel in channels.channels:
        assert leaked(channel.privacy) == [], channel.privacy
    # Apprise's privacy form without the defaults it adds (`?overflow=upstream&retry=0...`)
    assert by_name["dingtalk"].privacy == "dingtalk://****@****/"
    assert by_name["wecom"].privacy == "wecombot://****/"
    assert by_name["feishu"].privacy == "feishu://****/"
    assert [c.name for c in route(channels, Severity.WARNING, ())] == [
        "dingtalk",
        "wecom",
        "feishu",
    ]


# --- DingTalk -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_clocks")
def test_dingtalk_sends_signed_markdown(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "dingtalk", *ACCEPTED["dingtalk"])
    message, ok, why = deliver(channels, "dingtalk", OOM)
    assert (ok, why) == (True, "")

    assert (message.title, message.format, message.notify_type) == (
        OOM_TITLE,
        "markdown",
        "failure",
    )
    assert message.body.startswith(f"### 🚨 {OOM_HEADLINE}\n\n")
    for part in ("What to do**: ", "> torch.OutOfMemoryError", "logs/swarm_launcher.log:1832"):
        assert part in message.body

    request = only_request(vendor)
    assert request.method == "POST"
    sign = quote_plus(dingtalk_sign(FROZEN_MS))
    assert "%" in sign  # a base64 HMAC-SHA256 always ends in "=", so encoding matters here
    assert request.url == (
        f"{DINGTALK_API}?access_token={DINGTALK_TOKEN}&timestamp={FROZEN_MS}&sign={sign}"
    )
    # The title is only DingTalk's required preview field; the text is the body, whose own
    # headline is the one heading: nothing glued on, nothing repeated.
    expected = {"msgtype": "markdown", "markdown": {"title": OOM_TITLE, "text": message.body}}
    assert raw_body(request) == compact(expected)
    assert dict(request.headers) == json_headers(raw_body(request))


@pytest.mark.usefixtures("frozen_clocks")
def test_dingtalk_sign_is_url_encoded_exactly_once(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "dingtalk", *ACCEPTED["dingtalk"])
    deliver(channels, "dingtalk", OOM)
    url = only_request(vendor).url
    assert "%25" not in url  # Apprise 2.2.0 sent sign=...%253D: encoded twice, 310000
    query = parse_qs(urlsplit(url).query, strict_parsing=True)
    assert list(query) == ["access_token", "timestamp", "sign"]
    assert query["sign"] == [dingtalk_sign(FROZEN_MS)]  # one decoding gives the base64 back


def test_dingtalk_signs_with_the_current_time(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "dingtalk", *ACCEPTED["dingtalk"])
    before = round(time.time() * 1000)
    _, ok, _ = deliver(channels, "dingtalk", OOM)
    after = round(time.time() * 1000)
    assert ok
    query = parse_qs(urlsplit(only_request(vendor).url).query)
    (timestamp,) = query["timestamp"]
    assert before <= int(timestamp) <= after  # DingTalk refuses a timestamp an hour off
    assert query["sign"] == [dingtalk_sign(timestamp)]


def test_dingtalk_long_line_arrives_within_20000_bytes(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "dingtalk", *ACCEPTED["dingtalk"])
    message, ok, _ = deliver(channels, "dingtalk", HUGE)
    assert ok
    assert len(message.body.encode("utf-8")) <= 20_000
    assert RENDER_CUT_AT_END.search(message.body)  # the renderer cut it first

    body = raw_body(only_request(vendor))
    assert len(body) <= 20_000  # DingTalk: "message too long, exceed 20000 bytes" (460101)
    text = json.loads(body)["markdown"]["text"]
    assert PLUGIN_CUT_AT_END.search(text)  # then the plugin, to fit the title and JSON in too
    assert message.body.startswith(PLUGIN_CUT_AT_END.sub("", text))
    assert "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N" in text  # the line is there, cut


# --- WeCom bot ----------------------------------------------------------------------------------


def test_wecom_sends_markdown(channels: ChannelSet, vendor: responses.RequestsMock) -> None:
    reply(vendor, "wecom", *ACCEPTED["wecom"])
    message, ok, why = deliver(channels, "wecom", OOM)
    assert (ok, why) == (True, "")
    assert (message.title, message.format) == (OOM_TITLE, "markdown")

    request = only_request(vendor)
    assert request.method == "POST"
    assert request.url == f"{WECOM_API}?key={WECOM_KEY}"
    # WeCom renders msgtype markdown; the body starts with its headline, so no title is added.
    expected = {"msgtype": "markdown", "markdown": {"content": message.body}}
    assert raw_body(request) == compact(expected)
    assert dict(request.headers) == json_headers(raw_body(request))


def test_wecom_long_line_arrives_within_4096_bytes(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "wecom", *ACCEPTED["wecom"])
    message, ok, _ = deliver(channels, "wecom", HUGE)
    assert ok
    content = json.loads(raw_body(only_request(vendor)))["markdown"]["content"]
    # The renderer's 4,096-byte body goes out untouched: its cut marker is what WeCom shows.
    assert content == message.body
    assert RENDER_CUT_AT_END.search(content)
    assert len(content.encode("utf-8")) <= 4_096  # WeCom: markdown.content, errcode 40058


# --- Feishu / Lark ------------------------------------------------------------------------------


def test_feishu_sends_a_card(channels: ChannelSet, vendor: responses.RequestsMock) -> None:
    reply(vendor, "feishu", *ACCEPTED["feishu"])
    message, ok, why = deliver(channels, "feishu", OOM)
    assert (ok, why) == (True, "")
    assert (message.title, message.format) == (OOM_TITLE, "markdown")

    request = only_request(vendor)
    assert request.method == "POST"
    assert request.url == FEISHU_API
    # The title is the card's header (red: critical); the body's headline, which would repeat
    # it, is left out of the card's markdown.
    expected = {
        "msg_type": "interactive",
        "card": {
            "schema": "2.0",
            "header": {"title": {"tag": "plain_text", "content": OOM_TITLE}, "template": "red"},
            "body": {"elements": [{"tag": "markdown", "content": without_headline(message.body)}]},
        },
    }
    assert raw_body(request) == compact(expected)
    assert dict(request.headers) == json_headers(raw_body(request))


@pytest.mark.usefixtures("frozen_clocks")
def test_lark_sends_a_signed_card(
    lark_channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "lark", *ACCEPTED["lark"])
    warning = Decision(
        t=T, rule="loss-spike", group="", reason=Reason.FIRST, severity=Severity.WARNING,
        summary="loss 9.81 > 3.0 at step 1200",
    )  # fmt: skip
    message, ok, why = deliver(lark_channels, "lark", warning)
    assert (ok, why) == (True, "")

    request = only_request(vendor)
    assert request.method == "POST"
    assert request.url == LARK_API
    expected = {
        "timestamp": FROZEN_S,
        "sign": feishu_sign(FROZEN_S, LARK_SECRET),
        "msg_type": "interactive",
        "card": {
            "schema": "2.0",
            "header": {
                "title": {"tag": "plain_text", "content": message.title},
                "template": "orange",
            },
            "body": {"elements": [{"tag": "markdown", "content": without_headline(message.body)}]},
        },
    }
    assert message.title == "⚠️ [RL-Swarm node 1] WARNING loss-spike: loss 9.81 > 3.0 at step 1200"
    assert raw_body(request) == compact(expected)
    assert dict(request.headers) == json_headers(raw_body(request))


def test_feishu_long_line_arrives_within_20_kb(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "feishu", *ACCEPTED["feishu"])
    message, ok, _ = deliver(channels, "feishu", HUGE)
    assert ok
    body = raw_body(only_request(vendor))
    assert len(body) <= 20_000  # Feishu: "the request body must not exceed 20 KB"
    content = json.loads(body)["card"]["body"]["elements"][0]["content"]
    assert PLUGIN_CUT_AT_END.search(content)
    assert without_headline(message.body).startswith(PLUGIN_CUT_AT_END.sub("", content))


# --- all three robots ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wire_type"),
    [
        ("dingtalk", lambda payload: payload["msgtype"]),
        ("wecom", lambda payload: payload["msgtype"]),
        ("feishu", lambda payload: payload["msg_type"]),
    ],
    ids=["dingtalk", "wecom", "feishu"],
)
def test_markdown_channels_are_not_sent_as_plain_text(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str, wire_type: Any
) -> None:
    reply(vendor, name, *ACCEPTED[name])
    message, ok, _ = deliver(channels, name, OOM)
    assert ok and message.format == "markdown"
    assert wire_type(json.loads(raw_body(only_request(vendor)))) in ("markdown", "interactive")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("dingtalk", lambda payload: payload["markdown"]["text"]),
        ("wecom", lambda payload: payload["markdown"]["content"]),
        ("feishu", lambda payload: json.dumps(payload["card"], ensure_ascii=False)),
    ],
    ids=["dingtalk", "wecom", "feishu"],
)
def test_the_headline_is_shown_once(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str, shown: Any
) -> None:
    reply(vendor, name, *ACCEPTED[name])
    deliver(channels, name, OOM)
    text = shown(json.loads(raw_body(only_request(vendor))))
    assert text.count(OOM_HEADLINE) == 1  # Apprise 2.2.0 glued the title on: it showed twice


# --- Twilio SMS ---------------------------------------------------------------------------------


def test_twilio_sms_request(channels: ChannelSet, vendor: responses.RequestsMock) -> None:
    reply(vendor, "sms", *ACCEPTED["sms"])
    message, ok, why = deliver(channels, "sms", OOM)
    assert (ok, why) == (True, "")
    assert message.title == ""
    assert message.body == (
        "[RL-Swarm node 1] CRITICAL cuda-oom: CUDA out of memory on GPU 0 "
        "(tried to allocate 2.00 GiB)"
    )
    assert len(message.body) <= 160

    request = only_request(vendor)
    assert request.method == "POST"
    assert request.url == TWILIO_API
    basic = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode("ascii")
    assert request.headers["Authorization"] == f"Basic {basic}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert parse_qs(raw_body(request).decode("ascii")) == {
        "Body": [message.body],
        "From": [TWILIO_FROM],
        "To": [MY_PHONE],
    }
    assert raw_body(request).decode("ascii") == urlencode(
        {"Body": message.body, "From": TWILIO_FROM, "To": MY_PHONE}
    )


def test_twilio_sms_of_a_long_alert_is_one_160_character_message(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "sms", *ACCEPTED["sms"])
    long_summary = Decision(
        t=T,
        rule="dht-error",
        group="",
        reason=Reason.FIRST,
        severity=Severity.CRITICAL,
        summary="the DHT lost every peer: " + ", ".join(f"peer-{i}" for i in range(60)),
        line=HUGE_LINE,
    )
    message, ok, _ = deliver(channels, "sms", long_summary)
    assert ok
    form = parse_qs(raw_body(only_request(vendor)).decode("ascii"))
    assert form["Body"] == [message.body]
    assert len(message.body) == 160
    assert message.body.startswith("[RL-Swarm node 1] CRITICAL dht-error: the DHT lost")


# --- when the vendor says no --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dingtalk", "wecom", "feishu", "sms"])
def test_http_500_is_a_failure_without_secrets(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str
) -> None:
    reply(vendor, name, 500, "upstream error")
    _, ok, why = deliver(channels, name, OOM)
    assert ok is False
    assert why
    assert leaked(why) == []


@pytest.mark.parametrize("name", ["dingtalk", "wecom", "feishu", "sms"])
def test_http_500_reason_says_what_the_vendor_answered(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str
) -> None:
    reply(vendor, name, 500, "upstream error")
    _, ok, why = deliver(channels, name, OOM)
    assert ok is False
    assert "500" in why
    assert leaked(why) == []


@pytest.mark.parametrize(
    ("name", "answer", "said"),
    [
        ("dingtalk", {"errcode": 310000, "errmsg": "sign not match, more: [...]"}, "310000"),
        ("dingtalk", {"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"},
         "460101"),
        ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1717000123]"},
         "93000"),
        ("wecom", {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096."},
         "40058"),
        ("feishu", {"code": 19024, "msg": "Key Words Not Found"}, "19024"),
        ("feishu", {"StatusCode": 19021, "StatusMessage": "sign match fail"}, "19021"),
        ("feishu", {"code": 9499, "msg": "Bad Request", "data": {}}, "9499"),
    ],
    ids=["dingtalk-310000", "dingtalk-460101", "wecom-93000", "wecom-40058", "feishu-19024",
         "feishu-legacy-19021", "feishu-9499"],
)  # fmt: skip
def test_robot_error_code_in_a_200_reply_is_a_failure(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str, answer: Any, said: str
) -> None:
    """Apprise 2.2.0 only checked the status, so these alerts were marked sent and lost."""
    reply(vendor, name, 200, answer)
    _, ok, why = deliver(channels, name, OOM)
    assert ok is False
    assert said in why
    message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage")
    assert message in why
    assert leaked(why) == []


@pytest.mark.parametrize("name", ["dingtalk", "wecom", "feishu"])
def test_a_200_that_is_not_the_robots_json_is_a_failure(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str
) -> None:
    reply(vendor, name, 200, "<html>captive portal</html>")
    _, ok, why = deliver(channels, name, OOM)
    assert ok is False
    assert "captive portal" in why


def test_robot_secrets_written_inline_stay_out_of_the_reason() -> None:
    """Secrets typed into channels.yaml itself (no ${VAR}) are known to the scrubber too, and
    our plugins redact their own credentials, even from a connection error (whose text names
    the URL) and from a reply that echoes them."""
    text = (
        "project: RL-Swarm node 1\n"
        "channels:\n"
        f"  - name: dingtalk\n    url: dingtalk://{DINGTALK_SECRET}@{DINGTALK_TOKEN}/\n"
        f"  - name: feishu\n    url: feishu://{FEISHU_TOKEN}\n"
    )
    inline = channelconf.parse(yamlio.parse(text, "channels.yaml"), {})
    assert {DINGTALK_SECRET, DINGTALK_TOKEN, FEISHU_TOKEN} <= set(inline.secrets)
    refused = requests.ConnectionError(
        f"HTTPSConnectionPool(host='oapi.dingtalk.com', port=443): Max retries exceeded with "
        f"url: /robot/send?access_token={DINGTALK_TOKEN}&timestamp=1&sign=x"
    )
    echo = {"code": 19001, "msg": f"param invalid: incoming webhook access token {FEISHU_TOKEN}"}
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, DINGTALK_API, body=refused)
        mock.add(responses.POST, FEISHU_API, json=echo)
        _, ok_d, why_d = deliver(inline, "dingtalk", OOM)
        _, ok_f, why_f = deliver(inline, "feishu", OOM)
    assert (ok_d, ok_f) == (False, False)
    assert "ConnectionError" in why_d and "Max retries exceeded" in why_d
    assert "19001" in why_f and "****" in why_f
    assert leaked(why_d) == [] and leaked(why_f) == []


def test_twilio_authentication_failure_without_secrets(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    answer = {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    reply(vendor, "sms", 401, answer)
    _, ok, why = deliver(channels, "sms", OOM)
    assert ok is False
    assert why and leaked(why) == []


def test_twilio_error_echoing_the_account_sid_is_scrubbed(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    answer = {
        "code": 20404,
        "message": f"The requested resource /2010-04-01/Accounts/{TWILIO_SID}/Messages.json "
        "was not found",
        "status": 404,
    }
    reply(vendor, "sms", 404, answer)
    _, ok, why = deliver(channels, "sms", OOM)
    assert ok is False
    assert why and leaked(why) == []


def test_secrets_written_inline_stay_out_of_the_reason(vendor: responses.RequestsMock) -> None:
    """A channels.yaml with the SID typed in, not a ${VAR}: the scrubber has no list for it."""
    text = (
        "project: RL-Swarm node 1\n"
        "channels:\n"
        "  - name: sms\n"
        f"    url: twilio://{TWILIO_SID}:{TWILIO_TOKEN}@15550001111/15552223333\n"
    )
    inline = channelconf.parse(yamlio.parse(text, "channels.yaml"), {})
    answer = {
        "code": 20404,
        "message": f"The requested resource /2010-04-01/Accounts/{TWILIO_SID}/Messages.json "
        "was not found",
        "status": 404,
    }
    reply(vendor, "sms", 404, answer)
    _, ok, why = deliver(inline, "sms", OOM)
    assert ok is False
    assert why and leaked(why) == []
