"""Alibaba Cloud (Aliyun) Short Message Service as an Apprise plugin: ``aliyunsms://``.

URL::

    aliyunsms://{access_key_id}:{access_key_secret}@{sign_name}/{template_code}/{phone}[/{phone}...]
        [?region=cn-hangzhou][&param=content][&maxlen=35][&to={phone},...][&endpoint=https://host]

``sign_name`` is an approved SMS signature (percent-encode it when it is Chinese) and
``template_code`` an approved template (``SMS_...``). Aliyun only sends approved templates, so the
alert (Apprise joins title and body) becomes the value of one template variable, ``${content}``
unless ``param=`` names another. Phone numbers are path items (or ``to=``), sent up to 1000 per
SendSms call. ``region`` picks the endpoint: ``cn-hangzhou`` (default) is the global
``dysmsapi.aliyuncs.com``, another region ``dysmsapi.{region}.aliyuncs.com``; ``endpoint=``
replaces the base URL outright (the tests aim it at a loopback server).

Length: Aliyun refuses a variable value that is too long (error ``isv.PARAM_LENGTH_LIMIT``); its
error documentation gives 1 to 35 characters per variable for notification templates (4 to 6 for
verification-code templates). The text is therefore put on one line and cut to ``maxlen``
characters, 35 by default; ``maxlen=0`` sends it whole, for templates granted longer variables.

Signing: Alibaba Cloud's "request syntax and signature method V3" (ACS3-HMAC-SHA256), which its
documentation names as current (the RPC HMAC-SHA1 method V2 is marked discontinued). The pure
function :func:`acs3_sign` does it; the plugin only supplies time and nonce and sends.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from apprise import NotifyBase

from engine.notify.plugins import _http, _sms

ALGORITHM = "ACS3-HMAC-SHA256"
ACTION = "SendSms"
API_VERSION = "2017-05-25"
DEFAULT_REGION = "cn-hangzhou"
DEFAULT_PARAM = "content"
DEFAULT_MAXLEN = 35
MAX_NUMBERS = 1000


def percent_encode(text: str) -> str:
    """UTF-8 percent-encoding per the V3 rules: only letters, digits, ``- _ . ~`` stay literal
    (so a space is ``%20``, ``*`` is ``%2A``, ``~`` is left alone)."""
    return quote(text, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """Parameters sorted by name, each ``name=value`` percent-encoded, joined by ``&``."""
    return "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}" for name in sorted(params)
    )


def acs3_date(epoch: float) -> str:
    """``x-acs-date``: ISO 8601 UTC, ``yyyy-MM-ddTHH:mm:ssZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass(frozen=True)
class Acs3Request:
    """Everything a signed request carries, plus the intermediate strings for inspection."""

    query: str
    headers: dict[str, str]
    canonical_request: str
    string_to_sign: str
    signature: str


def acs3_sign(
    *,
    access_key_id: str,
    access_key_secret: str,
    host: str,
    action: str,
    version: str,
    params: Mapping[str, str],
    date: str,
    nonce: str,
) -> Acs3Request:
    """Sign an RPC-style POST whose parameters all travel in the query and whose body is empty.

    Signed headers are host and the five ``x-acs-*`` headers; the returned headers add
    ``Authorization`` and are exactly what to send.
    """
    payload_hash = hashlib.sha256(b"").hexdigest()
    signed = {
        "host": host,
        "x-acs-action": action,
        "x-acs-content-sha256": payload_hash,
        "x-acs-date": date,
        "x-acs-signature-nonce": nonce,
        "x-acs-version": version,
    }
    names = sorted(signed)
    canonical_headers = "".join(f"{name}:{signed[name].strip()}\n" for name in names)
    signed_headers = ";".join(names)
    query = canonical_query(params)
    canonical_request = "\n".join(
        ["POST", "/", query, canonical_headers, signed_headers, payload_hash]
    )
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{digest}"
    signature = hmac.new(
        access_key_secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={access_key_id},"
        f"SignedHeaders={signed_headers},Signature={signature}"
    )
    headers = {**signed, "Authorization": authorization}
    return Acs3Request(query, headers, canonical_request, string_to_sign, signature)


