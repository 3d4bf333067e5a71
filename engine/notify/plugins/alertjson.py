"""A webhook that receives the alert record itself, as a JSON object: ``alertjson://`` (HTTP),
``alertjsons://`` (HTTPS).

Apprise's ``json://`` wraps every message in its own envelope, the message as a string inside
it: a receiver of an alert would have to parse twice. This one posts what the outbox keeps
(``engine.notify.record.AlertRecord``), so a script, a Node-RED flow or a log pipeline reads the
fields directly.

URL::

    alertjson://[{user}:{password}@]{host}[:{port}][/{path}][?token={bearer}][&+{Header}={value}]
    alertjsons://...

Request: ``POST {path}`` with ``Content-Type: application/json`` and the record as the body
(``{"digest": [record, ...]}`` for a burst merged to keep the channel's rate); ``user:password@``
sends HTTP basic auth, ``token=`` a bearer token, ``+Name=value`` adds a header. The channel is
rendered in the ``json`` style (``engine.notify.channels.STYLES``). A body that is not JSON
(another ``format:``) is posted as ``{"title": ..., "message": ..., "type": ...}``. Any 2xx
reply is success; anything else, and a connection error, is a warning and a failed send (the
outbox retries it).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import requests
from apprise import NotifyType

from engine.notify.plugins import _robot, _urls
from engine.notify.plugins._record import RecordPlugin


def payload(title: str, body: str, notify_type: str) -> Any:
    """What is posted: `body` itself when it is a JSON object (a record or a digest)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    return {"title": title, "message": body, "type": notify_type}


def problem(status: int, text: str) -> str | None:
    return None if 200 <= status < 300 else _robot.said(status, text)


class NotifyAlertJson(RecordPlugin):
    """POST each alert record, as JSON, to a web address."""

    service_name = "Alert record webhook"
    service_url = "https://www.json.org/"
    protocol = "alertjson"
    secure_protocol = "alertjsons"
    setup_url = "docs/channels.md"
    template_kwargs: ClassVar[dict[str, dict[str, Any]]] = {
        "headers": {"name": "HTTP Header", "prefix": "+"},
    }

    def __init__(
        self, token: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not self.host:
            raise TypeError("alertjson:// needs a host, e.g. alertjson://127.0.0.1:8080/alerts")
        self.token = token or None
        self.headers = dict(headers or {})

    @property
    def address(self) -> str:
        port = f":{self.port}" if self.port else ""
        path = self.fullpath or "/"
        return f"{'https' if self.secure else 'http'}://{self.host}{port}{path}"

    def route(self) -> str:
        return str(self.fullpath or "")

    def args(self, privacy: bool) -> dict[str, Any]:
        return {f"+{k}": v for k, v in self.headers.items()}

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        results = _urls.parse_url(url, "token")
        if results:
            results["headers"] = dict(results.get("qsd+") or {})
        return results

    def send(
        self, body: str, title: str = "", notify_type: str = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        def build() -> _robot.Request:
            request = _robot.json_post(self.address, payload(title, body, str(notify_type)))
            request.headers.update(self.headers)
            auth = self.authorization()
            if auth:
                request.headers["Authorization"] = auth
            return request

        def check(response: requests.Response) -> str | None:
            return problem(response.status_code, response.text)

        refusal = "the webhook refused the alert"
        return bool(_robot.exchange(self, build, check, refusal, (self.token, self.password)))
