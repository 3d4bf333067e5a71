"""`channels add`: build a channel's URL from a service's fields and append it to channels.yaml.

Secret fields are never written into channels.yaml: the URL gets a `${VAR}`
reference, and a value given for it goes to the git-ignored `.env` beside
the file (mode 600). Pure parts (`build_url`, `entry_text`) are separate from
the file writing so they can be tested from strings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from engine.errors import ConfigError, Problem
from engine.notify.envfile import load_env, references

SCHEMA = Path(__file__).resolve().parents[1] / "schema" / "channels.schema.json"
BUILT_IN = (("console", "console://"), ("journal", "jsonl://.rlswarm/alerts.jsonl"))


def modeline(path: Path) -> str:
    """The line that lets an editor validate the channels file at `path`: the `schema/` copy
    beside it (`rlswarm-rules init` makes one), else the package's own schema file."""
    local = path.parent / "schema" / SCHEMA.name
    target = f"schema/{SCHEMA.name}" if local.is_file() else SCHEMA.as_posix()
    return f"# yaml-language-server: $schema={target}\n"


@dataclass(frozen=True)
class Field:
    key: str
    prompt: str
    secret: bool = False
    example: str = ""


@dataclass(frozen=True)
class Service:
    id: str
    label: str
    template: str  # {key} placeholders, filled with values or ${VAR} references
    fields: tuple[Field, ...]
    min_severity: str = "info"
    env_prefix: str = ""


def _mail(id: str, label: str, domain: str) -> Service:
    return Service(
        id, label,
        f"mailtos://{{user}}:{{auth_code}}@{domain}?smtp=smtp.{domain}&from={{user}}@{domain}"
        "&to={to}",
        (Field("user", f"mailbox name before @{domain}", example="node-alerts"),
         Field("auth_code", "SMTP authorization code (not the login password)", secret=True),
         Field("to", "send alerts to (address)", example="me@example.com")),
        "error", "SMTP",
    )  # fmt: skip


SERVICES: tuple[Service, ...] = (
    _mail("email-126", "126.com mail over SMTP", "126.com"),
    _mail("email-qq", "QQ mail over SMTP", "qq.com"),
    Service("email-smtp", "any SMTP server (TLS)",
            "mailtos://{user}:{password}@{host}:{port}?from={sender}&to={to}",
            (Field("user", "SMTP user name"), Field("password", "SMTP password", secret=True),
             Field("host", "SMTP host", example="smtp.example.com"),
             Field("port", "SMTP port", example="587"), Field("sender", "from address"),
             Field("to", "send alerts to (address)")), "error", "SMTP"),
    Service("dingtalk", "DingTalk group robot (signed)", "dingtalk://{secret}@{token}/",
            (Field("token", "robot access_token", secret=True),
             Field("secret", "robot signing secret (SEC...)", secret=True)), "warning",
            "DINGTALK"),
    Service("wecom", "WeCom (WeChat Work) group robot", "wecombot://{key}",
            (Field("key", "robot webhook key", secret=True),), "warning", "WECOM"),
    Service("feishu", "Feishu / Lark bot", "feishu://{token}",
            (Field("token", "bot webhook token", secret=True),), "warning", "FEISHU"),
    Service("telegram", "Telegram bot", "tgram://{bot_token}/{chat_id}",
            (Field("bot_token", "bot token", secret=True), Field("chat_id", "chat id")),
            "warning", "TELEGRAM"),
    Service("ntfy", "ntfy.sh topic", "ntfys://{topic}",
            (Field("topic", "topic name (hard to guess)", secret=True),), "warning", "NTFY"),
    Service("twilio", "Twilio SMS", "twilio://{sid}:{auth_token}@{from_phone}/{to_phone}",
            (Field("sid", "account SID", secret=True),
             Field("auth_token", "auth token", secret=True),
             Field("from_phone", "your Twilio number", example="+15550001111"),
             Field("to_phone", "your phone", example="+15552223333")), "critical", "TWILIO"),
    Service("aliyunsms", "Alibaba Cloud SMS",
            "aliyunsms://{key_id}:{key_secret}@{sign_name}/{template}/{phone}",
            (Field("key_id", "AccessKey ID", secret=True),
             Field("key_secret", "AccessKey secret", secret=True),
             Field("sign_name", "approved signature name"),
             Field("template", "approved template code", example="SMS_123456789"),
             Field("phone", "your phone", example="13800000000")), "critical", "ALIYUN"),
    Service("tencentsms", "Tencent Cloud SMS",
            "tencentsms://{secret_id}:{secret_key}@{app_id}/{sign_name}/{template}/{phone}",
            (Field("secret_id", "SecretId", secret=True),
             Field("secret_key", "SecretKey", secret=True),
             Field("app_id", "SmsSdkAppId", example="1400000000"),
             Field("sign_name", "approved signature name"),
             Field("template", "approved template id", example="1234567"),
             Field("phone", "your phone", example="+8613800000000")), "critical", "TENCENT"),
    Service("alertmanager", "Prometheus Alertmanager (v2 API; routes and groups itself)",
            "alertmanager://{host}",
            (Field("host", "host[:port][/prefix]", example="127.0.0.1:9093"),), "info"),
    Service("webhook", "JSON webhook: your receiver gets each alert record as a JSON object",
            "alertjson://{host}",
            (Field("host", "host[:port]/path", example="127.0.0.1:8080/alerts"),), "info"),
    Service("custom", "any other Apprise URL", "{url}",
            (Field("url", "Apprise URL (use ${VAR} for secrets)"),), "info"),
)  # fmt: skip
BY_ID = {s.id: s for s in SERVICES}


