"""The exact HTTP requests Apprise makes for our alerts: DingTalk, WeCom bot, Feishu, Twilio SMS.

Each channel comes from a channels.yaml text through `engine.channelconf.parse`,
the alert from a real `Decision` through `alert_record`, the message from
`Sender.message` (the channel's style and byte limit, as the sender picks
them) and the request from `send_via`. Nothing leaves the machine: `responses`
stands in for every vendor host, and a request to a URL not registered here
fails the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlencode, urlsplit

import apprise.plugins.dingtalk as apprise_dingtalk
import pytest
import responses

from engine import channelconf, yamlio
from engine.channelconf import ChannelSet
from engine.delivery import Delivery, Sender, alert_record, route, send_via
from engine.model import Decision, Reason, Severity
from engine.outbox import Item
from engine.render import Message

# Fake credentials shaped like the real ones (DingTalk: 64 hex + SEC..., Twilio: AC + 32 hex).
DINGTALK_TOKEN = "a2fe2323fec061009fc7846351cc75a4e85c417073a5e9839c86316dde54bb11"
DINGTALK_SECRET = "SEC1bfef677b0fdba76b5f58c8e1fa4da786593d40aba8b9ff5c6a6f9b7dde4176c"
WECOM_KEY = "693a91f6-7b0e-4bc4-97a0-0ec2f1a5a1b2"
FEISHU_TOKEN = "3f1e6d0a-2b4c-4e8f-9a7d-5c6b8e0f1a2b"
TWILIO_SID = "ACb35d17bf1e55a25250a24a8f1a3e87c5"
TWILIO_TOKEN = "8f84947d802aa575d3cfc44114acdc3d"
TWILIO_FROM = "+15550001111"
MY_PHONE = "+15552223333"

ENV = {
    "DINGTALK_SECRET": DINGTALK_SECRET,
    "DINGTALK_TOKEN": DINGTALK_TOKEN,
    "WECOM_KEY": WECOM_KEY,
    "FEISHU_TOKEN": FEISHU_TOKEN,
    "TWILIO_SID": TWILIO_SID,
    "TWILIO_TOKEN": TWILIO_TOKEN,
    "TWILIO_FROM": TWILIO_FROM,
    "MY_PHONE": MY_PHONE,
}
SECRETS = (DINGTALK_TOKEN, DINGTALK_SECRET, WECOM_KEY, FEISHU_TOKEN, TWILIO_SID, TWILIO_TOKEN)

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

DINGTALK_API = "https://oapi.dingtalk.com/robot/send"
WECOM_API = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
FEISHU_API = f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}/"
TWILIO_API = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
API = {"dingtalk": DINGTALK_API, "wecom": WECOM_API, "feishu": FEISHU_API, "sms": TWILIO_API}
ACCEPTED: dict[str, tuple[int, dict[str, Any]]] = {
    "dingtalk": (200, {"errcode": 0, "errmsg": "ok"}),
    "wecom": (200, {"errcode": 0, "errmsg": "ok"}),
    "feishu": (200, {"code": 0, "msg": "success", "data": {}}),
    "sms": (201, {"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}),
}

HOST = "gpu-node-07"
T = 1_717_000_000.0  # 2024-05-29 16:26:40 UTC
FROZEN = 1_717_000_123.456  # what apprise's DingTalk plugin reads as the time, when frozen
FROZEN_MS = "1717000123456"
CUT_MARKER = "the whole alert is in the journal]"

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

# One 50 kB log line: a peer list the DHT dumped, with some CJK in it so bytes != characters.
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
    advice="Check the network; restart the node if it does not recover.",
    source="logs/swarm_launcher.log",
    line_no=90210,
    line=HUGE_LINE,
)


# --- plumbing -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def channels() -> ChannelSet:
    return channelconf.parse(yamlio.parse(CHANNELS_YAML, "channels.yaml"), ENV)


@pytest.fixture
def vendor() -> Iterator[responses.RequestsMock]:
    """The vendor hosts; every registered reply must be used, and nothing else may be asked."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
        strays = [c.request.url for c in mock.calls if isinstance(c.response, Exception)]
        assert not strays, f"requests to unregistered URLs: {strays}"


@pytest.fixture
def frozen_dingtalk_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock apprise's DingTalk plugin signs with, and only that one."""
    monkeypatch.setattr(apprise_dingtalk, "time", SimpleNamespace(time=lambda: FROZEN))


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


