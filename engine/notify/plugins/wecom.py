"""WeCom (企业微信) group robot as an Apprise plugin: ``wecombot://``, replacing Apprise's own.

URL (the same form as Apprise's WeCom Bot plugin)::

    wecombot://{key}[?key=...][&endpoint=http://127.0.0.1:PORT]

also the robot's own webhook, ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}``.
``key`` is the webhook's ``key``; ``endpoint=`` replaces ``https://qyapi.weixin.qq.com``.

Request (WeCom group-robot documentation): ``POST /cgi-bin/webhook/send?key=...`` with a UTF-8
JSON body. No signing: the key is the credential.

Message: ``msgtype: markdown`` by default, whose content WeCom renders (headings, bold, links,
inline code, quotes; a ``- `` line shows as written). Apprise 2.2.0 sent our markdown as
``msgtype: text``, so ``###`` and ``**`` showed raw. The content is the body, which our renderer
starts with a ``###`` headline; the title goes before it only when the body does not already
start with it. A text-format notification goes out as ``msgtype: text``.
(``markdown_v2`` renders lists and tables too, but is newer and was not chosen as the default.)

Size: the documentation limits ``markdown.content`` to 4,096 bytes (WeCom answers errcode 40058
"markdown.content exceed max length 4096") and ``text.content`` to 2,048 bytes, UTF-8; the
content is cut, with a marker, to fit.

Success is HTTP 200 *and* ``errcode`` 0: WeCom reports refusals (invalid key 93000, too long
40058, too fast 45009, ...) in a 200 reply.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import quote

from apprise import NotifyBase

from engine.notify.plugins import _robot, _sms

API = "https://qyapi.weixin.qq.com"
PATH = "/cgi-bin/webhook/send"
MAX_MARKDOWN = 4_096  # bytes of markdown.content
MAX_TEXT = 2_048  # bytes of text.content
_NATIVE = re.compile(
    r"^https?://qyapi\.weixin\.qq\.com/cgi-bin/webhook/send/?\?key=(?P<key>[A-Za-z0-9_-]+)"
    r"(?:&(?P<params>.*))?$",
    re.IGNORECASE,
)


def build_request(
    *,
    key: str,
    title: str,
    body: str,
    markdown: bool = True,
    base: str = API,
    markdown_limit: int = MAX_MARKDOWN,
    text_limit: int = MAX_TEXT,
) -> _robot.Request:
    """The exact request for one message; the content is cut to the documented byte limit."""
    content = _robot.titled(title, body, markdown)
    content = _robot.fit(content, markdown_limit if markdown else text_limit)
    msgtype = "markdown" if markdown else "text"
    url = f"{base}{PATH}?key={quote(key, safe='')}"
    return _robot.json_post(url, {"msgtype": msgtype, msgtype: {"content": content}})


problem = _robot.errcode_problem  # None when WeCom took the message, else what it said


class NotifyWeComBot(_robot.RobotPlugin):
    """Send an alert to a WeCom group through its group robot."""

    service_name = "WeCom Bot"
    service_url = "https://work.weixin.qq.com/"
    secure_protocol = "wecombot"
    setup_url = "https://developer.work.weixin.qq.com/document/path/91770"
    body_maxlen = MAX_MARKDOWN
    token_arg = "key"
    signed = False
    templates = ("{schema}://{key}",)
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_tokens,
        key={"name": "Bot Webhook Key", "type": "string", "private": True, "required": True,
             "regex": (r"^[a-z0-9_-]+$", "i")},
    )  # fmt: skip
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_args,
        key={"alias_of": "key"},
        endpoint={"name": "Endpoint Override", "type": "string"},
    )

    def __init__(self, key: str | None = None, endpoint: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        refusal = "wecombot:// needs the robot's webhook key (letters, digits, -, _)"
        self.key = _robot.webhook_token(key, refusal)
        self.endpoint = _sms.check_endpoint(endpoint)

    @staticmethod
    def parse_native_url(url: str) -> dict[str, Any] | None:
        """``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...`` as WeCom hands it out."""
        match = _NATIVE.match(url)
        if not match:
            return None
        return NotifyWeComBot.parse_webhook(match.group("key"), match.group("params"))

    def request(self, title: str, body: str, notify_type: str, markdown: bool) -> _robot.Request:
        return build_request(
            key=self.key, title=title, body=body, markdown=markdown, base=self.endpoint or API
        )

    problem = staticmethod(problem)
