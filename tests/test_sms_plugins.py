"""The Aliyun and Tencent Cloud SMS plugins: signing against the vendors' worked examples, the
exact requests sent through apprise.Apprise() to a loopback server, privacy and URL round-trips.

Nothing leaves the machine: every plugin URL here carries ``endpoint=http://127.0.0.1:PORT`` and a
guard fails any request aimed elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import apprise
import pytest
from apprise.manager_plugins import NotificationManager
from offline import Captured, loopback_server, plugins_offline

from engine.notify.plugins import NotifyAliyunSms, NotifyTencentSms, register
from engine.notify.plugins._sms import clip, one_line
from engine.notify.plugins.aliyun_sms import acs3_date, acs3_sign, percent_encode
from engine.notify.plugins.tencent_sms import e164, tc3_sign

NOW = 1_700_000_000  # 2023-11-14T22:13:20Z
NONCE = "0b5d4c3a2f1e4d5c8b7a69584f3e2d1c"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --------------------------------------------------------------------------- fixtures


@dataclass
class Vendor:
    """A loopback HTTP server standing in for the vendor: records requests, replies as told."""

    base: str
    requests: list[Captured] = field(default_factory=list)
    status: int = 200
    reply: Any = field(default_factory=dict)

    @property
    def netloc(self) -> str:
        return urlsplit(self.base).netloc


@pytest.fixture(autouse=True)
def _registered_and_offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from plugins_offline(monkeypatch)


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    state = Vendor(base="")

    def handle(method: str, path: str, headers: Message, body: bytes) -> tuple[int, bytes]:
        state.requests.append(Captured(method, path, headers, body))
        return state.status, json.dumps(state.reply).encode()

    with loopback_server(handle) as port:
        state.base = f"http://127.0.0.1:{port}"
        yield state


def closed_port_base() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def only(vendor: Vendor) -> Captured:
    assert len(vendor.requests) == 1
    return vendor.requests[0]


# --------------------------------------------------------------------------- (a) vendor examples


def test_acs3_sign_reproduces_alibaba_cloud_v3_worked_example() -> None:
    # Alibaba Cloud SDK docs, "Request syntax and signature method V3", section "Signature
    # examples" / "Fixed parameter values"
    # (https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature):
    # AccessKeyID YourAccessKeyId, AccessKeySecret YourAccessKeySecret, nonce
    # 3156853299f313e23d1673dc12e1703d, x-acs-date 2023-10-26T10:22:32Z, RunInstances 2014-05-26
    # on ecs.cn-shanghai.aliyuncs.com with ImageId and RegionId, empty body.
    signed = acs3_sign(
        access_key_id="YourAccessKeyId",
        access_key_secret="YourAccessKeySecret",
        host="ecs.cn-shanghai.aliyuncs.com",
        action="RunInstances",
        version="2014-05-26",
        params={
            "RegionId": "cn-shanghai",
            "ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
        },
        date="2023-10-26T10:22:32Z",
        nonce="3156853299f313e23d1673dc12e1703d",
    )
    assert signed.canonical_request == (
        "POST\n"
        "/\n"
        "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
        "host:ecs.cn-shanghai.aliyuncs.com\n"
        "x-acs-action:RunInstances\n"
        f"x-acs-content-sha256:{EMPTY_SHA256}\n"
        "x-acs-date:2023-10-26T10:22:32Z\n"
        "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
        "x-acs-version:2014-05-26\n"
        "\n"
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
        f"{EMPTY_SHA256}"
    )
    assert signed.string_to_sign == (
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    assert signed.signature == "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    assert signed.headers["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
        "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
        "x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )
    assert signed.query == (
        "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai"
    )


def test_acs3_encoding_and_date_follow_the_v3_text() -> None:
    # Same page, "Canonicalized URI": letters, digits, - _ . ~ stay; space -> %20, * -> %2A.
    assert percent_encode("a-b_c.d~e f*g/h+i") == "a-b_c.d~e%20f%2Ag%2Fh%2Bi"
    assert percent_encode("阿里") == "%E9%98%BF%E9%87%8C"
    assert acs3_date(1698315752) == "2023-10-26T10:22:32Z"


def test_tc3_sign_reproduces_tencent_cloud_signature_v3_worked_example() -> None:
    # Tencent Cloud API 3.0 docs, "Signature v3" (in the SMS API docs at
    # https://www.tencentcloud.com/document/product/382/40467): DescribeInstances on
    # cvm.tencentcloudapi.com at X-TC-Timestamp 1551113065 with the JSON body below, SecretId
    # AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE, SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE (the
    # current English page masks the middle of both keys; its curl example keeps the signature).
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    signed = tc3_sign(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        service="cvm",
        host="cvm.tencentcloudapi.com",
        timestamp=1551113065,
        payload=payload,
    )
    assert signed.canonical_request == (
        "POST\n"
        "/\n"
        "\n"
        "content-type:application/json; charset=utf-8\n"
        "host:cvm.tencentcloudapi.com\n"
        "\n"
        "content-type;host\n"
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    )
    assert signed.string_to_sign == (
        "TC3-HMAC-SHA256\n"
        "1551113065\n"
        "2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert signed.signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert signed.authorization == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


# ------------------------------------------------- independent re-computations for (b), by hand


def reference_acs3(key_id: str, secret: str, host: str, query: str, date: str) -> str:
    """ACS3-HMAC-SHA256 Authorization spelled out line by line from the V3 page."""
    lines = [
        "POST",
        "/",
        query,
        f"host:{host}",
        "x-acs-action:SendSms",
        f"x-acs-content-sha256:{EMPTY_SHA256}",
        f"x-acs-date:{date}",
        f"x-acs-signature-nonce:{NONCE}",
        "x-acs-version:2017-05-25",
        "",
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
        EMPTY_SHA256,
    ]
    hashed = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    mac = hmac.new(secret.encode(), f"ACS3-HMAC-SHA256\n{hashed}".encode(), "sha256")
    return (
        f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders=host;x-acs-action;"
        "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        f"Signature={mac.hexdigest()}"
    )


def reference_tc3(secret_id: str, secret_key: str, host: str, body: bytes, date: str) -> str:
    """TC3-HMAC-SHA256 Authorization spelled out step by step from the Signature v3 page."""
    canonical = (
        f"POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:{host}\n\n"
        f"content-type;host\n{hashlib.sha256(body).hexdigest()}"
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{NOW}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    secret_date = hmac.new(f"TC3{secret_key}".encode(), date.encode(), "sha256").digest()
    secret_service = hmac.new(secret_date, b"sms", "sha256").digest()
    secret_signing = hmac.new(secret_service, b"tc3_request", "sha256").digest()
    signature = hmac.new(secret_signing, to_sign.encode(), "sha256").hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, "
        f"Signature={signature}"
    )


# --------------------------------------------------------------------------- (b) Aliyun requests

ALIYUN_KEY_ID = "LTAI5tTestKeyId42"
ALIYUN_SECRET = "s3cr/t+key="
ALIYUN_SIGN = "训练告警"


def aliyun_url(base: str, extra: str = "") -> str:
    return (
        f"aliyunsms://{ALIYUN_KEY_ID}:{quote(ALIYUN_SECRET, safe='')}@{quote(ALIYUN_SIGN)}"
        f"/SMS_154950909/13800000000/+86-139-0000-0000?param=msg{extra}"
        f"&endpoint={quote(base, safe='')}"
    )


def aliyun_apprise(url: str) -> apprise.Apprise:
    notifier = apprise.Apprise()
    assert notifier.add(url)
    plugin = notifier[0]
    assert isinstance(plugin, NotifyAliyunSms)
    plugin.clock = lambda: float(NOW)
    plugin.make_nonce = lambda: NONCE
    return notifier


def test_aliyun_sends_the_exact_signed_request(vendor: Vendor) -> None:
    vendor.reply = {"Code": "OK", "Message": "OK", "BizId": "9006^0", "RequestId": "r-1"}
    notifier = aliyun_apprise(aliyun_url(vendor.base))
    assert notifier.notify(title="loss spike", body="step 1200\nloss 9.81 > 3.0 (rule loss-spike)")

    sent = only(vendor)
    assert sent.method == "POST"
    path, _, query = sent.path.partition("?")
    assert path == "/"
    params = {
        "PhoneNumbers": "13800000000,+8613900000000",
        "SignName": ALIYUN_SIGN,
        "TemplateCode": "SMS_154950909",
        # Title and body on one line, cut to Aliyun's 35-character variable limit.
        "TemplateParam": '{"msg":"loss spike step 1200 loss 9.81 > 3."}',
    }
    assert dict(parse_qsl(query, keep_blank_values=True)) == params
    assert query == urlencode(sorted(params.items()), quote_via=quote, safe="~")
    assert sent.body == b""
    assert sent.headers.get_all("Host") == [vendor.netloc]
    date = "2023-11-14T22:13:20Z"
    for name, value in {
        "x-acs-action": "SendSms",
        "x-acs-version": "2017-05-25",
        "x-acs-date": date,
        "x-acs-signature-nonce": NONCE,
        "x-acs-content-sha256": EMPTY_SHA256,
        "Authorization": reference_acs3(ALIYUN_KEY_ID, ALIYUN_SECRET, vendor.netloc, query, date),
    }.items():
        assert sent.headers.get_all(name) == [value], name


@pytest.mark.parametrize(
    ("status", "reply"),
    [
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}),
        (400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}),
        (500, "not json at all"),
    ],
)
def test_aliyun_vendor_errors_make_notify_false(vendor: Vendor, status: int, reply: Any) -> None:
    vendor.status, vendor.reply = status, reply
    assert not aliyun_apprise(aliyun_url(vendor.base)).notify(body="disk full")
    assert len(vendor.requests) == 1


def test_aliyun_unreachable_endpoint_is_false_not_an_exception() -> None:
    assert not aliyun_apprise(aliyun_url(closed_port_base())).notify(body="disk full")


def test_aliyun_maxlen_zero_sends_the_whole_text(vendor: Vendor) -> None:
    vendor.reply = {"Code": "OK"}
    text = "x" * 80
    assert aliyun_apprise(aliyun_url(vendor.base, "&maxlen=0")).notify(body=text)
    query = only(vendor).path.partition("?")[2]
    assert json.loads(dict(parse_qsl(query))["TemplateParam"]) == {"msg": text}


# --------------------------------------------------------------------------- (b) Tencent requests

TENCENT_ID = "AKIDtestSecretId0001"
TENCENT_KEY = "testSecret/Key+0002"


def tencent_url(base: str, phones: str = "13800000000/+852-6123-4567") -> str:
    return (
        f"tencentsms://{TENCENT_ID}:{quote(TENCENT_KEY, safe='')}@1400006666/{quote('腾讯云')}"
        f"/1110/{phones}?region=ap-beijing&maxlen=20&endpoint={quote(base, safe='')}"
    )


def tencent_apprise(url: str) -> apprise.Apprise:
    notifier = apprise.Apprise()
    assert notifier.add(url)
    plugin = notifier[0]
    assert isinstance(plugin, NotifyTencentSms)
    plugin.clock = lambda: NOW + 0.9
    return notifier


def ok_statuses(*phones: str) -> dict[str, Any]:
    return {"Response": {"RequestId": "r-2", "SendStatusSet": [
        {"PhoneNumber": p, "Code": "Ok", "Message": "send success", "Fee": 1} for p in phones
    ]}}  # fmt: skip


def test_tencent_sends_the_exact_signed_request(vendor: Vendor) -> None:
    vendor.reply = ok_statuses("+8613800000000", "+85261234567")
    assert tencent_apprise(tencent_url(vendor.base)).notify(body="GPU 3 temperature 91°C, hot")

    sent = only(vendor)
    assert (sent.method, sent.path) == ("POST", "/")
    assert json.loads(sent.body) == {
        "PhoneNumberSet": ["+8613800000000", "+85261234567"],
        "SmsSdkAppId": "1400006666",
        "SignName": "腾讯云",
        "TemplateId": "1110",
        "TemplateParamSet": ["GPU 3 temperature 91"],  # cut to maxlen=20
    }
    authorization = reference_tc3(TENCENT_ID, TENCENT_KEY, vendor.netloc, sent.body, "2023-11-14")
    for name, value in {
        "Host": vendor.netloc,
        "Content-Type": "application/json; charset=utf-8",
        "X-TC-Action": "SendSms",
        "X-TC-Version": "2021-01-11",
        "X-TC-Region": "ap-beijing",
        "X-TC-Timestamp": str(NOW),
        "Authorization": authorization,
    }.items():
        assert sent.headers.get_all(name) == [value], name


@pytest.mark.parametrize(
    "reply",
    [
        {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"},
                      "RequestId": "r"}},
        {"Response": {"RequestId": "r", "SendStatusSet": [
            {"PhoneNumber": "+8613800000000", "Code": "Ok"},
            {"PhoneNumber": "+85261234567", "Code": "LimitExceeded.PhoneNumberDailyLimit"},
        ]}},
        {"Response": {"RequestId": "r", "SendStatusSet": []}},
        ["not", "an", "object"],
    ],
)  # fmt: skip
def test_tencent_vendor_errors_make_notify_false(vendor: Vendor, reply: Any) -> None:
    vendor.reply = reply
    assert not tencent_apprise(tencent_url(vendor.base)).notify(body="disk full")
    assert len(vendor.requests) == 1


def test_tencent_http_error_and_unreachable_are_false(vendor: Vendor) -> None:
    vendor.status, vendor.reply = 502, {"message": "bad gateway"}
    assert not tencent_apprise(tencent_url(vendor.base)).notify(body="disk full")
    assert not tencent_apprise(tencent_url(closed_port_base())).notify(body="disk full")


def test_tencent_splits_more_than_200_numbers_into_batches(vendor: Vendor) -> None:
    phones = [f"+86138{n:08d}" for n in range(201)]
    vendor.reply = ok_statuses("+86")
    assert tencent_apprise(tencent_url(vendor.base, "/".join(phones))).notify(body="ok")
    batches = [json.loads(sent.body)["PhoneNumberSet"] for sent in vendor.requests]
    assert batches == [phones[:200], phones[200:]]


# ------------------------------------------------------------------ (c) privacy, round-trip


@pytest.mark.parametrize(
    ("url", "secrets", "fields"),
    [
        (
            aliyun_url("http://127.0.0.1:9") + "&region=cn-shanghai&maxlen=20&to=15000000000",
            (ALIYUN_KEY_ID, ALIYUN_SECRET),
            ("access_key_id", "access_key_secret", "sign_name", "template_code", "targets",
             "region", "param", "maxlen", "endpoint"),
        ),
        (
            tencent_url("http://127.0.0.1:9"),
            (TENCENT_ID, TENCENT_KEY),
            ("secret_id", "secret_key", "sdk_app_id", "sign_name", "template_id", "targets",
             "region", "maxlen", "endpoint"),
        ),
    ],
)  # fmt: skip
def test_privacy_url_masks_secrets_and_url_round_trips(
    url: str, secrets: tuple[str, str], fields: tuple[str, ...]
) -> None:
    plugin = apprise.Apprise.instantiate(url)
    assert plugin is not None
    private = plugin.url(privacy=True)
    assert "://****:****@" in private
    for secret in secrets:
        assert secret not in private
        assert quote(secret, safe="") not in private
    again = apprise.Apprise.instantiate(plugin.url())
    assert type(again) is type(plugin)
    assert {f: getattr(again, f) for f in fields} == {f: getattr(plugin, f) for f in fields}
    assert again.url() == plugin.url()
    assert again.url_id() == plugin.url_id()


def test_parsed_fields() -> None:
    aliyun = apprise.Apprise.instantiate(aliyun_url("http://127.0.0.1:9"))
    assert isinstance(aliyun, NotifyAliyunSms)
    assert vars(aliyun) | {
        "access_key_id": ALIYUN_KEY_ID,
        "access_key_secret": ALIYUN_SECRET,
        "sign_name": ALIYUN_SIGN,
        "template_code": "SMS_154950909",
        "targets": ["13800000000", "+8613900000000"],
        "region": "cn-hangzhou",
        "param": "msg",
        "maxlen": 35,
        "endpoint": "http://127.0.0.1:9",
    } == vars(aliyun)
    tencent = apprise.Apprise.instantiate(tencent_url("http://127.0.0.1:9"))
    assert isinstance(tencent, NotifyTencentSms)
    assert vars(tencent) | {
        "secret_id": TENCENT_ID,
        "secret_key": TENCENT_KEY,
        "sdk_app_id": "1400006666",
        "sign_name": "腾讯云",
        "template_id": "1110",
        "targets": ["+8613800000000", "+85261234567"],
        "region": "ap-beijing",
        "maxlen": 20,
        "endpoint": "http://127.0.0.1:9",
    } == vars(tencent)


@pytest.mark.parametrize(
    "url",
    [
        "aliyunsms://id:secret@sign/SMS_1",  # no phone
        "aliyunsms://id@sign/SMS_1/13800000000",  # no secret
        "aliyunsms://id:secret@sign/SMS_1/not-a-phone",
        "aliyunsms://id:secret@sign/SMS_1/13800000000?endpoint=ftp://x",
        "tencentsms://id:key@1400006666/sign/13800000000",  # template missing: phone taken as it
        "tencentsms://id:key@1400006666",
    ],
)
def test_incomplete_urls_are_refused(url: str) -> None:
    assert not apprise.Apprise().add(url)


def test_register_is_idempotent_and_recovers_a_lost_scheme() -> None:
    manager = NotificationManager()
    register()
    register()
    assert manager["aliyunsms"] is NotifyAliyunSms
    assert manager["tencentsms"] is NotifyTencentSms
    manager.remove("tencentsms")
    assert "tencentsms" not in manager
    register()
    assert manager["tencentsms"] is NotifyTencentSms


def test_text_helpers() -> None:
    assert one_line(" a\r\n b\t c ") == "a b c"
    assert clip("abcdef", 4) == "abcd"
    assert clip("abcdef", 0) == "abcdef"
    assert [e164(p) for p in ("13800000000", "008613800000000", "+85261234567", "85261234567")] == [
        "+8613800000000", "+8613800000000", "+85261234567", "+85261234567"
    ]  # fmt: skip
