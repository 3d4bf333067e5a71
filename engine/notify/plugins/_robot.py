"""What the group-robot plugins (DingTalk, WeCom, Feishu/Lark) share: the request value, fitting
text to a byte budget, telling whether a body already starts with its title, checking credentials
and replies, sending, and :class:`RobotPlugin`, their common Apprise side.

Alertmanager's and the alert-record webhook's plugins share the sending (:func:`exchange`);
their Apprise side is `_record.RecordPlugin`. Everything but
:func:`post`, :func:`failed`, :func:`exchange` and :meth:`RobotPlugin.send` (which send and log)
is pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests
from apprise import NotifyBase, NotifyFormat, NotifyType

from engine.notify.plugins import _http, _urls
from engine.notify.plugins._http import Notifier
from engine.notify.plugins._http import Request as Request  # the robots' name for it
from engine.notify.plugins._http import compact_json as compact_json  # likewise

JSON_UTF8 = "application/json; charset=utf-8"
CUT = "\n... (cut to fit: {n} more bytes)"  # as the renderer marks its own cuts
TITLE_CHARS = 256  # our cap for a title field: a preview line; no vendor documents a limit
SNIPPET = 200  # characters of a vendor's error text kept in a log line

_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s+|$)")
_TAG = re.compile(r"\[[^\]]*\]\s*")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_SECRET = re.compile(r"\S+")


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


def said(status: int, text: str) -> str:
    """``HTTP {status}: '{text}'``, the text on one line and cut to :data:`SNIPPET` characters:
    what a log line shows of a reply that does not say why in the vendor's own terms."""
    return f"HTTP {status}: {' '.join(text.split())[:SNIPPET]!r}"


def errcode_problem(status: int, reply: Any, text: str) -> str | None:
    """None when a robot that answers ``{"errcode": ..., "errmsg": ...}`` (DingTalk, WeCom) took
    the message: HTTP 200 *and* errcode 0 (refusals come in a 200 reply); else what it said."""
    if isinstance(reply, dict) and status == 200 and reply.get("errcode") == 0:
        return None
    if isinstance(reply, dict) and "errcode" in reply:
        return f"HTTP {status}, errcode {reply.get('errcode')}: {reply.get('errmsg')!r}"
    return said(status, text)


def exchange(
    notifier: Notifier,
    build: Callable[[], Request],
    check: Callable[[requests.Response], str | None],
    refusal: str,
    secrets: Sequence[str | None],
) -> bool:
    """Build one request, :func:`post` it, and `check` the response (None: the vendor took it,
    else what it said). Never raises.

    True when the vendor took it. Otherwise False, after one warning on the notifier's logger,
    secrets redacted: the failed request (see :func:`post`), ``{refusal}: {what it said}``, or
    ``unexpected {error}`` for an exception while building, sending or checking.
    """
    try:
        response = post(notifier, build(), secrets)
        if response is None:
            return False
        why = check(response)
        if why is not None:
            return failed(notifier, f"{refusal}: {why}", secrets)
    except Exception as exc:  # a notifier must report failure, never raise
        return failed(notifier, f"unexpected {type(exc).__name__}: {exc}", secrets)
    return True


def webhook_token(value: str | None, refusal: str) -> str:
    """`value` when it is a webhook token or key (letters, digits, ``-``, ``_``); else
    TypeError(`refusal`)."""
    if not value or not _TOKEN.fullmatch(value):
        raise TypeError(refusal)
    return value


def signing_secret(scheme: str, value: str | None) -> str | None:
    """A robot's signing secret: `value`, or None when it is empty; TypeError when it contains
    white space."""
    if value and not _SECRET.fullmatch(value):
        raise TypeError(f"{scheme}:// secret must not contain spaces")
    return value or None


