"""Sending, shared by every plugin that calls a web API: one request exactly as built, the
compact JSON bodies they carry, and a reply read as JSON.

Only :func:`post` does I/O (it sends, and logs a request that fails); the rest is pure.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import requests


@dataclass(frozen=True)
class Request:
    """One HTTP request, exactly as it goes on the wire."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class Notifier(Protocol):
    """What sending needs of a plugin; Apprise's ``NotifyBase`` provides all of it."""

    @property
    def service_name(self) -> str: ...

    @property
    def logger(self) -> logging.Logger: ...

    @property
    def request_timeout(self) -> tuple[float | None, float | None]: ...

    @property
    def verify_certificate(self) -> bool: ...

    def throttle(self) -> object: ...


def authorization(user: str | None, password: str | None, token: str | None) -> str | None:
    """The ``Authorization`` header for a bearer `token`, else for basic `user`:`password`."""
    if token:
        return f"Bearer {token}"
    if user:
        pair = f"{user}:{password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
    return None


def compact_json(payload: object) -> bytes:
    """UTF-8 JSON without spaces; non-ASCII stays literal (3 bytes for CJK, not 6 or 12)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post(
    notifier: Notifier,
    request: Request,
    failure: Callable[[requests.RequestException], str],
) -> requests.Response | None:
    """Send `request` as built (after the notifier's throttle, with its timeouts and certificate
    check) and never follow a redirect: a signed or tokened request is bound to its host.

    The response, whatever its status; None when the request itself fails, after a warning
    ``{service_name}: {failure(exc)}`` on the notifier's logger.
    """
    notifier.throttle()
    try:
        return requests.request(
            request.method,
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=notifier.request_timeout,
            verify=notifier.verify_certificate,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        notifier.logger.warning(f"{notifier.service_name}: {failure(exc)}")
        return None


def reply_json(response: requests.Response) -> object:
    """The response body as JSON, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None
