"""Feishu (飞书) and Lark custom bots as Apprise plugins: ``feishu://`` and ``lark://``,
replacing Apprise's own.

URL (Apprise's forms, plus the optional signing secret)::

    feishu://{token}            lark://{token}
    feishu://{secret}@{token}   lark://{secret}@{token}
        [?token=...][&secret=...][&endpoint=http://127.0.0.1:PORT]

also the bots' own webhooks, ``https://open.feishu.cn/open-apis/bot/v2/hook/{token}`` and
``https://open.larksuite.com/open-apis/bot/v2/hook/{token}``. ``token`` is the last part of the
webhook address; ``secret`` the key of the bot's "signature verification" (签名校验) setting.
``endpoint=`` replaces ``https://open.feishu.cn`` (``https://open.larksuite.com`` for Lark).

Request (Feishu custom bot guide): ``POST /open-apis/bot/v2/hook/{token}`` with a UTF-8 JSON
body. With a secret the body also carries ``timestamp`` (seconds, as a string) and ``sign`` =
base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg="")).

Message: an interactive card (``msg_type: interactive``), card JSON 2.0, whose ``markdown``
component renders everything our renderer writes (headings, bold, lists, quotes; the guide
recommends JSON 2.0): the title is the card's header, coloured by severity, and the body's own
``###`` headline is dropped when it repeats the title. Apprise 2.2.0 sent ``msg_type: text``,
where markdown shows raw. A text-format notification goes out as ``msg_type: text``.

Size: "the request body must not exceed 20 KB"; the content is cut, with a marker, until the
whole JSON body is at most 20,000 bytes.

Success is HTTP 200 *and* ``code`` 0 (or, in the legacy reply, ``StatusCode`` 0): Feishu reports
refusals (keyword missing 19024, bad sign 19021, IP 19022, bad request 9499, ...) in the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from typing import Any, ClassVar

from apprise import NotifyBase, NotifyType

from engine.notify.plugins import _robot, _sms

FEISHU_API = "https://open.feishu.cn"
LARK_API = "https://open.larksuite.com"
PATH = "/open-apis/bot/v2/hook/"
MAX_BODY = 20_000  # bytes of request body ("20 KB"; the smaller reading)
TEMPLATES = {  # card header colour by Apprise notify type
    NotifyType.FAILURE: "red",
    NotifyType.WARNING: "orange",
    NotifyType.SUCCESS: "green",
    NotifyType.INFO: "blue",
}


def sign(secret: str, timestamp_s: str) -> str:
    """Feishu's bot signature: HMAC-SHA256 keyed by ``"{timestamp}\\n{secret}"`` over nothing."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def card(title: str, content: str, notify_type: str) -> dict[str, Any]:
    """A JSON 2.0 card: an optional header, then one markdown component."""
    body = {"elements": [{"tag": "markdown", "content": content}]}
    if not title:
        return {"schema": "2.0", "body": body}
    header = {
        "title": {"tag": "plain_text", "content": title},
        "template": TEMPLATES.get(notify_type, "blue"),
    }
    return {"schema": "2.0", "header": header, "body": body}


def card_content(title: str, body: str) -> str:
    """The card's markdown: `body` without a first line that only repeats the header."""
    repeated, rest = _robot.split_headline(title, body)
    return rest if repeated and rest.strip() else body


def build_request(
    *,
    token: str,
    secret: str | None,
    title: str,
    body: str,
    markdown: bool = True,
    notify_type: str = NotifyType.INFO,
    timestamp_s: str,
    base: str = FEISHU_API,
    limit: int = MAX_BODY,
) -> _robot.Request:
    """The exact request for one message; the text is cut until the whole body is <= `limit`."""
    header = _robot.one_line(title)
    signed = {"timestamp": timestamp_s, "sign": sign(secret, timestamp_s)} if secret else {}

    def message(text: str) -> dict[str, Any]:
        if markdown:
            return {**signed, "msg_type": "interactive", "card": card(header, text, notify_type)}
        return {**signed, "msg_type": "text", "content": {"text": text}}

    text = card_content(title, body) if markdown else _robot.titled(title, body, markdown=False)
    text = _robot.fit(text, limit, lambda candidate: len(_robot.compact_json(message(candidate))))
    return _robot.json_post(f"{base}{PATH}{token}", message(text))


