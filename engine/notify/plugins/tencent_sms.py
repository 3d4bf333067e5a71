"""Tencent Cloud Short Message Service (API 3.0, SendSms) as an Apprise plugin: ``tencentsms://``.

URL::

    tencentsms://{secret_id}:{secret_key}@{sdk_app_id}/{sign_name}/{template_id}/{phone}[/...]
        [?region=ap-guangzhou][&maxlen=12][&to={phone},...][&endpoint=https://host]

``sdk_app_id`` is the SMS application's SdkAppId (``1400...``), ``sign_name`` an approved
signature (percent-encode it when it is Chinese), ``template_id`` an approved body template whose
first variable ``{1}`` receives the alert (Apprise joins title and body). Phones are written to
E.164 (``+86`` is assumed for a bare 11-digit number starting with 1, ``00`` becomes ``+``) and
sent up to 200 per call. ``region`` is the ``X-TC-Region`` header; ``endpoint=`` replaces
``https://sms.tencentcloudapi.com`` (the tests aim it at a loopback server).

Length: the SendSms error ``InvalidParameterValue.TemplateParameterLengthLimit`` is documented as
"more than 12 characters in a single template variable" for accounts without enterprise
verification (enterprise-verified accounts have no per-variable limit). The text is therefore put
on one line and cut to ``maxlen`` characters, 12 by default; ``maxlen=0`` sends it whole.

Signing: TC3-HMAC-SHA256 ("signature v3"), done by the pure function :func:`tc3_sign`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from apprise import NotifyBase

from engine.notify.plugins import _http, _sms

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "sms"
HOST = "sms.tencentcloudapi.com"
ACTION = "SendSms"
API_VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
DEFAULT_REGION = "ap-guangzhou"
DEFAULT_MAXLEN = 12
MAX_NUMBERS = 200


@dataclass(frozen=True)
class Tc3Signature:
    canonical_request: str
    string_to_sign: str
    signature: str
    authorization: str


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def tc3_sign(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    timestamp: int,
    payload: bytes,
    content_type: str = CONTENT_TYPE,
) -> Tc3Signature:
    """Sign a POST to ``/`` with an empty query; the signed headers are content-type and host.

    The credential scope uses the UTC date of `timestamp`, which must also be sent as
    ``X-TC-Timestamp``; `payload` is the exact body that will be sent.
    """
    payload_hash = hashlib.sha256(payload).hexdigest()
    canonical_headers = f"content-type:{content_type.lower()}\nhost:{host.lower()}\n"
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, signed_headers, payload_hash]
    )
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    scope = f"{date}/{service}/tc3_request"
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"
    key = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    key = _hmac(_hmac(key, service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return Tc3Signature(canonical_request, string_to_sign, signature, authorization)


def e164(phone: str) -> str:
    """A cleaned phone number in E.164 form, assuming China (+86) for a bare mobile number."""
    if phone.startswith("+"):
        return phone
    if phone.startswith("00"):
        return "+" + phone[2:]
    if len(phone) == 11 and phone.startswith("1"):
        return "+86" + phone
    return "+" + phone


class NotifyTencentSms(_sms.SmsPlugin):
    """Send an alert as a Tencent Cloud templated SMS to one or more phones."""

    service_name = "Tencent Cloud SMS"
    service_url = "https://cloud.tencent.com/product/sms"
    secure_protocol = "tencentsms"
    setup_url = "https://cloud.tencent.com/document/product/382"
    account = ("secret_id", "secret_key", "sdk_app_id", "sign_name", "template_id")
    url_args = ("region", "maxlen", "endpoint")
    max_numbers = MAX_NUMBERS
    default_region = DEFAULT_REGION
    default_maxlen = DEFAULT_MAXLEN
    log_name = "Tencent SMS"
    templates = (
        "{schema}://{secret_id}:{secret_key}@{sdk_app_id}/{sign_name}/{template_id}/{targets}",
    )
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_tokens,
        secret_id={"name": "SecretId", "type": "string", "private": True, "required": True},
        secret_key={"name": "SecretKey", "type": "string", "private": True, "required": True},
        sdk_app_id={"name": "SmsSdkAppId", "type": "string", "required": True},
        sign_name={"name": "Signature Name", "type": "string", "required": True},
        template_id={"name": "Template ID", "type": "string", "required": True},
        targets={"name": "Target Phones", "type": "list:string", "required": True},
    )
    template_args: ClassVar[dict[str, dict[str, Any]]] = _sms.template_args(
        DEFAULT_REGION, DEFAULT_MAXLEN
    )

    def __init__(
        self,
        secret_id: str | None = None,
        secret_key: str | None = None,
        sdk_app_id: str | None = None,
        sign_name: str | None = None,
        template_id: str | None = None,
        targets: str | list[str] | None = None,
        region: str | None = None,
        maxlen: Any = None,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not (secret_id and secret_key and sdk_app_id and sign_name and template_id):
            raise TypeError("tencentsms:// needs a key pair, SdkAppId, sign name and template")
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.template_id = template_id
        self.set_delivery(targets, region, maxlen, endpoint, e164)
        self.clock: Callable[[], float] = time.time  # injectable for tests

    def send_batch(self, phones: list[str], text: str) -> bool:
        base = self.endpoint or f"https://{HOST}"
        host = urlsplit(base).netloc
        payload = _http.compact_json(
            {"PhoneNumberSet": phones, "SmsSdkAppId": self.sdk_app_id, "SignName": self.sign_name,
             "TemplateId": self.template_id, "TemplateParamSet": [text]}
        )  # fmt: skip
        timestamp = int(self.clock())
        signed = tc3_sign(secret_id=self.secret_id, secret_key=self.secret_key, service=SERVICE,
                          host=host, timestamp=timestamp, payload=payload)  # fmt: skip
        headers = {
            "Authorization": signed.authorization,
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": API_VERSION,
            "X-TC-Region": self.region,
        }
        response = _sms.post(self, _http.Request("POST", f"{base}/", headers, payload))
        return response is not None and self._check_reply(response, len(phones))

    def _check_reply(self, response: requests.Response, count: int) -> bool:
        reply = _http.reply_json(response)
        reply = reply.get("Response") if isinstance(reply, dict) else None
        if response.status_code != 200 or not isinstance(reply, dict):
            self.logger.warning(f"{self.log_name}: HTTP {response.status_code}: "
                                f"{response.text[:200]!r}")  # fmt: skip
            return False
        error = reply.get("Error")
        if error:
            self.logger.warning(f"{self.log_name}: sending to {count} number(s) failed: {error!r}")
            return False
        statuses = reply.get("SendStatusSet")
        if not isinstance(statuses, list) or not statuses:
            self.logger.warning(f"{self.log_name}: reply has no SendStatusSet")
            return False
        failed = [s for s in statuses if not isinstance(s, dict) or s.get("Code") != "Ok"]
        for status in failed:
            self.logger.warning(f"{self.log_name}: a number was refused: {status!r}")
        if not failed:
            self.logger.info(f"{self.log_name}: sent to {count} number(s)")
        return not failed
