"""`channels.yaml`: named Apprise URLs with routing, validated and resolved.

`parse(doc, env)` checks the document against the schema, fills `${NAME}`
references (values are percent-encoded, so any character is safe in a URL; a
reference that is the whole URL is the URL itself, as written in the variable),
and asks Apprise whether it understands each URL. Every problem is located
as `channels.yaml:line: channel 'name': ...`; secrets never appear in one.

A channel that cannot be built (a variable not set, a URL Apprise refuses) makes
the whole file an error for `lint` and `--strict-channels`; `run`, `watch` and
`channels list|test` load it leniently (`lenient=True`): that channel is left out
and listed in `ChannelSet.broken` with its problems, and the others work.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import apprise

from engine.durations import parse_duration
from engine.errors import ConfigError, Problem, did_you_mean
from engine.model import Severity
from engine.notify import builtin as builtin_channels
from engine.notify import secrets as secret_parts
from engine.notify.apprise_log import ERRORS
from engine.notify.envfile import EnvFile, load_env, references, substitute
from engine.notify.words import DEFAULT_LANGUAGE
from engine.packs import schemacheck, yamlio
from engine.packs.yamlio import Located

DEFAULT_FILE = Path("channels.yaml")
WHOLE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_MAX_AGE = 24 * 3600.0
DEFAULT_RETRY = 5.0
_RATE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}

# Message style and sending rate by Apprise scheme, where the service has its own rules.
STYLES: Mapping[str, str] = {
    "mailto": "html",
    "mailtos": "html",
    "jsonl": "json",
    "json": "json",
    "dingtalk": "markdown",
    "wecombot": "markdown",
    "feishu": "markdown",
    "lark": "markdown",
    "twilio": "sms",
    "aliyunsms": "sms",
    "tencentsms": "sms",
    "sns": "sms",
    "vonage": "sms",
    "nexmo": "sms",
    "clicksend": "sms",
    "console": "text",
    "alertmanager": "json",  # the plugin turns the alert record itself into Alertmanager alerts
    "alertmanagers": "json",
    "alertjson": "json",  # the alert record itself is posted
    "alertjsons": "json",
}
RATES: Mapping[str, float] = {  # messages per second
    "dingtalk": 20 / 60,
    "wecombot": 20 / 60,
    "feishu": 100 / 60,
    "lark": 100 / 60,
    "mailto": 10 / 60,
    "mailtos": 10 / 60,
    "twilio": 1 / 60,
    "aliyunsms": 1 / 60,
    "tencentsms": 1 / 60,
    "sns": 1 / 60,
    "vonage": 1 / 60,
    "nexmo": 1 / 60,
    "clicksend": 1 / 60,
    "tgram": 20 / 60,  # Telegram: 20 messages a minute to a group
    "discord": 30 / 60,  # Discord: 30 a minute per webhook
    **dict.fromkeys(  # webhooks and Alertmanager: one request per message, ours to keep sane
        ("json", "jsons", "form", "forms", "xml", "xmls", "alertjson", "alertjsons",
         "alertmanager", "alertmanagers", "slack"),
        60 / 60,
    ),
}  # fmt: skip
DEFAULT_RATE = 30 / 60  # any other service that goes over the network
UNLIMITED = frozenset({"console", "jsonl"})  # local: no rate unless the channel sets one


@dataclass(frozen=True)
class Channel:
    name: str
    url: str  # resolved: holds secrets, never printed
    written: str  # as written in the file, with ${NAME} references
    privacy: str  # Apprise's privacy form with every secret masked: safe to print
    scheme: str
    min_severity: Severity = Severity.INFO
    fallback: str | None = None
    max_age: float = DEFAULT_MAX_AGE
    rate: float | None = None  # messages per second
    retry: float = DEFAULT_RETRY  # first retry delay; doubles up to RETRY_MAX
    style: str = "text"
    enabled: bool = True
    line: int = 0
    secrets: tuple[str, ...] = ()  # from ${NAME}, and the URL's secret parts: never shown
    language: str = DEFAULT_LANGUAGE
    emoji: bool = True


@dataclass(frozen=True)
class Broken:
    """A channel of the file that could not be built, and why (located problems)."""

    name: str
    problems: tuple[Problem, ...]

    @property
    def why(self) -> str:
        return "; ".join(p.message.removeprefix(f"channel '{self.name}': ") for p in self.problems)


@dataclass
class ChannelSet:
    project: str
    channels: list[Channel] = field(default_factory=list)
    path: str = str(DEFAULT_FILE)
    warnings: list[Problem] = field(default_factory=list)  # what to say, though it loaded
    broken: list[Broken] = field(default_factory=list)  # left out (a lenient load only)

    @property
    def broken_names(self) -> list[str]:
        return [b.name for b in self.broken]

    def get(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def secrets(self) -> list[str]:
        return sorted({s for c in self.channels for s in c.secrets})

    def scrub(self, text: str) -> str:
        """`text` with every secret value replaced by `****`."""
        return secret_parts.scrub(text, self.secrets)

    def scrub_value(self, value: Any) -> Any:
        """`value` (a record: mappings, lists, strings) with every string scrubbed (itself
        when no secret is long enough to be looked for in text)."""
        secrets = self.secrets
        if not any(len(s) >= secret_parts.MIN_SCRUBBED for s in secrets):
            return value
        return secret_parts.scrub_value(value, secrets)


DEFAULT_JOURNAL = Path(".rlswarm") / "alerts.jsonl"
BUILTIN_PATH = "built-in defaults (no channels.yaml)"


def default_channels(project: str = "", journal: Path = DEFAULT_JOURNAL) -> ChannelSet:
    """What `run` uses without a channels.yaml: the terminal and the JSONL journal."""
    return ChannelSet(
        project or socket.gethostname(),
        [_builtin("console", "console://"), _builtin("journal", f"jsonl://{journal}")],
        path=BUILTIN_PATH,
    )


def _builtin(name: str, url: str) -> Channel:
    scheme = url.split("://", 1)[0]
    return Channel(name, url, url, url, scheme, style=STYLES.get(scheme, "text"))


def _rate(text: str | None, scheme: str) -> float | None:
    """Messages per second: `text` (`20/m`; `0/m` is None, no limit), else the scheme's own
    default; None (no limit) for the local `console://` and `jsonl://` only."""
    if text is None:
        return None if scheme in UNLIMITED else RATES.get(scheme, DEFAULT_RATE)
    count, unit = text.split("/")
    return int(count) / _RATE_UNITS[unit] if int(count) > 0 else None


def _privacy(url: str) -> tuple[str | None, tuple[str, ...], str]:
    """Apprise's privacy form of `url` as a person reads it (see `shown_url`) and the URL's
    secret parts (see `engine.notify.secrets`); or None, (), and Apprise's reason for
    refusing it."""
    builtin_channels.register()
    ERRORS.clear()
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return None, (), ERRORS.last()
    privacy = str(plugin.url(privacy=True))
    return shown_url(privacy, url), secret_parts.url_secrets(url, privacy, plugin), ""


def shown_url(privacy: str, written: str) -> str:
    """`privacy` with only the query arguments that `written` sets itself, decoded for
    reading. Apprise prints every argument with its value, its own defaults
    (`?overflow=upstream&retry=0...`) and the plugin's (`?image=False&detect=no...`): noise
    to a reader who wrote none of them."""
    base, _, query = privacy.partition("?")
    # as written: a '+' that starts a header's name (`?+Authorization=`) is not a space
    given = {unquote(a.partition("=")[0]).lower() for a in written.partition("?")[2].split("&")}
    kept = [f"{k}={v}" for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() in given]
    return base + ("?" + "&".join(kept) if kept else "")


def _channel(
    doc: Located,
    i: int,
    raw: Mapping[str, object],
    env: Mapping[str, str],
    defaults: Mapping[str, object],
    dotenv: EnvFile | None = None,
) -> Channel:
    where = ("channels", i)
    name = str(raw["name"])
    written = str(raw["url"])
    whole = WHOLE_REFERENCE.fullmatch(written.strip())
    if whole and whole.group(1) in env:  # `url: ${HOOK_URL}`: the variable holds the URL
        url, missing = env[whole.group(1)].strip(), list[str]()
    else:
        url, missing = substitute(written, {k: quote(v, safe="") for k, v in env.items()})
    line = doc.line_of((*where, "url"))

    def problem(message: str, key: str = "url") -> ConfigError:
        at = doc.line_of((*where, key))
        return ConfigError([Problem(doc.path, at, f"channel '{name}': {message}", code="channel")])

    if missing:
        names = ", ".join(f"${{{m}}}" for m in dict.fromkeys(missing))
        why = next((w for m in missing if dotenv and (w := dotenv.why_not_set(m))), "")
        fix = "set it in the environment or in .env beside this file"
        raise problem(f"{names} not set: {why}; {fix}" if why else f"{names} not set; {fix}")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    secrets = tuple(env[m] for m in dict.fromkeys(references(written)) if m in env)
    privacy, parts, why = _privacy(url)
    if privacy is None and scheme in apprise_schemes():
        reason = secret_parts.mask_url(why, (*secrets, *_guessed(url)))
        reason = reason or "a value has the wrong form"
        raise problem(f"Apprise refused this {scheme}:// URL: {reason}")
    if privacy is None:
        hint = did_you_mean(scheme, apprise_schemes()) if scheme else ""
        raise problem(
            f"Apprise does not understand this URL (scheme '{scheme}'){hint}; "
            "see the Apprise wiki for the service's URL format"
        )
    secrets = tuple(dict.fromkeys((*secrets, *parts)))
    return Channel(
        name=name,
        url=url,
        written=written,
        privacy=secret_parts.mask_url(privacy, secrets),
        scheme=scheme,
        min_severity=Severity.parse(str(raw.get("min_severity", "info"))),
        fallback=str(raw["fallback"]) if raw.get("fallback") else None,
        max_age=parse_duration(raw.get("max_age", "24h")),
        retry=parse_duration(raw.get("retry", "5s")) or DEFAULT_RETRY,
        rate=_rate(str(raw["rate"]) if raw.get("rate") else None, scheme),
        style=str(raw.get("format") or STYLES.get(scheme, "text")),
        enabled=bool(raw.get("enabled", True)),
        line=line,
        secrets=secrets,
        language=str(raw.get("language", defaults.get("language", DEFAULT_LANGUAGE))),
        emoji=bool(raw.get("emoji", defaults.get("emoji", True))),
    )


def shown_written(written: str, secrets: Sequence[str]) -> str:
    """A URL as written in channels.yaml (`${NAME}` references kept), safe to print: the
    `secrets` masked, and where they are not known (the URL does not resolve yet) every
    part that is not a reference and looks like a credential."""
    return secret_parts.mask_url(written, secrets or _guessed(written))


def _guessed(url: str) -> list[str]:
    """The parts of `url` that look like credentials (`${NAME}` references are not)."""
    parts = re.split(r"[/:@?&=#,;]", url.split("://", 1)[-1])
    return [p for p in parts if "${" not in p and secret_parts.credential_like(p)]


@cache
def apprise_schemes() -> tuple[str, ...]:
    """Every URL scheme Apprise knows, ours included."""
    builtin_channels.register()
    found: set[str] = set()
    for service in apprise.Apprise().details().get("schemas", []):
        for key in ("protocols", "secure_protocols"):
            found.update(str(s) for s in service.get(key) or ())
    return tuple(sorted(found))


def parse(
    doc: Located, env: Mapping[str, str], dotenv: EnvFile | None = None, lenient: bool = False
) -> ChannelSet:
    """Validate and resolve a parsed channels file; ConfigError lists every problem. `dotenv`
    (the `.env` the values partly came from) explains a variable that is not set. With
    `lenient`, a channel that cannot be built is left out and listed in `broken` instead
    (what is wrong with the file as a whole is still an error)."""
    found = schemacheck.validate(doc, "channels")
    problems = [p for _, p in found]
    if problems or not isinstance(doc.data, dict):
        raise ConfigError(problems or [Problem(doc.path, 1, "expected a mapping with 'channels:'")])
    result = ChannelSet(str(doc.data.get("project") or socket.gethostname()), path=doc.path)
    for i, raw in enumerate(doc.data.get("channels") or []):
        if any(c.name == raw["name"] for c in result.channels):
            line = doc.line_of(("channels", i, "name"))
            problems.append(Problem(doc.path, line, f"channel '{raw['name']}' is defined twice"))
            continue
        try:
            result.channels.append(_channel(doc, i, raw, env, doc.data, dotenv))
        except ConfigError as exc:
            if lenient:
                result.broken.append(Broken(str(raw["name"]), tuple(exc.problems)))
            else:
                problems.extend(exc.problems)
    problems.extend(_check_fallbacks(doc, result))
    if problems:
        raise ConfigError(problems)
    return result


def _check_fallbacks(doc: Located, channels: ChannelSet) -> list[Problem]:
    problems = []
    written = _written_names(doc)  # a channel that did not resolve is still a channel
    for channel in channels.channels:
        if channel.fallback and channel.fallback not in written:
            hint = did_you_mean(channel.fallback, written)
            msg = f"channel '{channel.name}': fallback '{channel.fallback}' is not a channel{hint}"
            problems.append(Problem(doc.path, channel.line, msg, code="channel"))
        elif channel.fallback == channel.name:
            msg = f"channel '{channel.name}': a channel cannot be its own fallback"
            problems.append(Problem(doc.path, channel.line, msg, code="channel"))
    for cycle in fallback_cycles(channels):
        first = channels.get(cycle[0])
        assert first is not None
        shown = " -> ".join([*cycle, cycle[0]])
        msg = (
            f"channel '{first.name}': fallback cycle {shown}: an alert none of them can deliver "
            "would be handed round forever; end the chain at a channel without a fallback"
        )
        problems.append(Problem(doc.path, _fallback_line(doc, first), msg, code="channel"))
    return problems


def fallback_cycles(channels: ChannelSet) -> list[list[str]]:
    """Each cycle of two or more channels through `fallback`, once, from the channel of it
    that the file lists first."""
    order = {c.name: i for i, c in enumerate(channels.channels)}
    nxt = {
        c.name: c.fallback
        for c in channels.channels
        if c.fallback in order and c.fallback != c.name
    }
    cycles: list[list[str]] = []
    seen: set[str] = set()
    for start in nxt:
        path = [start]
        while (step := nxt.get(path[-1])) is not None and step not in path:
            path.append(step)
        if step is None or step in seen:
            continue
        cycle = path[path.index(step) :]
        seen.update(cycle)
        first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        cycles.append(cycle[first:] + cycle[:first])
    return cycles


def _written_names(doc: Located) -> list[str]:
    entries = doc.data.get("channels") if isinstance(doc.data, dict) else None
    return [str(e["name"]) for e in entries or [] if isinstance(e, dict) and "name" in e]


def _fallback_line(doc: Located, channel: Channel) -> int:
    entries = doc.data.get("channels") if isinstance(doc.data, dict) else None
    for i, raw in enumerate(entries or []):
        if isinstance(raw, dict) and raw.get("name") == channel.name:
            return doc.line_of(("channels", i, "fallback")) or channel.line
    return channel.line


def environment(path: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The `.env` beside `path`, overridden by the process environment."""
    return {**load_env(path.parent / ".env").values, **(os.environ if base is None else base)}


def load(
    path: Path | None = DEFAULT_FILE,
    project: str = "",
    lenient: bool = False,
    journal: Path = DEFAULT_JOURNAL,
) -> ChannelSet:
    """The channels in `path`, or the built-in terminal + journal (written to `journal`)
    when it is None or does not exist; `lenient`: see `parse`.

    What is wrong with the `.env` beside it (a line that is not UTF-8, a directory, a mode
    that lets others read it) is in the result's `warnings`, or with the errors of a
    ConfigError."""
    if path is None or not path.exists():
        return default_channels(project, journal)
    dotenv = load_env(path.parent / ".env")
    env = {**dotenv.values, **os.environ}
    try:
        channels = parse(yamlio.read(path), env, dotenv, lenient)
    except ConfigError as exc:
        raise ConfigError([*exc.problems, *dotenv.problems]) from None
    channels.warnings.extend(dotenv.problems)
    if project:
        channels.project = project
    return channels