def problem(status: int, reply: Any, text: str) -> str | None:
    """None when Feishu took the message, else what it said."""
    if isinstance(reply, dict) and ("code" in reply or "StatusCode" in reply):
        code = reply.get("code", reply.get("StatusCode"))
        legacy = reply.get("StatusCode", code)
        if status == 200 and code == 0 and legacy == 0:
            return None
        message = reply.get("msg", reply.get("StatusMessage"))
        return f"HTTP {status}, code {code}: {message!r}"
    return _robot.said(status, text)


class NotifyFeishu(_robot.RobotPlugin):
    """Send an alert to a Feishu group through its custom bot."""

    service_name = "Feishu"
    service_url = "https://www.feishu.cn/"
    secure_protocol = "feishu"
    setup_url = "https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot"
    api = FEISHU_API
    body_maxlen = MAX_BODY
    refusal = "the bot refused the message"
    templates = ("{schema}://{token}", "{schema}://{secret}@{token}")
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_tokens,
        token={"name": "Bot Token", "type": "string", "private": True, "required": True,
               "regex": (r"^[a-z0-9_-]+$", "i")},
        secret={"name": "Signing Secret", "type": "string", "private": True},
    )  # fmt: skip
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_args,
        token={"alias_of": "token"},
        secret={"alias_of": "secret"},
        endpoint={"name": "Endpoint Override", "type": "string"},
    )

    def __init__(
        self,
        token: str | None = None,
        secret: str | None = None,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        scheme = self.secure_protocol
        refusal = f"{scheme}:// needs the bot's webhook token (letters, digits, -, _)"
        self.token = _robot.webhook_token(token, refusal)
        self.secret = _robot.signing_secret(scheme, secret)
        self.endpoint = _sms.check_endpoint(endpoint)
        # Injectable for tests: seconds since the epoch.
        self.clock: Callable[[], float] = time.time

    @classmethod
    def _native(cls, url: str) -> dict[str, Any] | None:
        host = re.escape(cls.api.split("://", 1)[1])
        match = re.match(
            rf"^https://{host}/open-apis/bot/v2/hook/(?P<token>[A-Za-z0-9_-]+)/?"
            r"(?:\?(?P<params>.*))?$",
            url,
            re.IGNORECASE,
        )
        if not match:
            return None
        return cls.parse_webhook(match.group("token"), match.group("params"))

    @staticmethod
    def parse_native_url(url: str) -> dict[str, Any] | None:
        """``https://open.feishu.cn/open-apis/bot/v2/hook/{token}`` as Feishu hands it out."""
        return NotifyFeishu._native(url)

    def request(self, title: str, body: str, notify_type: str, markdown: bool) -> _robot.Request:
        return build_request(
            token=self.token,
            secret=self.secret,
            title=title,
            body=body,
            markdown=markdown,
            notify_type=notify_type,
            timestamp_s=str(int(self.clock())),
            base=self.endpoint or self.api,
        )

    problem = staticmethod(problem)


class NotifyLark(NotifyFeishu):
    """The same bot on Lark, Feishu's international edition (open.larksuite.com)."""

    service_name = "Lark"
    service_url = "https://www.larksuite.com/"
    secure_protocol = "lark"
    setup_url = "https://open.larksuite.com/document/client-docs/bot-v3/add-custom-bot"
    api = LARK_API

    @staticmethod
    def parse_native_url(url: str) -> dict[str, Any] | None:
        """``https://open.larksuite.com/open-apis/bot/v2/hook/{token}`` as Lark hands it out."""
        return NotifyLark._native(url)
