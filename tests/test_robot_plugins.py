"""The DingTalk, WeCom and Feishu/Lark robot plugins: signing against independently computed
values, the pure request builders byte for byte, the byte limits, reply checking, and the
plugins as Apprise loads them, sending to a loopback server.

Nothing leaves the machine: plugin URLs here carry ``endpoint=http://127.0.0.1:PORT`` and a
guard fails any request aimed elsewhere.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import quote

import apprise
import pytest
from apprise.manager_plugins import NotificationManager
from hypothesis import given, settings
from hypothesis import strategies as st
from offline import Captured, apprise_warnings, loopback_server, plugins_offline

from engine.notify.plugins import (
    NotifyDingTalk,
    NotifyFeishu,
    NotifyLark,
    NotifyWeComBot,
    _robot,
    dingtalk,
    feishu,
    register,
    wecom,
)

TITLE = "[node-1] CRITICAL cuda-oom: CUDA out of memory on GPU 0"
BODY = (
    "### 🔴 CRITICAL cuda-oom: CUDA out of memory on GPU 0\n"
    "\n"
    "**What to do:** lower the batch size.\n"
    "\n"
    "> torch.OutOfMemoryError: CUDA out of memory.\n"
    "\n"
    "- **host**: gpu-node-07"
)
REST = BODY.split("\n", 2)[2]  # the body without its headline line and the blank line after
TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
SECRET = "SECf00dfeed"
JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}
# "\n... (cut to fit: {n} more bytes)": the renderer's words, so one marker whoever cuts.
MARKER = "\n... (cut to fit: "


def compact(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def cut_marker(n: int) -> str:
    return f"\n... (cut to fit: {n} more bytes)"


# --------------------------------------------------------------------------- signing


def test_dingtalk_sign_matches_an_independent_computation() -> None:
    # printf '1600000000000\nthis is secret' | openssl dgst -sha256 -hmac 'this is secret' \
    #   -binary | base64      (the example secret of DingTalk's signing section)
    assert dingtalk.sign("this is secret", "1600000000000") == (
        "MYEtKC4/NfMR1l4prX++ai6oOf70X1xOf6UlnyUhJH4="
    )


def test_dingtalk_url_encodes_the_sign_once() -> None:
    # "/", "+" and "=" of the base64 are each percent-encoded exactly once; nothing is "%25".
    assert dingtalk.robot_url("https://x", "tok", "this is secret", "1600000000000") == (
        "https://x/robot/send?access_token=tok&timestamp=1600000000000"
        "&sign=MYEtKC4%2FNfMR1l4prX%2B%2Bai6oOf70X1xOf6UlnyUhJH4%3D"
    )
    assert dingtalk.robot_url("https://x", "tok", None, "1") == (
        "https://x/robot/send?access_token=tok"
    )


def test_feishu_sign_matches_an_independent_computation() -> None:
    # K=$(printf '1599360473\ndemo-secret' | xxd -p | tr -d '\n')
    # printf '' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K -binary | base64
    assert feishu.sign("demo-secret", "1599360473") == (
        "3/MaVZ8JLIy4TUG+7KSFJqvUkTKd+HWY8g+56DZWq8s="
    )


# --------------------------------------------------------------------------- cutting


def test_cut_keeps_whole_characters_and_says_how_much_went() -> None:
    text = "显存" * 10  # 60 bytes, 3 per character
    assert _robot.cut_at(text, 60) == text
    assert _robot.cut_at(text, 7) == "显存" + cut_marker(54)  # not half of the third character
    assert _robot.cut_at("🔴ok", 2) == cut_marker(6)  # 4-byte emoji: kept whole or not at all


def test_fit_is_exact_at_the_limit() -> None:
    text = "a" * 100
    assert _robot.fit(text, 100) == text
    fitted = _robot.fit(text, 99)
    assert fitted == "a" * 67 + cut_marker(33)  # the marker takes 32 of the 99 bytes
    assert len(fitted.encode()) == 99
    with pytest.raises(ValueError, match="cannot be made to fit"):
        _robot.fit(text, 5)  # not even the marker fits


def test_fit_measures_what_is_sent_json_escapes_included() -> None:
    text = '"\\\n' * 1000  # each character is two bytes once in JSON

    def size(candidate: str) -> int:
        return len(compact({"text": candidate}))

    fitted = _robot.fit(text, 500, size)
    assert size(fitted) <= 500
    assert size(fitted) > 490  # and it keeps all it can
    assert fitted.startswith('"\\\n"\\\n')


@settings(max_examples=300, deadline=None)
@given(text=st.text(min_size=0, max_size=300), limit=st.integers(min_value=40, max_value=900))
def test_fit_property(text: str, limit: int) -> None:
    fitted = _robot.fit(text, limit)
    data = fitted.encode("utf-8")
    assert len(data) <= limit
    if len(text.encode("utf-8")) <= limit:
        assert fitted == text
    else:
        head, _, tail = fitted.rpartition(MARKER)
        assert text.startswith(head)
        assert tail == f"{len(text.encode()) - len(head.encode())} more bytes)"


# --------------------------------------------------------------------------- the title


@pytest.mark.parametrize(
    ("title", "body", "repeated"),
    [
        (TITLE, BODY, True),  # markdown headline with an icon, title with the [project] tag
        ("[p] 3 alerts: 2 critical", "### [p] 3 alerts: 2 critical\n\n- a", True),  # digest
        (TITLE, "CRITICAL cuda-oom: CUDA out of memory on GPU 0\n\nWhat to do:", True),  # text
        ("CRITICAL x: y", "#### ⚠️ CRITICAL  x: y\nrest", True),  # emoji + VS16, spaces
        (TITLE, "rule: cuda-oom\nseverity: critical", False),
        ("[p] all ok", "ok\nmore", False),  # the end of a title is not the title
        ("", BODY, False),
        (TITLE, "", False),
    ],
)
def test_split_headline(title: str, body: str, repeated: bool) -> None:
    found, rest = _robot.split_headline(title, body)
    assert found is repeated
    assert rest == (body.split("\n", 1)[1].lstrip("\n") if repeated else body)


def test_titled_puts_the_title_first_only_when_missing() -> None:
    assert _robot.titled(TITLE, BODY, markdown=True) == BODY
    assert _robot.titled(TITLE, "- a", markdown=True) == f"### {TITLE}\n\n- a"
    assert _robot.titled(TITLE, "a", markdown=False) == f"{TITLE}\na"
    assert _robot.titled("", "a", markdown=False) == "a"
    long = "x" * 300
    assert _robot.titled(long, "a", markdown=False) == "x" * 255 + "…\na"


def test_redact_hides_plain_and_percent_encoded_secrets() -> None:
    assert _robot.redact("k=a/b+c; k2=a%2Fb%2Bc; x", ["a/b+c", None, ""]) == ("k=****; k2=****; x")


# --------------------------------------------------------------------------- DingTalk builder


def test_dingtalk_markdown_request() -> None:
    request = dingtalk.build_request(
        token="tok", secret="this is secret", title=TITLE, body=BODY,
        timestamp_ms="1600000000000", base="https://oapi.example",
    )  # fmt: skip
    assert request == _robot.Request(
        "POST",
        "https://oapi.example/robot/send?access_token=tok&timestamp=1600000000000"
        "&sign=MYEtKC4%2FNfMR1l4prX%2B%2Bai6oOf70X1xOf6UlnyUhJH4%3D",
        JSON_UTF8,
        compact({"msgtype": "markdown", "markdown": {"title": TITLE, "text": BODY}}),
    )


def test_dingtalk_markdown_without_a_headline_gets_the_title_as_heading() -> None:
    request = dingtalk.build_request(
        token="t", secret=None, title="Disk full", body="- **free**: 0 GB", timestamp_ms="1"
    )
    assert json.loads(request.body) == {
        "msgtype": "markdown",
        "markdown": {"title": "Disk full", "text": "### Disk full\n\n- **free**: 0 GB"},
    }


def test_dingtalk_title_is_required_so_it_comes_from_the_body_if_missing() -> None:
    request = dingtalk.build_request(token="t", secret=None, title="", body=BODY, timestamp_ms="1")
    assert json.loads(request.body)["markdown"] == {
        "title": "CRITICAL cuda-oom: CUDA out of memory on GPU 0",
        "text": BODY,
    }


def test_dingtalk_text_request() -> None:
    request = dingtalk.build_request(
        token="t", secret=None, title=TITLE, body="rule: cuda-oom", markdown=False,
        timestamp_ms="1",
    )  # fmt: skip
    assert request.url == "https://oapi.dingtalk.com/robot/send?access_token=t"
    assert request.body == compact(
        {"msgtype": "text", "text": {"content": f"{TITLE}\nrule: cuda-oom"}}
    )


def test_dingtalk_mentions_survive_the_cut() -> None:
    request = dingtalk.build_request(
        token="t", secret=None, title=TITLE, body=BODY + "x" * 5000,
        mobiles=["13800000000", "13900000000"], timestamp_ms="1", limit=1000,
    )  # fmt: skip
    assert len(request.body) <= 1000
    payload = json.loads(request.body)
    assert payload["at"] == {"atMobiles": ["13800000000", "13900000000"], "isAtAll": False}
    text = payload["markdown"]["text"]
    assert text.startswith(BODY)
    assert text.endswith(" more bytes)\n\n@13800000000 @13900000000")


@pytest.mark.parametrize("filler", ["x", "显", '"\\', "🔴"])
def test_dingtalk_whole_body_stays_within_20000_bytes(filler: str) -> None:
    request = dingtalk.build_request(
        token=TOKEN, secret=SECRET, title=TITLE, body=BODY + filler * 30_000,
        timestamp_ms="1717000123456",
    )  # fmt: skip
    assert 19_900 < len(request.body) <= 20_000
    payload = json.loads(request.body)
    assert payload["markdown"]["text"].startswith(BODY)
    assert MARKER in payload["markdown"]["text"]


def test_dingtalk_title_is_one_capped_line_and_a_long_headline_still_counts_as_it() -> None:
    summary = "loss spike " * 60
    title, body = f"[p] WARNING loss: {summary}", f"### 🟡 WARNING loss: {summary}\n\nmore"
    request = dingtalk.build_request(
        token="t", secret=None, title=title.replace(" s", "\ns"), body=body, timestamp_ms="1"
    )
    markdown = json.loads(request.body)["markdown"]
    assert markdown["title"] == title[: _robot.TITLE_CHARS - 1].rstrip() + "…"
    assert markdown["text"] == body  # the whole headline is the title: nothing put before it


# --------------------------------------------------------------------------- WeCom builder


def test_wecom_markdown_request() -> None:
    request = wecom.build_request(key="k-1", title=TITLE, body=BODY, base="https://q.example")
    assert request == _robot.Request(
        "POST",
        "https://q.example/cgi-bin/webhook/send?key=k-1",
        JSON_UTF8,
        compact({"msgtype": "markdown", "markdown": {"content": BODY}}),
    )


def test_wecom_text_request_has_the_title_first() -> None:
    request = wecom.build_request(key="k", title=TITLE, body="rule: x", markdown=False)
    assert request.url == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
    assert request.body == compact({"msgtype": "text", "text": {"content": f"{TITLE}\nrule: x"}})


@pytest.mark.parametrize(("markdown", "limit"), [(True, 4096), (False, 2048)])
def test_wecom_content_stays_within_its_documented_bytes(markdown: bool, limit: int) -> None:
    request = wecom.build_request(
        key="k", title=TITLE, body=BODY + "显存" * 3000, markdown=markdown
    )
    msgtype = "markdown" if markdown else "text"
    content = json.loads(request.body)[msgtype]["content"]
    assert limit - 3 < len(content.encode("utf-8")) <= limit
    assert MARKER in content


# --------------------------------------------------------------------------- Feishu builder


def test_feishu_card_request() -> None:
    request = feishu.build_request(
        token="hook-1", secret=None, title=TITLE, body=BODY, notify_type="failure",
        timestamp_s="1599360473", base="https://f.example",
    )  # fmt: skip
    card = {
        "schema": "2.0",
        "header": {"title": {"tag": "plain_text", "content": TITLE}, "template": "red"},
        "body": {"elements": [{"tag": "markdown", "content": REST}]},
    }
    assert request == _robot.Request(
        "POST",
        "https://f.example/open-apis/bot/v2/hook/hook-1",
        JSON_UTF8,
        compact({"msg_type": "interactive", "card": card}),
    )


def test_feishu_signed_request_carries_timestamp_and_sign() -> None:
    request = feishu.build_request(
        token="h", secret="demo-secret", title="", body="plain words", markdown=False,
        timestamp_s="1599360473",
    )  # fmt: skip
    assert request.url == "https://open.feishu.cn/open-apis/bot/v2/hook/h"
    assert request.body == compact(
        {
            "timestamp": "1599360473",
            "sign": "3/MaVZ8JLIy4TUG+7KSFJqvUkTKd+HWY8g+56DZWq8s=",
            "msg_type": "text",
            "content": {"text": "plain words"},
        }
    )


@pytest.mark.parametrize(
    ("notify_type", "template"),
    [("failure", "red"), ("warning", "orange"), ("success", "green"), ("info", "blue")],
)
def test_feishu_header_colour_follows_the_severity(notify_type: str, template: str) -> None:
    request = feishu.build_request(
        token="h", secret=None, title="t", body="b", notify_type=notify_type, timestamp_s="1"
    )
    assert json.loads(request.body)["card"]["header"]["template"] == template


def test_feishu_card_without_title_has_no_header_and_keeps_the_body() -> None:
    request = feishu.build_request(token="h", secret=None, title="", body=BODY, timestamp_s="1")
    assert json.loads(request.body)["card"] == {
        "schema": "2.0",
        "body": {"elements": [{"tag": "markdown", "content": BODY}]},
    }


def test_feishu_body_that_is_only_the_headline_is_kept() -> None:
    body = "### 🔴 CRITICAL cuda-oom: CUDA out of memory on GPU 0"
    request = feishu.build_request(token="h", secret=None, title=TITLE, body=body, timestamp_s="1")
    elements = json.loads(request.body)["card"]["body"]["elements"]
    assert elements == [{"tag": "markdown", "content": body}]  # never an empty card


@pytest.mark.parametrize("filler", ["x", "显", '"\\', "🔴"])
def test_feishu_whole_body_stays_within_20000_bytes(filler: str) -> None:
    request = feishu.build_request(
        token="h", secret="s", title=TITLE, body=BODY + filler * 30_000, timestamp_s="1"
    )
    assert 19_900 < len(request.body) <= 20_000
    content = json.loads(request.body)["card"]["body"]["elements"][0]["content"]
    assert content.startswith(REST)
    assert MARKER in content


# --------------------------------------------------------------------------- replies


@pytest.mark.parametrize(
    ("check", "status", "reply", "text", "expected"),
    [
        (dingtalk.problem, 200, {"errcode": 0, "errmsg": "ok"}, "", None),
        (dingtalk.problem, 200, {"errcode": 310000, "errmsg": "sign not match"}, "",
         "HTTP 200, errcode 310000: 'sign not match'"),
        (dingtalk.problem, 200, {}, "{}", "HTTP 200: '{}'"),
        (dingtalk.problem, 502, None, "<h1>Bad\n gateway</h1>", "HTTP 502: '<h1>Bad gateway</h1>'"),
        (dingtalk.problem, 500, {"errcode": 0}, "", "HTTP 500, errcode 0: None"),
        (wecom.problem, 200, {"errcode": 0, "errmsg": "ok"}, "", None),
        (wecom.problem, 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, "",
         "HTTP 200, errcode 45009: 'api freq out of limit'"),
        (wecom.problem, 200, None, "not json", "HTTP 200: 'not json'"),
        (feishu.problem, 200, {"code": 0, "msg": "success", "StatusCode": 0}, "", None),
        (feishu.problem, 200, {"StatusCode": 0, "StatusMessage": "success"}, "", None),
        (feishu.problem, 200, {"code": 19024, "msg": "Key Words Not Found"}, "",
         "HTTP 200, code 19024: 'Key Words Not Found'"),
        (feishu.problem, 200, {"StatusCode": 19021, "StatusMessage": "sign match fail"}, "",
         "HTTP 200, code 19021: 'sign match fail'"),
        (feishu.problem, 200, {"code": 0, "StatusCode": 9499}, "", "HTTP 200, code 0: None"),
        (feishu.problem, 200, {"data": {}}, '{"data": {}}', "HTTP 200: '{\"data\": {}}'"),
    ],
)  # fmt: skip
def test_reply_checks(check: Any, status: int, reply: Any, text: str, expected: Any) -> None:
    assert check(status, reply, text) == expected


# --------------------------------------------------------------------------- through Apprise


@dataclass
class Vendor:
    """A loopback HTTP server standing in for the robot: records requests, replies as told."""

    base: str
    requests: list[Captured] = field(default_factory=list)
    status: int = 200
    reply: Any = field(default_factory=lambda: {"errcode": 0, "code": 0, "errmsg": "ok"})

    @property
    def endpoint(self) -> str:
        return quote(self.base, safe="")


@pytest.fixture(autouse=True)
def _registered_and_offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from plugins_offline(monkeypatch)


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    state = Vendor(base="")

    def handle(method: str, path: str, headers: Message, body: bytes) -> tuple[int, bytes]:
        state.requests.append(Captured(method, path, headers, body))
        reply = state.reply if isinstance(state.reply, str) else json.dumps(state.reply)
        return state.status, reply.encode()

    with loopback_server(handle) as port:
        state.base = f"http://127.0.0.1:{port}"
        yield state


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    with apprise_warnings() as seen:
        yield seen


def closed_port_base() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def plugin_for(url: str) -> Any:
    plugin = apprise.Apprise.instantiate(url)
    assert plugin is not None, url
    return plugin


def only(vendor: Vendor) -> Captured:
    assert len(vendor.requests) == 1
    return vendor.requests[0]


def test_dingtalk_plugin_sends_the_exact_request(vendor: Vendor) -> None:
    plugin = plugin_for(f"dingtalk://{SECRET}@tok/13800000000/?endpoint={vendor.endpoint}")
    assert isinstance(plugin, NotifyDingTalk)
    plugin.clock = lambda: 1_600_000_000.0
    assert plugin.notify(title=TITLE, body=BODY, body_format="markdown")

    sent = only(vendor)
    # printf '1600000000000\nSECf00dfeed' | openssl dgst -sha256 -hmac SECf00dfeed -binary | base64
    # gives oJ/iJuIFxk0PmTgWJCQwf70k3rMRrs6/mK1+jkcXzlE=, here URL-encoded once.
    assert (sent.method, sent.path) == (
        "POST",
        "/robot/send?access_token=tok&timestamp=1600000000000"
        "&sign=oJ%2FiJuIFxk0PmTgWJCQwf70k3rMRrs6%2FmK1%2BjkcXzlE%3D",
    )
    assert sent.headers.get_all("Content-Type") == ["application/json; charset=utf-8"]
    assert sent.headers.get_all("Authorization") is None
    assert sent.body == compact(
        {
            "msgtype": "markdown",
            "markdown": {"title": TITLE, "text": f"{BODY}\n\n@13800000000"},
            "at": {"atMobiles": ["13800000000"], "isAtAll": False},
        }
    )


def test_wecom_plugin_sends_the_exact_request(vendor: Vendor) -> None:
    plugin = plugin_for(f"wecombot://k-1?endpoint={vendor.endpoint}")
    assert isinstance(plugin, NotifyWeComBot)
    assert plugin.notify(title=TITLE, body=BODY, body_format="markdown")
    sent = only(vendor)
    assert (sent.method, sent.path) == ("POST", "/cgi-bin/webhook/send?key=k-1")
    assert sent.headers.get_all("Content-Type") == ["application/json; charset=utf-8"]
    assert sent.body == compact({"msgtype": "markdown", "markdown": {"content": BODY}})


@pytest.mark.parametrize("scheme", ["feishu", "lark"])
def test_feishu_and_lark_plugins_send_the_exact_request(vendor: Vendor, scheme: str) -> None:
    plugin = plugin_for(f"{scheme}://demo-secret@hook-1?endpoint={vendor.endpoint}")
    assert isinstance(plugin, NotifyLark if scheme == "lark" else NotifyFeishu)
    plugin.clock = lambda: 1_599_360_473.9
    assert plugin.notify(title=TITLE, body=BODY, body_format="markdown", notify_type="warning")
    sent = only(vendor)
    assert (sent.method, sent.path) == ("POST", "/open-apis/bot/v2/hook/hook-1")
    assert sent.headers.get_all("Content-Type") == ["application/json; charset=utf-8"]
    assert sent.body == compact(
        {
            "timestamp": "1599360473",
            "sign": "3/MaVZ8JLIy4TUG+7KSFJqvUkTKd+HWY8g+56DZWq8s=",
            "msg_type": "interactive",
            "card": {
                "schema": "2.0",
                "header": {"title": {"tag": "plain_text", "content": TITLE}, "template": "orange"},
                "body": {"elements": [{"tag": "markdown", "content": REST}]},
            },
        }
    )


@pytest.mark.parametrize(
    ("url", "wire"),
    [
        ("dingtalk://tok/", lambda p: p["msgtype"] == "text" and p["text"]["content"]),
        ("wecombot://k", lambda p: p["msgtype"] == "text" and p["text"]["content"]),
        ("feishu://h", lambda p: p["msg_type"] == "text" and p["content"]["text"]),
    ],
)
def test_a_text_notification_goes_out_as_text(vendor: Vendor, url: str, wire: Any) -> None:
    plugin = plugin_for(f"{url}?endpoint={vendor.endpoint}")
    assert plugin.notify(title="[p] disk full", body="free: 0 GB", body_format="text")
    assert wire(json.loads(only(vendor).body)) == "[p] disk full\nfree: 0 GB"


@pytest.mark.parametrize(
    ("url", "status", "reply", "said"),
    [
        ("dingtalk://tok/", 200, {"errcode": 310000, "errmsg": "sign not match"}, "310000"),
        ("dingtalk://tok/", 500, "boom", "HTTP 500"),
        ("wecombot://k", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, "93000"),
        ("feishu://h", 200, {"code": 19024, "msg": "Key Words Not Found"}, "19024"),
        ("lark://h", 400, {"code": 9499, "msg": "Bad Request"}, "9499"),
    ],
)
def test_vendor_refusals_are_false_and_logged(
    vendor: Vendor, warnings_logged: list[str], url: str, status: int, reply: Any, said: str
) -> None:
    vendor.status, vendor.reply = status, reply
    plugin = plugin_for(f"{url}?endpoint={vendor.endpoint}")
    assert plugin.notify(title=TITLE, body=BODY) is False
    assert len(vendor.requests) == 1
    assert any(said in line for line in warnings_logged), warnings_logged


@pytest.mark.parametrize(
    "url",
    [
        "dingtalk://SECsecretvalue@tokenvalue42/",
        "wecombot://keyvalue42",
        "feishu://secretvalue@tokenvalue42",
        "lark://tokenvalue42",
    ],
)
def test_unreachable_endpoint_is_false_and_the_log_keeps_the_token_out(
    warnings_logged: list[str], url: str
) -> None:
    base = closed_port_base()
    plugin = plugin_for(f"{url}?endpoint={quote(base, safe='')}")
    assert plugin.notify(title=TITLE, body=BODY) is False
    logged = "\n".join(warnings_logged)
    assert f"request to {base} failed" in logged
    for secret in ("tokenvalue42", "keyvalue42", "secretvalue"):
        assert secret not in logged


def test_an_unexpected_error_is_false_not_an_exception(
    vendor: Vendor, warnings_logged: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(payload: Any) -> bytes:
        raise RuntimeError("encoder broke")

    monkeypatch.setattr(_robot, "compact_json", broken)
    for url in ("dingtalk://tok/", "wecombot://key-1", "feishu://hook-1"):
        assert plugin_for(f"{url}?endpoint={vendor.endpoint}").notify(body=BODY) is False
    assert vendor.requests == []
    assert sum("unexpected RuntimeError: encoder broke" in w for w in warnings_logged) == 3


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "cls", "fields", "secrets"),
    [
        ("dingtalk://SECabc123@tok42/13800000000/?to=13900000000&endpoint=http%3A%2F%2F127.0.0.1%3A9",
         NotifyDingTalk, {"token": "tok42", "secret": "SECabc123",
                          "targets": ["13800000000", "13900000000"],
                          "endpoint": "http://127.0.0.1:9"}, ("tok42", "SECabc123")),
        ("dingtalk://tok42/", NotifyDingTalk,
         {"token": "tok42", "secret": None, "targets": [], "endpoint": None}, ("tok42",)),
        ("dingtalk://x/?token=tok42&secret=SECabc123", NotifyDingTalk,
         {"token": "tok42", "secret": "SECabc123"}, ("tok42", "SECabc123")),
        ("wecombot://693a91f6-7b0e-4bc4", NotifyWeComBot,
         {"key": "693a91f6-7b0e-4bc4", "endpoint": None}, ("693a91f6-7b0e-4bc4",)),
        ("wecombot://x/?key=k-2", NotifyWeComBot, {"key": "k-2"}, ("k-2",)),
        ("feishu://hook-1", NotifyFeishu, {"token": "hook-1", "secret": None}, ("hook-1",)),
        ("feishu://s3cret@hook-1", NotifyFeishu, {"token": "hook-1", "secret": "s3cret"},
         ("hook-1", "s3cret")),
        ("lark://hook_2?secret=s3cret", NotifyLark, {"token": "hook_2", "secret": "s3cret"},
         ("hook_2", "s3cret")),
    ],
)  # fmt: skip
def test_urls_parse_mask_secrets_and_round_trip(
    url: str, cls: Any, fields: dict[str, Any], secrets: tuple[str, ...]
) -> None:
    plugin = plugin_for(url)
    assert type(plugin) is cls
    assert {name: getattr(plugin, name) for name in fields} == fields
    private = plugin.url(privacy=True)
    for secret in secrets:
        assert secret not in private
    assert "****" in private
    again = plugin_for(plugin.url())
    assert type(again) is cls
    assert {name: getattr(again, name) for name in fields} == fields
    assert again.url() == plugin.url()
    assert again.url_id() == plugin.url_id()


@pytest.mark.parametrize(
    ("url", "cls", "fields"),
    [
        ("https://oapi.dingtalk.com/robot/send?access_token=tok42", NotifyDingTalk,
         {"token": "tok42", "secret": None}),
        ("https://oapi.dingtalk.com/robot/send?access_token=tok42&secret=SECx", NotifyDingTalk,
         {"token": "tok42", "secret": "SECx"}),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7b0e", NotifyWeComBot,
         {"key": "693a91f6-7b0e"}),
        ("https://open.feishu.cn/open-apis/bot/v2/hook/hook-1", NotifyFeishu,
         {"token": "hook-1"}),
        ("https://open.larksuite.com/open-apis/bot/v2/hook/hook-2", NotifyLark,
         {"token": "hook-2"}),
    ],
)  # fmt: skip
def test_the_robots_own_webhook_addresses_work_too(
    url: str, cls: Any, fields: dict[str, Any]
) -> None:
    plugin = plugin_for(url)
    assert type(plugin) is cls
    assert {name: getattr(plugin, name) for name in fields} == fields


@pytest.mark.parametrize(
    "url",
    [
        "dingtalk://",
        "dingtalk://bad%20token/",
        "dingtalk://se%20cret@tok/",
        "dingtalk://tok/?endpoint=ftp://x",
        "wecombot://",
        "wecombot://k?endpoint=not-a-url",
        "feishu://",
        "lark://to.ken",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    assert not apprise.Apprise().add(url)


def test_register_replaces_apprises_plugins_and_is_idempotent() -> None:
    manager = NotificationManager()
    register()
    register()
    expected = {
        "dingtalk": NotifyDingTalk,
        "wecombot": NotifyWeComBot,
        "feishu": NotifyFeishu,
        "lark": NotifyLark,
    }
    assert {scheme: manager[scheme] for scheme in expected} == expected
    manager.remove("lark")
    assert "lark" not in manager
    register()
    assert manager["lark"] is NotifyLark


def test_details_describe_the_same_url_forms_as_apprise() -> None:
    details = {
        tuple(s["secure_protocols"] or ()): s["details"]["templates"]
        for s in apprise.Apprise().details()["schemas"]
    }
    assert details[("dingtalk",)] == (
        "{schema}://{token}/",
        "{schema}://{token}/{targets}/",
        "{schema}://{secret}@{token}/",
        "{schema}://{secret}@{token}/{targets}/",
    )
    assert details[("wecombot",)] == ("{schema}://{key}",)
    assert details[("feishu",)] == ("{schema}://{token}", "{schema}://{secret}@{token}")
    assert details[("lark",)] == ("{schema}://{token}", "{schema}://{secret}@{token}")
