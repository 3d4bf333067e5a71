"""Prometheus Alertmanager as an Apprise plugin: ``alertmanager://`` (HTTP), ``alertmanagers://``
(HTTPS), posting alerts to Alertmanager's v2 API so many nodes meet in one place.

URL::

    alertmanager://{host}[:{port}][/{path-prefix}][?expire=1h&hold=24h]
    alertmanagers://[{user}:{password}@]{host}[:{port}][/{path-prefix}][?token={bearer}]

The port defaults to 9093 for ``alertmanager://`` and 443 for ``alertmanagers://``; the path
prefix is Alertmanager's ``--web.route-prefix`` (or a proxy's). ``user:password@`` sends HTTP
basic auth, ``token=`` a bearer token, for an Alertmanager behind an authenticating proxy.

Request: ``POST {prefix}/api/v2/alerts`` with a JSON list of alerts. The channel is rendered in
the ``json`` style (see ``engine.notify.channels.STYLES``), so the body handed to :meth:`send` is
the alert record itself (``{"digest": [...]}`` for a burst); each record becomes one alert:

- labels ``alertname`` and ``rule`` (the rule id), ``severity``, ``node`` (the host),
  ``project``, every label of the rule (``category``, ``pack``, ...), and ``group`` when the rule
  groups its alerts: the labels are the alert's identity in Alertmanager;
- annotations ``summary``, ``description`` (the plain-text message) and ``advice``;
- ``startsAt``; and ``endsAt``, which says how long the alert stays active without news:
  a firing stateful rule (``metric``, ``absent``) holds for ``hold`` (default 24h, renewed by
  each reminder) and ends with its resolution; a one-off alert (``log``, ``event``) expires
  after ``expire`` (default 1h). A resolution ends the alert at its own time, or 2 s before
  Alertmanager's now if that is earlier (a node clock ahead of Alertmanager's would otherwise
  leave the alert firing: Alertmanager keeps the later endsAt of an alert not yet ended by
  its own clock); Alertmanager's clock is read from the ``Date`` header of its replies.

A body that is not an alert record (another ``format:``) is posted as one alert named
``rlswarm-message``. Refusals (HTTP status and Alertmanager's message) and connection errors
are logged as warnings, secrets redacted, and the send is ``False``: delivery retries it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import requests
from apprise import NotifyType

from engine.durations import exact_duration, parse_duration
from engine.errors import DurationError
from engine.notify.plugins import _robot, _urls
from engine.notify.plugins._alerts import EXPIRE, HOLD, alert_of, message_alert, records_of
from engine.notify.plugins._record import RecordPlugin

API_PATH = "/api/v2/alerts"
PORTS = {False: 9093, True: 443}


def build_request(base: str, alerts: Sequence[Any], auth: str | None = None) -> _robot.Request:
    """``POST {base}/api/v2/alerts`` with the alerts; `auth` is the Authorization header."""
    request = _robot.json_post(f"{base.rstrip('/')}{API_PATH}", list(alerts))
    if auth:
        request.headers["Authorization"] = auth
    return request


def problem(status: int, text: str) -> str | None:
    """None when Alertmanager took the alerts (2xx), else its status and message."""
    if 200 <= status < 300:
        return None
    try:
        reply = json.loads(text)
    except ValueError:
        reply = text
    message = reply.get("message", reply) if isinstance(reply, dict) else reply
    return _robot.said(status, str(message))


def skew(date: str | None, local: float, previous: float) -> float:
    """Alertmanager's clock minus ours from its reply's ``Date`` header (whole seconds, so
    its now is at least that); `previous` when the header is missing or unreadable."""
    try:
        return parsedate_to_datetime(date or "").timestamp() - local
    except (TypeError, ValueError):
        return previous


def _duration(value: Any, default: float, name: str) -> float:
    if value is None or value == "":
        return default
    try:
        seconds = parse_duration(str(value))
    except DurationError as exc:
        raise TypeError(f"alertmanager:// {name}= {exc}") from None
    if seconds <= 0:
        raise TypeError(f"alertmanager:// {name}= must be longer than 0s")
    return seconds


class NotifyAlertmanager(RecordPlugin):
    """Post alerts to a Prometheus Alertmanager."""

    service_name = "Alertmanager"
    service_url = "https://prometheus.io/docs/alerting/latest/alertmanager/"
    protocol = "alertmanager"
    secure_protocol = "alertmanagers"
    setup_url = "docs/channels.md"
    template_tokens: ClassVar[dict[str, dict[str, Any]]] = dict(
        RecordPlugin.template_tokens, path={"name": "Path Prefix", "type": "string"}
    )
    template_args: ClassVar[dict[str, dict[str, Any]]] = dict(
        RecordPlugin.template_args,
        expire={"name": "One-off alerts stay active for", "type": "string", "default": "1h"},
        hold={"name": "Stateful alerts stay active for", "type": "string", "default": "24h"},
    )

    def __init__(
        self,
        token: str | None = None,
        expire: str | None = None,
        hold: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not self.host:
            raise TypeError("alertmanager:// needs a host, e.g. alertmanager://127.0.0.1:9093")
        self.token = token or None
        self.expire = _duration(expire, EXPIRE, "expire")
        self.hold = _duration(hold, HOLD, "hold")
        self.prefix = "/" + self.fullpath.strip("/") if self.fullpath.strip("/") else ""
        self.clock: Callable[[], float] = time.time  # injectable for tests
        self.skew = 0.0  # Alertmanager's clock minus ours, from its last reply's Date header

    @property
    def base(self) -> str:
        port = self.port or PORTS[bool(self.secure)]
        return f"{'https' if self.secure else 'http'}://{self.host}:{port}{self.prefix}"

    def route(self) -> str:
        return str(self.prefix)

    def args(self, privacy: bool) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.expire != EXPIRE:
            params["expire"] = exact_duration(self.expire)
        if self.hold != HOLD:
            params["hold"] = exact_duration(self.hold)
        return params

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        return _urls.parse_url(url, "token", "expire", "hold")

    def alerts(self, title: str, body: str, notify_type: str) -> list[Any]:
        """The alerts for one message: one per alert record in `body`, else the message as one."""
        now = self.clock() + self.skew
        records = records_of(body)
        if records is None:
            return [message_alert(title, body, notify_type, now, self.expire)]
        return [alert_of(r, self.expire, self.hold, now) for r in records]

    def send(
        self,
        body: str,
        title: str = "",
        notify_type: str = NotifyType.INFO,
        **kwargs: Any,
    ) -> bool:
        posted: list[Any] = []  # the alerts of the request, once built

        def build() -> _robot.Request:
            posted.extend(self.alerts(title, body, notify_type))
            return build_request(self.base, posted, self.authorization())

        def check(response: requests.Response) -> str | None:
            self.skew = skew(response.headers.get("Date"), self.clock(), self.skew)
            return problem(response.status_code, response.text)

        refusal = "Alertmanager refused the alerts"
        if not _robot.exchange(self, build, check, refusal, (self.token, self.password)):
            return False
        self.logger.info(f"Alertmanager: {len(posted)} alert(s) posted")
        return True
