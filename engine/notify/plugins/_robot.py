"""Helpers shared by the group-robot plugins (DingTalk, WeCom, Feishu/Lark): the request value
(from :mod:`_http`), fitting text to a byte budget, telling whether a body already starts with its
title, sending.

Everything but :func:`post` and :func:`failed` (which send and log) is pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from engine.notify.plugins import _http
from engine.notify.plugins._http import Notifier
from engine.notify.plugins._http import Request as Request  # the robots' name for it
from engine.notify.plugins._http import compact_json as compact_json  # likewise

JSON_UTF8 = "application/json; charset=utf-8"
CUT = "\n... (cut to fit: {n} more bytes)"  # as the renderer marks its own cuts
TITLE_CHARS = 256  # our cap for a title field: a preview line; no vendor documents a limit
SNIPPET = 200  # characters of a vendor's error text kept in a log line

_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s+|$)")
_TAG = re.compile(r"\[[^\]]*\]\s*")


def json_post(url: str, payload: Any) -> Request:
    return Request("POST", url, {"Content-Type": JSON_UTF8}, compact_json(payload))


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_at(text: str, keep: int) -> str:
    """The first `keep` bytes of `text` (fewer, to end on a whole character) and a marker
    saying how many bytes were left out; `text` itself when it is no longer than `keep`."""
    data = text.encode("utf-8")
    if len(data) <= keep:
        return text
    head = data[: max(0, keep)].decode("utf-8", errors="ignore")
    return head + CUT.format(n=len(data) - utf8_len(head))


def fit(text: str, limit: int, size: Callable[[str], int] = utf8_len) -> str:
    """`text`, cut with a marker if need be, so that ``size(result) <= limit``.

    `size` measures what is really sent: the text itself, or the whole request built around it
    (so JSON escapes, the title and signing fields count too). Keeps as many bytes of `text` as
    fit; never splits a UTF-8 character. ValueError when not even the marker alone fits.
    """
    if size(text) <= limit:
        return text
    lo, hi, best = 0, utf8_len(text) - 1, None
    while lo <= hi:
        keep = (lo + hi) // 2
        candidate = cut_at(text, keep)
        if size(candidate) <= limit:
            best, lo = candidate, keep + 1
        else:
            hi = keep - 1
    if best is None:
        raise ValueError(f"the message cannot be made to fit in {limit} bytes")
    return best


def one_line(text: str, limit: int = TITLE_CHARS) -> str:
    """`text` on one line (whitespace runs collapsed), at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _plain(line: str) -> str:
    """A line as words: no heading marks, no leading icons (emoji, symbols), one-spaced."""
    text = _HEADING.sub("", line.strip())
    start = 0
    while start < len(text) and (
        text[start].isspace() or unicodedata.category(text[start])[0] in "SMC"
    ):
        start += 1
    return " ".join(text[start:].split())


def headline_of(body: str) -> str:
    """The words of `body`'s first line (no heading marks, no leading icon), as one line."""
    return one_line(_plain(body.lstrip("\r\n").partition("\n")[0]))


def split_headline(title: str, body: str) -> tuple[bool, str]:
    """Whether `body`'s first line already says `title`, and `body` without that line.

    The first line repeats the title when, as words (markdown heading marks and leading icons
    dropped), it equals the title or the title minus a leading ``[tag]`` such as our
    ``[project]`` prefix: ``### 🔴 CRITICAL cuda-oom: ...`` repeats
    ``[RL-Swarm node 1] CRITICAL cuda-oom: ...``. The rest loses its leading blank lines.
    """
    text = body.lstrip("\r\n")
    first, _, rest = text.partition("\n")
    head, wanted = _plain(first), _plain(title)
    if not head or not wanted:
        return False, body
    tag = _TAG.match(wanted)
    same = head == wanted or (tag is not None and head == wanted[tag.end() :])
    return (True, rest.lstrip("\r\n")) if same else (False, body)


def titled(title: str, body: str, markdown: bool) -> str:
    """`body` with `title` (on one line, capped) put before it, unless there is no title or the
    body already starts with it: as a ``###`` heading in markdown, a first line in plain text."""
    line = one_line(title)
    if not line or split_headline(title, body)[0]:
        return body
    return f"### {line}\n\n{body}" if markdown else f"{line}\n{body}"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret (and its percent-encoded form) replaced by ``****``; as in
    ``ChannelSet.scrub``, values under 3 characters are left (they would mangle words)."""
    for secret in sorted((s for s in secrets if s and len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, "****").replace(quote(secret, safe=""), "****")
    return text


def where(url: str) -> str:
    """``scheme://host[:port]`` of `url`: what may be logged of an address with a token in it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def post(
    notifier: Notifier, request: Request, secrets: Iterable[str | None]
) -> requests.Response | None:
    """Send `request` as :func:`_http.post` does; the response, or None when the request itself
    fails, logged as ``request to {scheme://host[:port]} failed: {error}``, secrets redacted."""

    def failure(exc: requests.RequestException) -> str:
        detail = redact(f"{type(exc).__name__}: {exc}", secrets)
        return f"request to {where(request.url)} failed: {detail}"

    return _http.post(notifier, request, failure)


def failed(notifier: Notifier, why: str, secrets: Iterable[str | None]) -> bool:
    """Log, as a warning with secrets redacted, why the message was not delivered; False."""
    notifier.logger.warning(f"{notifier.service_name}: {redact(why, secrets)}")
    return False
