"""DingTalk custom group robot as an Apprise plugin: ``dingtalk://``, replacing Apprise's own.

URL (the same forms as Apprise's DingTalk plugin)::

    dingtalk://{token}/[{phone}/...]
    dingtalk://{secret}@{token}/[{phone}/...]
        [?to={phone},...][&token=...][&secret=...][&endpoint=http://127.0.0.1:PORT]

also the robot's own webhook, ``https://oapi.dingtalk.com/robot/send?access_token={token}``.
``token`` is the webhook's ``access_token``; ``secret`` the ``SEC...`` key of the robot's
"sign" (加签) security setting; phones are members to @-mention. ``endpoint=`` replaces
``https://oapi.dingtalk.com`` (the tests aim it at a loopback server).

Request (DingTalk custom robot documentation): ``POST /robot/send?access_token=...`` with a
UTF-8 JSON body. With a secret, ``&timestamp={ms}&sign={sign}`` follow, where ``sign`` is
base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")) URL-encoded exactly once
(Apprise 2.2.0 encodes it twice, and DingTalk answers 310000).

Message: markdown (``msgtype: markdown``) by default: ``title`` is DingTalk's required preview
line (shown in the chat list and the notification, not in the message), ``text`` the body,
which our renderer starts with a ``###`` headline; the title is put before the body only when
the body does not already start with it. A text-format notification goes out as ``msgtype:
text``. Mentioned phones go in ``at.atMobiles`` and, as DingTalk asks, as ``@phone`` in the text.

Size: DingTalk refuses a request body over 20,000 bytes (errcode 460101, "message too long,
exceed 20000 bytes"), so the text is cut, with a marker, until the whole JSON body fits.

Success is HTTP 200 *and* ``errcode`` 0: DingTalk reports refusals (bad sign 310000, keyword
missing, too fast 410100, ...) in a 200 reply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from apprise import NotifyBase

from engine.notify.plugins import _robot, _sms

API = "https://oapi.dingtalk.com"
PATH = "/robot/send"
MAX_BODY = 20_000  # bytes of request body DingTalk accepts
_NATIVE = re.compile(r"^https://oapi\.dingtalk\.com/robot/send/?\?(?P<query>.+)$", re.IGNORECASE)


def sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's robot signature, base64, *before* URL-encoding."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def robot_url(base: str, token: str, secret: str | None, timestamp_ms: str) -> str:
    """The webhook URL: ``access_token``, then (with a secret) ``timestamp`` and ``sign``, each
    value URL-encoded once (``+`` ``/`` ``=`` of the base64 become ``%2B`` ``%2F`` ``%3D``)."""
    params = [("access_token", token)]
    if secret:
        params += [("timestamp", timestamp_ms), ("sign", sign(secret, timestamp_ms))]
    return f"{base}{PATH}?{urlencode(params)}"


def payload(title: str, text: str, markdown: bool, mobiles: Sequence[str]) -> dict[str, Any]:
    message: dict[str, Any] = (
        {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        if markdown
        else {"msgtype": "text", "text": {"content": text}}
    )
    if mobiles:
        message["at"] = {"atMobiles": list(mobiles), "isAtAll": False}
    return message


def build_request(
    *,
    token: str,
    secret: str | None,
    title: str,
    body: str,
    markdown: bool = True,
    mobiles: Sequence[str] = (),
    timestamp_ms: str,
    base: str = API,
    limit: int = MAX_BODY,
) -> _robot.Request:
    """The exact request for one message; the text is cut until the whole body is <= `limit`."""
    text = _robot.titled(title, body, markdown)
    preview = _robot.one_line(title) or _robot.headline_of(body) or "alert"
    mentions = ("\n\n" + " ".join(f"@{m}" for m in mobiles)) if mobiles else ""
    url = robot_url(base, token, secret, timestamp_ms)

    def encoded(candidate: str) -> bytes:
        return _robot.compact_json(payload(preview, candidate + mentions, markdown, mobiles))

    text = _robot.fit(text, limit, lambda candidate: len(encoded(candidate)))
    return _robot.Request("POST", url, {"Content-Type": _robot.JSON_UTF8}, encoded(text))


problem = _robot.errcode_problem  # None when DingTalk took the message, else what it said


class NotifyDingTalk(_robot.RobotPlugin):
    """Send an alert to a DingTalk group through its custom robot."""

    service_name = "DingTalk"
    service_url = "https://www.dingtalk.com/"
    secure_protocol = "dingtalk"
    setup_url = "https://open.dingtalk.com/document/orgapp/custom-robot-access"
    body_maxlen = MAX_BODY
    templates = (
        "{schema}://{token}/",
        "{schema}://{token}/{targets}/",
        "{schema}://{secret}@{token}/",
        "{schema}://{secret}@{token}/{targets}/",
    )
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_tokens,
        token={"name": "Token", "type": "string", "private": True, "required": True,
               "regex": (r"^[a-z0-9_-]+$", "i")},
        secret={"name": "Secret", "type": "string", "private": True},
        target_phone_no={"name": "Target Phone No", "type": "string", "map_to": "targets"},
        targets={"name": "Targets", "type": "list:string"},
    )  # fmt: skip
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_args,
        to={"alias_of": "targets"},
        token={"alias_of": "token"},
        secret={"alias_of": "secret"},
        endpoint={"name": "Endpoint Override", "type": "string"},
    )

    def __init__(
        self,
        token: str | None = None,
        secret: str | None = None,
        targets: str | list[str] | None = None,
        endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        refusal = "dingtalk:// needs the robot's access token (letters and digits)"
        self.token = _robot.webhook_token(token, refusal)
        self.secret = _robot.signing_secret("dingtalk", secret)
        self.endpoint = _sms.check_endpoint(endpoint)
        self.targets = [p.lstrip("+") for p in _sms.collect_phones(targets, str, self)]
        # Injectable for tests: seconds since the epoch.
        self.clock: Callable[[], float] = time.time

    def url_path(self) -> str:
        return "".join(f"{self.quote(phone, safe='')}/" for phone in self.targets)

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any] | None:
        results = super().parse_url(url)
        if results:
            results["targets"] = NotifyBase.split_path(results["fullpath"]) + _sms.split_targets(
                results["qsd"].get("to")
            )
        return results

    @staticmethod
    def parse_native_url(url: str) -> dict[str, Any] | None:
        """``https://oapi.dingtalk.com/robot/send?access_token=...`` as DingTalk hands it out."""
        match = _NATIVE.match(url)
        if not match:
            return None
        query = dict(parse_qsl(match.group("query"), keep_blank_values=True))
        token = query.pop("access_token", "")
        if not token:
            return None
        return NotifyDingTalk.parse_webhook(token, urlencode(query))

    def request(self, title: str, body: str, notify_type: str, markdown: bool) -> _robot.Request:
        return build_request(
            token=self.token,
            secret=self.secret,
            title=title,
            body=body,
            markdown=markdown,
            mobiles=self.targets,
            timestamp_ms=str(round(self.clock() * 1000)),
            base=self.endpoint or API,
        )

    problem = staticmethod(problem)
