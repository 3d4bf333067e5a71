"""Small helpers shared by the SMS plugins: text fitting, phone lists, endpoint overrides,
sending (through :mod:`_http`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import requests

from engine.notify.plugins import _http
from engine.notify.plugins._http import Notifier, Request

_DELIMITERS = re.compile(r"[\s,;/]+")
_PHONE = re.compile(r"\+?\d{5,20}")
_PHONE_NOISE = re.compile(r"[\s().-]+")
_ENDPOINT = re.compile(r"https?://[^/?#\s]+", re.IGNORECASE)


def one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) to one space: a template variable
    is a fragment of a single SMS line."""
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters (code points); `limit` 0 means no cut."""
    return text if limit <= 0 else text[:limit]


def clean_phone(raw: str) -> str | None:
    """`raw` without spaces, dashes, dots or brackets; None unless it is then an optional `+`
    followed by 5 to 20 digits."""
    phone = _PHONE_NOISE.sub("", raw)
    return phone if _PHONE.fullmatch(phone) else None


def split_targets(value: str | Iterable[str] | None) -> list[str]:
    """Phone numbers from a delimited string or a list of strings (either may be mixed)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [part for item in items for part in _DELIMITERS.split(str(item)) if part]


def check_endpoint(value: str | None) -> str | None:
    """`scheme://host[:port]` without a trailing slash, or None; TypeError if malformed."""
    if not value:
        return None
    endpoint = value.rstrip("/")
    if not _ENDPOINT.fullmatch(endpoint):
        raise TypeError(f"endpoint must look like https://host[:port], not {value!r}")
    return endpoint


def parse_limit(value: Any, default: int) -> int:
    """A non-negative character limit from a URL argument; `default` when absent or invalid."""
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except (TypeError, ValueError):
        return default
    return limit if limit >= 0 else default


def batches(items: list[str], size: int) -> Iterator[list[str]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def collect_phones(
    targets: str | Iterable[str] | None, normalize: Callable[[str], str], notifier: Notifier
) -> list[str]:
    """Distinct valid phone numbers from `targets`, each passed through `normalize`; invalid
    entries are dropped with a warning on the notifier's logger."""
    phones: list[str] = []
    for raw in split_targets(targets):
        phone = clean_phone(raw)
        if phone is None:
            notifier.logger.warning(f"{notifier.service_name}: dropped invalid phone {raw!r}")
        elif normalize(phone) not in phones:
            phones.append(normalize(phone))
    return phones


def post(notifier: Notifier, request: Request) -> requests.Response | None:
    """Send `request` as :func:`_http.post` does; the response, or None when the request itself
    fails, logged as ``request to {url without its query} failed: {error}``."""
    where = request.url.split("?", 1)[0]
    return _http.post(notifier, request, lambda exc: f"request to {where} failed: {exc}")
