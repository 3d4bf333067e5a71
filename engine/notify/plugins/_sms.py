"""What the SMS plugins share: text fitting, phone lists, endpoint overrides, sending, and
:class:`SmsPlugin`, their common Apprise side. The robot plugins use the phone-list and endpoint
helpers too.

Everything but :func:`post` and :meth:`SmsPlugin.send` (which send and log) and
:func:`collect_phones` (which logs) is pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import requests
from apprise import NotifyBase, NotifyType

from engine.notify.plugins import _http, _urls
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


def template_args(region: str, maxlen: int, **own: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Apprise's description of an SMS plugin's URL query arguments, in this order: ``to=``
    (more phones), ``region=`` defaulting to `region`, the plugin's `own`, ``maxlen=`` defaulting
    to `maxlen`, and ``endpoint=``."""
    return dict(
        NotifyBase.template_args,
        to={"alias_of": "targets"},
        region={"name": "Region", "type": "string", "default": region},
        **own,
        maxlen={"name": "Variable Length Limit", "type": "int", "min": 0, "default": maxlen},
        endpoint={"name": "Endpoint Override", "type": "string"},
    )


def post(notifier: Notifier, request: Request) -> requests.Response | None:
    """Send `request` as :func:`_http.post` does; the response, or None when the request itself
    fails, logged as ``request to {url without its query} failed: {error}``."""
    where = request.url.split("?", 1)[0]
    return _http.post(notifier, request, lambda exc: f"request to {where} failed: {exc}")


class SmsPlugin(NotifyBase):  # type: ignore[misc]
    """The Apprise side the SMS plugins share: the alert (Apprise joins title and body) as the
    one variable of an approved template, on one line and cut to ``maxlen`` characters, sent to
    every phone, at most :attr:`max_numbers` a request.

    URL: ``{schema}://{user}:{password}@{host}/{path}/.../{phone}/...?{query}``, its parts before
    the phones being the constructor arguments named in :attr:`account` and its query those named
    in :attr:`url_args`. A subclass checks its own arguments, then calls :meth:`set_delivery`;
    it sends one batch with :meth:`send_batch`.
    """

    title_maxlen = 0
    request_rate_per_sec = 0

    account: ClassVar[tuple[str, ...]]
    """Arguments in the URL before the phones, in order: the URL's user and password (the
    credential pair, masked in a privacy URL), its host, then path items."""
    url_args: ClassVar[tuple[str, ...]]
    """Arguments in the URL's query, in order; the phones may come as ``to=`` too."""
    max_numbers: ClassVar[int]
    default_region: ClassVar[str]
    default_maxlen: ClassVar[int]
    log_name: ClassVar[str]
    """How the plugin's own log lines name it."""

    region: str
    maxlen: int
    endpoint: str | None
    targets: list[str]

    def set_delivery(
        self,
        targets: str | Iterable[str] | None,
        region: str | None,
        maxlen: Any,
        endpoint: str | None,
        normalize: Callable[[str], str] = str,
    ) -> None:
        """Set region, maxlen, endpoint and the phones (:func:`collect_phones` with `normalize`),
        in that order and with the class defaults; TypeError on a malformed endpoint, or when no
        valid phone remains."""
        self.region = region or self.default_region
        self.maxlen = parse_limit(maxlen, self.default_maxlen)
        self.endpoint = check_endpoint(endpoint)
        self.targets = collect_phones(targets, normalize, self)
        if not self.targets:
            raise TypeError(f"{self.secure_protocol}:// needs at least one valid phone number")

    @property
    def url_identifier(self) -> tuple[str, ...]:
        return (self.secure_protocol, *(str(getattr(self, name)) for name in self.account))

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        query = _urls.url_query(self, self.url_args, privacy, *args, **kwargs)
        user, password, *place = (str(getattr(self, name)) for name in self.account)
        credentials = f"{_urls.masked(user, privacy)}:{_urls.masked(password, privacy)}"
        path = "/".join(self.quote(part, safe="") for part in place)
        phones = "/".join(self.quote(phone, safe="+") for phone in self.targets)
        return f"{self.secure_protocol}://{credentials}@{path}/{phones}?{query}"

    def __len__(self) -> int:
        return max(1, -(-len(self.targets) // self.max_numbers))

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any] | None:
        """`url` as :func:`_urls.parse_url` reads it, with the :attr:`url_args` and each of the
        :attr:`account` (empty when the URL lacks it); the phones are the path items after the
        account, then those of ``to=``."""
        results = _urls.parse_url(url, *cls.url_args)
        if not results:
            return results
        unquote = NotifyBase.unquote
        parts = [unquote(results.get(name) or "") for name in ("user", "password", "host")]
        parts += NotifyBase.split_path(results["fullpath"])
        count = len(cls.account)
        head = parts[:count] + [""] * (count - len(parts))  # a missing part is empty
        results.update(zip(cls.account, head, strict=True))
        results["targets"] = parts[count:] + split_targets(results["qsd"].get("to"))
        return results

    def send(
        self, body: str, title: str = "", notify_type: str = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        try:
            text = clip(one_line(body), self.maxlen)
            chunks = batches(self.targets, self.max_numbers)
            return all([self.send_batch(chunk, text) for chunk in chunks])
        except Exception as exc:  # a notifier must report failure, never raise
            self.logger.warning(f"{self.log_name}: unexpected failure: {exc!r}")
            return False

    def send_batch(self, phones: list[str], text: str) -> bool:
        """Send `text` to `phones` (at most :attr:`max_numbers`) in one request: True when the
        vendor took it, else False with a warning saying why."""
        raise NotImplementedError
