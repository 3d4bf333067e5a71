"""Apprise URL plumbing shared by the plugins: reading named arguments out of a URL's query, and
writing a plugin's own arguments back into the query of the URL it prints.

Pure: no I/O, no state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apprise import NotifyBase
from apprise.url import PrivacyMode


def parse_url(url: str, *lifted: str) -> dict[str, Any] | None:
    """`url` as Apprise reads it, the host not required to be a host name (our plugins carry
    credentials there), with each argument named in `lifted` that has a non-empty value in the
    query copied to the top level, from where Apprise passes it to the plugin's constructor.

    Apprise's own falsy result (None, or empty) when it cannot read `url`.
    """
    results: dict[str, Any] | None = NotifyBase.parse_url(url, verify_host=False)
    if not results:
        return results
    qsd = results["qsd"]
    for name in lifted:
        if qsd.get(name):
            results[name] = qsd[name]
    return results


def masked(secret: str, privacy: bool) -> str:
    """`secret` as a part of a plugin's URL: URL-encoded (nothing kept literal), or ``****`` in a
    privacy URL."""
    return str(NotifyBase.pprint(secret, privacy, mode=PrivacyMode.Secret, safe=""))


def url_query(
    plugin: NotifyBase, names: Iterable[str], privacy: bool, *args: Any, **kwargs: Any
) -> str:
    """The query of `plugin`'s URL, URL-encoded: each of its attributes in `names` that is not
    None, in that order and as text, then Apprise's own arguments (``url_parameters``)."""
    params = {name: str(value) for name in names if (value := getattr(plugin, name)) is not None}
    params.update(plugin.url_parameters(*args, privacy=privacy, **kwargs))
    return str(plugin.urlencode(params))
