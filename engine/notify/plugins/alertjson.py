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
from apprise import NotifyBase, NotifyFormat, NotifyType
from apprise.url import PrivacyMode

from engine.notify.plugins import _robot, _urls
from engine.notify.plugins._http import authorization


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


class NotifyAlertJson(NotifyBase):  # type: ignore[misc]
    """POST each alert record, as JSON, to a web address."""

    service_name = "Alert record webhook"
    service_url = "https://www.json.org/"
    protocol = "alertjson"
    secure_protocol = "alertjsons"
    setup_url = "docs/channels.md"
    notify_format = NotifyFormat.TEXT
    title_maxlen = 250  # > 0: Apprise hands the title over instead of gluing it to the record
    body_maxlen = 1 << 24  # the body is the record: never cut it
    request_rate_per_sec = 0
    templates = (
        "{schema}://{host}",
        "{schema}://{host}:{port}",
        "{schema}://{host}/{path}",
        "{schema}://{host}:{port}/{path}",
        "{schema}://{user}:{password}@{host}",
        "{schema}://{user}:{password}@{host}:{port}",
        "{schema}://{user}:{password}@{host}:{port}/{path}",
    )
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_tokens,
        host={"name": "Hostname", "type": "string", "required": True},
        port={"name": "Port", "type": "int", "min": 1, "max": 65535},
        path={"name": "Path", "type": "string"},
        user={"name": "Username", "type": "string"},
        password={"name": "Password", "type": "string", "private": True},
    )
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        NotifyBase.template_args,
        token={"name": "Bearer Token", "type": "string", "private": True},
    )
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

    @property
    def url_identifier(self) -> tuple[Any, ...]:
        schema = self.secure_protocol if self.secure else self.protocol
        return (schema, self.user, self.password, self.token, self.host, self.port, self.fullpath)

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        params: dict[str, Any] = {f"+{k}": v for k, v in self.headers.items()}
        if self.token:
            params["token"] = self.pprint(self.token, privacy, mode=PrivacyMode.Secret, safe="")
        params.update(self.url_parameters(*args, privacy=privacy, **kwargs))
        auth = ""
        if self.user:
            secret = self.pprint(self.password, privacy, mode=PrivacyMode.Secret, safe="")
            auth = f"{self.quote(self.user, safe='')}:{secret}@"
        port = f":{self.port}" if self.port else ""
        schema = self.secure_protocol if self.secure else self.protocol
        path = self.quote(self.fullpath or "/", safe="/")
        return f"{schema}://{auth}{self.host}{port}{path}?{self.urlencode(params)}"

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
            auth = authorization(self.user, self.password, self.token)
            if auth:
                request.headers["Authorization"] = auth
            return request

        def check(response: requests.Response) -> str | None:
            return problem(response.status_code, response.text)

        refusal = "the webhook refused the alert"
        return bool(_robot.exchange(self, build, check, refusal, (self.token, self.password)))