def region_host(region: str) -> str:
    return (
        "dysmsapi.aliyuncs.com" if region == DEFAULT_REGION else f"dysmsapi.{region}.aliyuncs.com"
    )


def _new_nonce() -> str:
    return uuid.uuid4().hex


class NotifyAliyunSms(_sms.SmsPlugin):
    """Send an alert as an Aliyun templated SMS to one or more phones."""

    service_name = "Aliyun SMS"
    service_url = "https://www.aliyun.com/product/sms"
    secure_protocol = "aliyunsms"
    setup_url = "https://help.aliyun.com/zh/sms/"
    account = ("access_key_id", "access_key_secret", "sign_name", "template_code")
    url_args = ("region", "param", "maxlen", "endpoint")
    max_numbers = MAX_NUMBERS
    default_region = DEFAULT_REGION
    default_maxlen = DEFAULT_MAXLEN
    log_name = "Aliyun SMS"
    templates = (
        "{schema}://{access_key_id}:{access_key_secret}@{sign_name}/{template_code}/{targets}",
    )
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_tokens,
        access_key_id={"name": "AccessKey ID", "type": "string", "private": True,
                       "required": True},
        access_key_secret={"name": "AccessKey Secret", "type": "string", "private": True,
                           "required": True},
        sign_name={"name": "Signature Name", "type": "string", "required": True},
        template_code={"name": "Template Code", "type": "string", "required": True},
        targets={"name": "Target Phones", "type": "list:string", "required": True},
    )  # fmt: skip
    template_args: ClassVar[dict[str, dict[str, Any]]] = _sms.template_args(
        DEFAULT_REGION,
        DEFAULT_MAXLEN,
        param={"name": "Template Variable", "type": "string", "default": DEFAULT_PARAM},
    )

    def __init__(
        self,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        sign_name: str | None = None,
        template_code: str | None = None,
        targets: str | list[str] | None = None,
        region: str | None = None,
        param: str | None = None,
        maxlen: Any = None,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not (access_key_id and access_key_secret and sign_name and template_code):
            raise TypeError("aliyunsms:// needs an AccessKey pair, a sign name and a template")
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.param = param or DEFAULT_PARAM
        self.set_delivery(targets, region, maxlen, endpoint)
        # Injectable for tests: seconds since the epoch, and a fresh nonce per request.
        self.clock: Callable[[], float] = time.time
        self.make_nonce: Callable[[], str] = _new_nonce

    def send_batch(self, phones: list[str], text: str) -> bool:
        base = self.endpoint or f"https://{region_host(self.region)}"
        template_param = _http.compact_json({self.param: text}).decode("utf-8")
        params = {"PhoneNumbers": ",".join(phones), "SignName": self.sign_name,
                  "TemplateCode": self.template_code, "TemplateParam": template_param}  # fmt: skip
        signed = acs3_sign(
            access_key_id=self.access_key_id, access_key_secret=self.access_key_secret,
            host=urlsplit(base).netloc, action=ACTION, version=API_VERSION, params=params,
            date=acs3_date(self.clock()), nonce=self.make_nonce(),
        )  # fmt: skip
        request = _http.Request("POST", f"{base}/?{signed.query}", signed.headers, b"")
        response = _sms.post(self, request)
        if response is None:
            return False
        reply = _http.reply_json(response)
        code = reply.get("Code") if isinstance(reply, dict) else None
        if response.status_code != 200 or code != "OK":
            message = reply.get("Message") if isinstance(reply, dict) else response.text[:200]
            self.logger.warning(
                f"{self.log_name}: sending to {len(phones)} number(s) failed: "
                f"HTTP {response.status_code}, Code {code!r}, {message!r}"
            )
            return False
        self.logger.info(f"{self.log_name}: sent to {len(phones)} number(s)")
        return True
