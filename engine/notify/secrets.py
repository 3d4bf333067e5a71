"""Which parts of a channel's URL are secrets, and masking them in whatever is shown or kept.

A channel's secrets (`url_secrets`) are every value filled in from `${NAME}` (the caller
adds those), every value the URL's Apprise plugin declares private (`"private": True` in
its `template_tokens` or `template_args`: tokens, keys, passwords, also where they sit in
the path), what Apprise's own privacy form hides, and for the generic webhooks (`json://`,
`form://`, `xml://`, `alertjson://`) every header value (`+Name=value`) and every path
segment or query value that looks like a credential (`credential_like`).

`scrub` replaces them in any text (an error, a record) with `****`; `mask_url` also
replaces Apprise's abbreviated forms of them (`1...r`), so a URL shown gives nothing away.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MASK = "****"
MIN_SCRUBBED = 3  # shorter values are masked only as a whole part of a URL, not in any text
WEBHOOKS = frozenset({"json", "jsons", "form", "forms", "xml", "xmls", "alertjson", "alertjsons"})
_PARTS = re.compile(r"[/:@?&=#,;]")
_PART_KEEPING = re.compile(r"([/:@?&=#,;])")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_.~+=-]+")


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret of at least `MIN_SCRUBBED` characters, as it is and
    percent-encoded, replaced by `****` (the longest first)."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SCRUBBED}, key=len, reverse=True):
        text = text.replace(secret, MASK)
        for encoded in {quote(secret, safe=""), quote(secret)}:
            text = text.replace(encoded, MASK)
    return text


def scrub_value(value: Any, secrets: Sequence[str]) -> Any:
    """`value` (JSON-like: mappings, lists, strings) with every string scrubbed; a copy when
    something was replaced."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, Mapping):
        return {k: scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, secrets) for v in value]
    return value


def mask_url(text: str, secrets: Iterable[str]) -> str:
    """`text` (a URL, as Apprise prints it or as written) with every secret masked: found
    anywhere in it, or as a whole part between the URL's delimiters whatever its length,
    or in the abbreviated form Apprise's privacy mode prints (`a...z`, `...wxyz`)."""
    values = [s for s in secrets if s]
    forms = {MASK}
    for s in values:
        forms.update({s, quote(s, safe=""), quote(s), f"{s[:1]}...{s[-1:]}", f"...{s[-4:]}"})
    text = scrub(text, values)
    return "".join(MASK if part in forms else part for part in _PART_KEEPING.split(text))


def credential_like(part: str) -> bool:
    """A part of a webhook's URL that reads as a token: eight or more token characters that
    mix letters and digits, or 24 or more of them."""
    if len(part) < 8 or not _TOKEN_CHARS.fullmatch(part):
        return False
    mixed = any(c.isalpha() for c in part) and any(c.isdigit() for c in part)
    return mixed or len(part) >= 24


def url_secrets(url: str, privacy: str, plugin: Any) -> tuple[str, ...]:
    """The secret parts of the resolved `url`: what `plugin` (the Apprise plugin made from it)
    declares private, what its privacy form `privacy` hides, and a webhook's credentials."""
    scheme = url.split("://", 1)[0].lower()
    found = [*hidden_parts(url, privacy), *private_values(plugin)]
    if scheme in WEBHOOKS:
        found += webhook_values(url)
    return tuple(dict.fromkeys(s for s in found if s))


def hidden_parts(url: str, privacy: str) -> tuple[str, ...]:
    """Parts of `url` that Apprise's privacy form hides (passwords, tokens, keys, SIDs)."""
    shown = unquote(privacy.split("://", 1)[-1])
    parts = _PARTS.split(unquote(url.split("://", 1)[-1]))
    return tuple(dict.fromkeys(p for p in parts if len(p) >= 6 and p not in shown))


def private_values(plugin: Any) -> list[str]:
    """The values of the arguments `plugin`'s class declares private, as its own `parse_url`
    reads them back from the plugin's URL (so a service's native https:// URL counts too)."""
    cls = type(plugin)
    try:
        results = cls.parse_url(plugin.url(privacy=False)) or {}
    except Exception:  # a plugin that cannot read its own URL: nothing more to learn from it
        return []
    qsd = results.get("qsd") or {}
    specs = {**(getattr(cls, "template_tokens", None) or {})}
    specs.update(getattr(cls, "template_args", None) or {})
    found: list[str] = []
    for name, spec in specs.items():
        if not isinstance(spec, Mapping) or not spec.get("private"):
            continue
        keys = {name, *_strings(spec.get("map_to")), *_strings(spec.get("alias_of"))}
        for key in keys:
            for source in (results, qsd):
                found.extend(_strings(source.get(key)))
    return found


def webhook_values(url: str) -> list[str]:
    """A generic webhook's header values, and its path segments and query values that are
    `credential_like`."""
    parts = urlsplit(url)
    found = [unquote(p) for p in parts.path.split("/") if credential_like(unquote(p))]
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.startswith(("+", " ")) or credential_like(value):  # parse_qsl reads + as " "
            found.append(value)
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings(item)