class RobotPlugin(NotifyBase):  # type: ignore[misc]
    """The Apprise side the group robots share: markdown by default and text when asked, the
    title handed over (never glued to the body), one request per message (:meth:`send`), and
    the URL ``{schema}://[{secret}@]{token}/[{path}]?[endpoint={endpoint}&]{Apprise's own}``.

    The webhook's token is the constructor argument named :attr:`token_arg` (the URL's host, or
    that argument in its query); a robot that is :attr:`signed` also takes a signing ``secret``
    (the URL's user, or ``secret=``); the token and secret are masked in a privacy URL.
    ``endpoint`` replaces the vendor's base URL. A subclass sets these attributes in its
    constructor and supplies :meth:`request` and :meth:`problem` (and :meth:`url_path` when its
    URL carries more).
    """

    notify_format = (NotifyFormat.MARKDOWN, NotifyFormat.TEXT)
    title_maxlen = TITLE_CHARS  # > 0: Apprise hands the title over instead of gluing it
    request_rate_per_sec = 0
    token_arg: ClassVar[str] = "token"
    signed: ClassVar[bool] = True
    refusal: ClassVar[str] = "the robot refused the message"  # a warning's words for a refusal

    secret: str | None
    endpoint: str | None

    def request(self, title: str, body: str, notify_type: str, markdown: bool) -> Request:
        """The exact request for one message (`markdown` False: a text message)."""
        raise NotImplementedError

    @staticmethod
    def problem(status: int, reply: Any, text: str) -> str | None:
        """None when the robot took the message, else what it said; `reply` is the body as JSON
        (None when it is not JSON), `text` the body as it came."""
        raise NotImplementedError

    @property
    def credential(self) -> str:
        """The webhook's token (or key): the attribute named :attr:`token_arg`."""
        return str(getattr(self, self.token_arg))

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """What no log line may show: the token, and the secret of a robot that signs."""
        return (self.credential, self.secret) if self.signed else (self.credential,)

    @property
    def url_identifier(self) -> tuple[str | None, ...]:
        credentials = (self.secret, self.credential) if self.signed else (self.credential,)
        return (self.secure_protocol, *credentials)

    def url_path(self) -> str:
        """What the URL carries after the token: empty, or items each ending in ``/``."""
        return ""

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        query = _urls.url_query(self, ("endpoint",), privacy, *args, **kwargs)
        secret = self.secret if self.signed else None
        signed = f"{_urls.masked(secret, privacy)}@" if secret else ""
        token = _urls.masked(self.credential, privacy)
        return f"{self.secure_protocol}://{signed}{token}/{self.url_path()}?{query}"

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any] | None:
        """`url` as :func:`_urls.parse_url` reads it, with ``endpoint=`` and the credentials."""
        results = _urls.parse_url(url, "endpoint")
        if not results:
            return results
        qsd, unquote = results["qsd"], NotifyBase.unquote
        results[cls.token_arg] = unquote(qsd.get(cls.token_arg) or results.get("host") or "")
        if cls.signed:
            results["secret"] = qsd.get("secret") or unquote(results.get("user") or "")
        return results

    @classmethod
    def parse_webhook(cls, token: str, query: str | None) -> dict[str, Any] | None:
        """What :meth:`parse_url` makes of ``{schema}://{token}/[?{query}]``: the robot's own
        webhook address, once a subclass has taken `token` and the rest of the query out of it."""
        rest = f"?{query}" if query else ""
        results: dict[str, Any] | None = cls.parse_url(f"{cls.secure_protocol}://{token}/{rest}")
        return results

    def send(
        self,
        body: str,
        title: str = "",
        notify_type: str = NotifyType.INFO,
        body_format: str | None = None,
        **kwargs: Any,
    ) -> bool:
        """One message as one request, through :func:`exchange` (markdown unless `body_format`
        is text); True, logged as ``{service_name}: message sent``, when the robot took it."""
        markdown = body_format != NotifyFormat.TEXT
        if not exchange(
            self,
            lambda: self.request(title, body, notify_type, markdown),
            lambda response: self.problem(
                response.status_code, _http.reply_json(response), response.text
            ),
            self.refusal,
            self.secrets,
        ):
            return False
        self.logger.info(f"{self.service_name}: message sent")
        return True
