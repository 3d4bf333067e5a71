"""A guard for plugin tests: requests may only go to 127.0.0.1 (the test's own vendor server)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import requests


def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse any request not aimed at 127.0.0.1, even one whose failure a plugin would
    swallow into a False; returns the list of refused URLs for the test to check at the end."""
    real_send = requests.Session.send
    strays: list[str] = []

    def send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
        if urlsplit(request.url).hostname != "127.0.0.1":
            strays.append(request.url)
            raise requests.ConnectionError(f"test refused non-loopback request {request.url}")
        return real_send(session, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return strays
