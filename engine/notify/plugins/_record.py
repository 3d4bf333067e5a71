"""What the plugins that post the alert record over HTTP share (``alertjson://`` and
``alertmanager://``): the URL ``{schema}://[{user}:{password}@]{host}[:{port}][/{path}]``
with an optional bearer ``token=``, its privacy form, and the Authorization header.

A subclass gives its path (:meth:`route`) and any query arguments of its own (:meth:`args`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from apprise import NotifyBase, NotifyFormat
from apprise.url import PrivacyMode

from engine.notify.plugins._http import authorization


class RecordPlugin(NotifyBase):  # type: ignore[misc]
    """The Apprise side of a plugin whose body is the alert record (the ``json`` style)."""

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

    token: str | None

    def route(self) -> str:
        """The URL's path as this plugin keeps it."""
        raise NotImplementedError

    def args(self, privacy: bool) -> dict[str, Any]:
        """The query arguments of this plugin's own, as its URL shows them."""
        return {}

    def authorization(self) -> str | None:
        """The Authorization header: basic auth from the user, else the bearer token."""
        return authorization(self.user, self.password, self.token)

    @property
    def url_identifier(self) -> tuple[Any, ...]:
        schema = self.secure_protocol if self.secure else self.protocol
        return (schema, self.user, self.password, self.token, self.host, self.port, self.route())

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        params: dict[str, Any] = {}
        if self.token:
            params["token"] = self.pprint(self.token, privacy, mode=PrivacyMode.Secret, safe="")
        params.update(self.args(privacy))
        params.update(self.url_parameters(*args, privacy=privacy, **kwargs))
        auth = ""
        if self.user:
            secret = self.pprint(self.password, privacy, mode=PrivacyMode.Secret, safe="")
            auth = f"{self.quote(self.user, safe='')}:{secret}@"
        port = f":{self.port}" if self.port else ""
        query = f"?{self.urlencode(params)}" if params else ""
        schema = self.secure_protocol if self.secure else self.protocol
        path = self.quote(self.route() or "/", safe="/")
        return f"{schema}://{auth}{self.host}{port}{path}{query}"