def dingtalk_sign(timestamp: str, secret: str = DINGTALK_SECRET) -> str:
    """DingTalk's robot signature, base64 (before URL encoding): HMAC-SHA256 of "ts\\nsecret"."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def fully_unquoted(text: str) -> str:
    while (once := unquote(text)) != text:
        text = once
    return text


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
    assert [c.name for c in route(channels, Severity.WARNING, ())] == [
        "dingtalk",
        "wecom",
        "feishu",
    ]


# --- DingTalk -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_dingtalk_clock")
def test_dingtalk_sends_signed_markdown(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "dingtalk", *ACCEPTED["dingtalk"])
    message, ok, why = deliver(channels, "dingtalk", OOM)
    assert (ok, why) == (True, "")

    title = (
        "[RL-Swarm node 1] CRITICAL cuda-oom: "
        "CUDA out of memory on GPU 0 (tried to allocate 2.00 GiB)"
    )
    assert (message.title, message.format, message.notify_type) == (title, "markdown", "failure")
    for part in ("**What to do:**", "> torch.OutOfMemoryError", "logs/swarm_launcher.log:1832"):
        assert part in message.body

    request = only_request(vendor)
    assert request.method == "POST"
    url = urlsplit(request.url)
    assert (url.scheme, url.netloc, url.path) == ("https", "oapi.dingtalk.com", "/robot/send")
    query = parse_qs(url.query)
    assert list(query) == ["access_token", "timestamp", "sign"]
    assert query["access_token"] == [DINGTALK_TOKEN]
    assert query["timestamp"] == [FROZEN_MS]
    # The HMAC itself is right; how often it is URL-encoded is the next test's business.
    assert fully_unquoted(query["sign"][0]) == dingtalk_sign(FROZEN_MS)

    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    expected = {
        "msgtype": "markdown",
        "at": {"atMobiles": [], "isAtAll": False},
        "markdown": {"title": title, "text": f"# {title}\n{message.body}"},
    }
    assert json.loads(raw_body(request)) == expected
    assert raw_body(request) == json.dumps(expected).encode("ascii")


@pytest.mark.xfail(
    strict=True,
    reason="observed: apprise 2.2.0 URL-encodes the sign itself and passes it to requests as a "
    "param, which encodes it again (sign=...%253D), so DingTalk answers 310000 'sign not "
    "match'; intended: timestamp and sign in the URL, sign URL-encoded once (DingTalk docs)",
)
@pytest.mark.usefixtures("frozen_dingtalk_clock")
def test_dingtalk_signed_url_is_exactly_what_dingtalk_documents(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "dingtalk", *ACCEPTED["dingtalk"])
    deliver(channels, "dingtalk", OOM)
    sign = quote_plus(dingtalk_sign(FROZEN_MS))
    assert "%" in sign  # a base64 HMAC-SHA256 always ends in "=", so encoding matters here
    assert only_request(vendor).url == (
        f"{DINGTALK_API}?access_token={DINGTALK_TOKEN}&timestamp={FROZEN_MS}&sign={sign}"
    )


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
    assert fully_unquoted(query["sign"][0]) == dingtalk_sign(timestamp)


def test_dingtalk_long_line_is_cut_by_the_renderer(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "dingtalk", *ACCEPTED["dingtalk"])
    message, ok, _ = deliver(channels, "dingtalk", HUGE)
    assert ok
    assert len(message.body.encode("utf-8")) <= 20_000
    assert message.body.endswith(CUT_MARKER)
    text = json.loads(raw_body(only_request(vendor)))["markdown"]["text"]
    assert text.endswith(CUT_MARKER)
    assert "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N" in text  # the line is there, cut


@pytest.mark.xfail(
    strict=True,
    reason="observed: the body is cut to 20,000 bytes, then apprise puts '# <title>\\n' before "
    "it, so markdown.text arrives at ~20,060 bytes; intended: what DingTalk receives is "
    "<= 20,000 bytes (the limit must leave room for the title apprise adds)",
)
def test_dingtalk_long_line_arrives_within_20000_bytes(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "dingtalk", *ACCEPTED["dingtalk"])
    deliver(channels, "dingtalk", HUGE)
    text = json.loads(raw_body(only_request(vendor)))["markdown"]["text"]
    assert text.endswith(CUT_MARKER)
    assert len(text.encode("utf-8")) <= 20_000


# --- WeCom bot ----------------------------------------------------------------------------------


def test_wecom_request(channels: ChannelSet, vendor: responses.RequestsMock) -> None:
    reply(vendor, "wecom", *ACCEPTED["wecom"])
    message, ok, why = deliver(channels, "wecom", OOM)
    assert (ok, why) == (True, "")
    assert message.format == "markdown"

    request = only_request(vendor)
    assert request.method == "POST"
    assert request.url == f"{WECOM_API}?key={WECOM_KEY}"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Authorization" not in request.headers
    # What apprise 2.2.0 sends today: a *text* message, the title glued on with CRLF.
    expected = {"msgtype": "text", "text": {"content": f"{message.title}\r\n{message.body}"}}
    assert json.loads(raw_body(request)) == expected
    assert raw_body(request) == json.dumps(expected).encode("utf-8")


def test_wecom_long_line_is_cut_by_the_renderer(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "wecom", *ACCEPTED["wecom"])
    message, ok, _ = deliver(channels, "wecom", HUGE)
    assert ok
    assert len(message.body.encode("utf-8")) <= 4_096
    assert message.body.endswith(CUT_MARKER)
    assert json.loads(raw_body(only_request(vendor)))["text"]["content"].endswith(CUT_MARKER)


@pytest.mark.xfail(
    strict=True,
    reason="observed: the body is cut to 4,096 bytes, then apprise prepends '<title>\\r\\n', so "
    "the content arrives at ~4,160 bytes (and as msgtype text, whose WeCom limit is 2,048); "
    "intended: the content WeCom receives is <= 4,096 bytes, with the cut marker",
)
def test_wecom_long_line_arrives_within_4096_bytes(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "wecom", *ACCEPTED["wecom"])
    deliver(channels, "wecom", HUGE)
    content = json.loads(raw_body(only_request(vendor)))["text"]["content"]
    assert content.endswith(CUT_MARKER)
    assert len(content.encode("utf-8")) <= 4_096


# --- Feishu -------------------------------------------------------------------------------------


def test_feishu_request(channels: ChannelSet, vendor: responses.RequestsMock) -> None:
    reply(vendor, "feishu", *ACCEPTED["feishu"])
    message, ok, why = deliver(channels, "feishu", OOM)
    assert (ok, why) == (True, "")
    assert message.format == "markdown"

    request = only_request(vendor)
    assert request.method == "POST"
    assert request.url == FEISHU_API
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers
    expected = {"msg_type": "text", "content": {"text": f"{message.title}\r\n{message.body}"}}
    assert json.loads(raw_body(request)) == expected
    assert raw_body(request) == json.dumps(expected).encode("utf-8")


@pytest.mark.xfail(
    strict=True,
    reason="observed: LIMITS['feishu'] is 30,000, so a long alert makes a ~30 kB request; "
    "intended: within Feishu's custom-bot limit of 20 KB per request (apprise's own feishu "
    "body_maxlen is 19,985)",
)
def test_feishu_long_line_arrives_within_20_kb(
    channels: ChannelSet, vendor: responses.RequestsMock
) -> None:
    reply(vendor, "feishu", *ACCEPTED["feishu"])
    deliver(channels, "feishu", HUGE)
    body = raw_body(only_request(vendor))
    assert json.loads(body)["content"]["text"].endswith(CUT_MARKER)
    assert len(body) <= 20_000


@pytest.mark.parametrize(
    ("name", "wire_type"),
    [
        ("wecom", lambda payload: payload["msgtype"]),
        ("feishu", lambda payload: payload["msg_type"]),
    ],
    ids=["wecom", "feishu"],
)
@pytest.mark.xfail(
    strict=True,
    reason="observed: STYLES renders markdown for wecombot/feishu, but apprise sends them as "
    "plain text messages, so '###', '**' and '>' show raw on the phone; intended: markdown "
    "goes out as a message type that renders it (or these channels get the text style)",
)
def test_markdown_channels_are_not_sent_as_plain_text(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str, wire_type: Any
) -> None:
    reply(vendor, name, *ACCEPTED[name])
    message, ok, _ = deliver(channels, name, OOM)
    assert ok and message.format == "markdown"
    assert wire_type(json.loads(raw_body(only_request(vendor)))) != "text"


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
@pytest.mark.xfail(
    strict=True,
    reason="observed: the reason is always 'the service did not accept the message': apprise "
    "2.2.0 sends from its own worker thread, so the per-thread ERRORS handler never sees its "
    "warning; intended: the reason says what the vendor answered (here HTTP 500)",
)
def test_http_500_reason_says_what_the_vendor_answered(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str
) -> None:
    reply(vendor, name, 500, "upstream error")
    _, ok, why = deliver(channels, name, OOM)
    assert ok is False
    assert "500" in why
    assert leaked(why) == []


@pytest.mark.parametrize(
    ("name", "answer", "code"),
    [
        ("dingtalk", {"errcode": 310000, "errmsg": "sign not match, more: [...]"}, 310000),
        ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1717000123]"}, 93000),
        ("feishu", {"code": 19024, "msg": "Key Words Not Found"}, 19024),
    ],
    ids=["dingtalk-310000", "wecom-93000", "feishu-19024"],
)
@pytest.mark.xfail(
    strict=True,
    reason="observed: the robots answer HTTP 200 with an error code in the JSON, apprise 2.2.0 "
    "only checks the status, so send_via returns (True, '') and the alert is marked sent "
    "though nobody got it; intended: (False, reason naming the code), so it is retried",
)
def test_robot_error_code_in_a_200_reply_is_a_failure(
    channels: ChannelSet, vendor: responses.RequestsMock, name: str, answer: object, code: int
) -> None:
    reply(vendor, name, 200, answer)
    _, ok, why = deliver(channels, name, OOM)
    assert ok is False
    assert str(code) in why
    assert leaked(why) == []


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
    """A channels.yaml with the SID typed in, not a ${VAR}: the scrubber has no list for it.

    This passes today only because the reason never carries Apprise's warning (see the
    xfail above). Once it does, Twilio's "Failed to send ... /Accounts/AC.../Messages.json
    was not found" would reach the outbox and the 'delivery failing' alert unscrubbed.
    """
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