def variable(service: Service, field: Field) -> str:
    return f"{service.env_prefix or service.id.upper()}_{field.key.upper()}"


def build_url(service: Service, values: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The URL with `${VAR}` for secret fields, and the secret values given, by variable."""
    parts: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for field in service.fields:
        if field.secret:
            name = variable(service, field)
            parts[field.key] = f"${{{name}}}"
            if values.get(field.key):
                secrets[name] = values[field.key]
        elif field.key == "url":
            parts[field.key] = values.get(field.key, "")
        else:
            parts[field.key] = quote(values.get(field.key, ""), safe="@+:/.")
    return service.template.format(**parts), secrets


def entry_text(name: str, url: str, min_severity: str) -> str:
    return f"  - name: {name}\n    url: '{url}'\n    min_severity: {min_severity}\n"


@dataclass(frozen=True)
class Added:
    missing: list[str]  # variables the URL needs that are not set yet
    kept: list[str]  # built-in channels written too, so that adding one loses none


def add_channel(path: Path, name: str, url: str, min_severity: str,
                secrets: Mapping[str, str]) -> Added:  # fmt: skip
    """Append the channel (and secrets to .env). A new file starts with the built-in
    terminal and journal channels (what `run` used without it); a file without a terminal
    channel gets one too: adding a channel never takes the terminal's alerts away."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ConfigError([Problem(str(path), 0, f"channel name '{name}' must be lowercase "
                                   "letters, digits, '-' or '_'")])  # fmt: skip
    from engine.notify import channels as channelconf  # YAML and Apprise, only here
    from engine.packs import yamlio

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    entries: list[Mapping[str, object]] = []
    if text:
        existing = yamlio.parse(text, str(path)).data or {}
        entries = [c for c in existing.get("channels") or [] if isinstance(c, dict)]
        if list(existing)[-1:] != ["channels"]:
            raise ConfigError([Problem(str(path), 0, "'channels:' must be the last section to "
                                       "append to; add the entry by hand")])  # fmt: skip
    else:
        text = modeline(path) + "channels:\n"
    names = [str(c.get("name")) for c in entries]
    if name in names:
        raise ConfigError([Problem(str(path), 0, f"a channel named '{name}' exists already")])
    urls = [str(c.get("url", "")) for c in entries] + [url]
    if not entries:  # what `run` used without the file: kept, beside the new channel
        kept = [(n, u) for n, u in BUILT_IN if n != name and u not in urls]
    elif not any(u.startswith("console://") for u in urls):
        kept = [("terminal" if "console" in names else "console", "console://")]
    else:
        kept = []
    dotenv = load_env(path.parent / ".env")
    if secrets and dotenv.unreadable:
        why = f"cannot save the secrets here: {dotenv.unreadable}; make it a file or remove it"
        raise ConfigError([Problem(str(dotenv.path), 0, why)])
    if not text.endswith("\n"):
        text += "\n"
    text += "".join(f"  - name: {n}\n    url: '{u}'\n" for n, u in kept)
    path.write_text(text + entry_text(name, url, min_severity), encoding="utf-8")
    if secrets:
        _save_env(path.parent / ".env", secrets)
    env = channelconf.environment(path)
    return Added([v for v in references(url) if v not in env], [n for n, _ in kept])


def _save_env(path: Path, values: Mapping[str, str]) -> None:
    """Append the values that differ to the `.env` at `path` (its other bytes kept as they
    are), readable by the owner alone."""
    current = load_env(path).values
    data = path.read_bytes() if path.exists() else b""
    lines = [f"{k}={_quoted(v)}" for k, v in values.items() if current.get(k) != v]
    if data and not data.endswith(b"\n"):
        data += b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data + "".join(f"{line}\n" for line in lines).encode("utf-8"))
    os.chmod(path, 0o600)


def _quoted(value: str) -> str:
    return f"'{value}'" if re.search(r"[\s#'\"]", value) and "'" not in value else value


def describe(services: Sequence[Service] = SERVICES) -> list[str]:
    return [f"{s.id:<12} {s.label}" for s in services]
