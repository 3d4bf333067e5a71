"""Alert records to messages, one style per kind of channel. Pure: records in, text out.

Every style lays out the same parts (`engine.notify.shown`) in the same order: the
headline, the cause, what to do, the facts, the last lines of output, the links.

- `console`: the terminal; the headline, the cause and the advice (the output is on the
  screen already, so no last lines).
- `text`: plain text: `key: value` facts, the last lines indented.
- `html`: an email: inline styles only (webmail drops `<style>`), the facts as one-cell
  rows so that the plain-text part a mail plugin derives from it reads `key: value`.
- `markdown`: a chat robot (DingTalk, WeCom, Feishu): within the service's size, the last
  lines are cut from the top, then the facts from the bottom; never the headline or the
  advice.
- `sms`: one line: 160 characters, or 70 when it needs more than plain ASCII (one SMS).
- `json`: the record itself, an object (for `jsonl://`, `alertjson://`, Alertmanager).

A burst of alerts becomes one digest message (`render_digest`), worst first.
"""

from __future__ import annotations

import html
import json
import textwrap
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from engine.notify.record import AlertRecord
from engine.notify.shown import Shown, hour_minute, shown
from engine.notify.words import HEADING_ICONS, words

Alert = AlertRecord

LIMITS: Mapping[str, int] = {  # bytes of body per message, below what each robot accepts
    "dingtalk": 19_000,
    "wecombot": 4_000,
    "feishu": 19_000,
    "lark": 19_000,
}
SMS_CHARS = 160  # one SMS in the GSM alphabet (plain ASCII is within it)
SMS_WIDE_CHARS = 70  # one SMS in UCS-2, as any Chinese text is sent
CUT = "\n... (cut to fit: {n} more bytes)"
TEXT_WIDTH = 76
CONSOLE_WIDTH = 96
MARKDOWN_LINES = 12  # last lines quoted in a chat message at most
MARKDOWN_LINE_CHARS = 300
_SEVERITY_RANK = {"critical": 3, "error": 2, "warning": 1, "info": 0, "resolved": -1}
COLOURS = {
    "critical": "#b00020",
    "error": "#d9480f",
    "warning": "#9a6700",
    "info": "#1c6dd0",
    "resolved": "#1a7f37",
}
TINTS = {
    "critical": "#fdecee",
    "error": "#fff1e6",
    "warning": "#fff8e1",
    "info": "#eaf2fd",
    "resolved": "#e9f7ee",
}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    format: str  # text | markdown | html
    notify_type: str  # info | success | warning | failure (Apprise's NotifyType values)


def notify_type(alert: Alert) -> str:
    return shown(alert).notify_type


def headline(alert: Alert, language: str = "en") -> str:
    """`CRITICAL cuda-oom: summary (and 3 more since 14:02)`; a resolved one says how long
    it lasted and what ended it."""
    return shown(alert, language).headline


def _paragraphs(text: str, width: int, indent: str = "") -> list[str]:
    """`text`'s paragraphs wrapped to `width` (lines of their own, such as commands, kept)."""
    out: list[str] = []
    for paragraph in text.split("\n\n"):
        if out:
            out.append("")
        for line in paragraph.split("\n"):
            out.extend(
                textwrap.wrap(
                    line,
                    width,
                    initial_indent=indent,
                    subsequent_indent=indent,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
                or [indent]
            )
    return out


def _heading(s: Shown, name: str) -> str:
    icon = HEADING_ICONS.get(name, "") if s.icon else ""
    text = s.words.headings[name]
    return f"{icon} {text}" if icon else text


def _colon(s: Shown) -> str:
    return "：" if s.words.tag == "zh-CN" else ": "


# --- one style each ------------------------------------------------------------------------------


def _console(s: Shown, project: str) -> Message:
    """The headline as the body's first line (Apprise sends no empty body), the cause and
    the advice under it; no last lines: they are on the screen above."""
    lines = [s.headline]
    if s.cause and s.level != "resolved":
        lines.append(f"  {s.words.headings['cause']}{_colon(s)}{s.cause}")
    lines += [f"  {name}{_colon(s)}{value}" for name, value in s.incident]
    lines += _paragraphs(s.advice, CONSOLE_WIDTH, "  ") if s.advice else []
    return Message("", "\n".join(lines), "text", s.notify_type)


def _text(s: Shown, project: str) -> Message:
    colon = _colon(s)
    parts = [s.headline]
    if s.cause:
        parts += ["", f"{_heading(s, 'cause')}{colon}{s.cause}"]
    if s.advice:
        parts += ["", _heading(s, "advice") + colon.rstrip(), *_paragraphs(s.advice, TEXT_WIDTH)]
    parts += ["", _heading(s, "facts") + colon.rstrip(), *(f"  {k}: {v}" for k, v in s.facts)]
    if s.lines:
        parts += ["", _heading(s, "lines") + colon.rstrip(), *(f"    {line}" for line in s.lines)]
    parts += ["", *(f"{what}: {url}" for what, url in s.links)]
    parts.append(f"{s.words.headings['alert_id']}: {s.key}")
    return Message(s.subject(project), "\n".join(parts), "text", s.notify_type)


def _markdown_parts(s: Shown, lines: Sequence[str], facts: int) -> list[str]:
    colon = _colon(s)
    parts = [f"### {s.headline}", ""]
    if s.cause:
        parts += [f"**{_heading(s, 'cause')}**{colon}{s.cause}", ""]
    if s.advice:
        first, *rest = s.advice.split("\n\n")
        parts += [f"**{_heading(s, 'advice')}**{colon}{first}", ""]
        for paragraph in rest:
            parts += [paragraph, ""]
    if facts:
        parts += [f"- **{k}**{colon}{v}" for k, v in s.facts[:facts]] + [""]
    if lines:
        parts += [f"**{_heading(s, 'lines')}**", *(f"> {line}" for line in lines), ""]
    parts += [f"[{what}]({url})" for what, url in s.links]
    return parts


def _markdown(s: Shown, project: str, limit: int | None = None) -> Message:
    """A chat message; over `limit`, the last lines go first (from the top), then facts."""
    lines = [line[:MARKDOWN_LINE_CHARS] for line in s.lines[-MARKDOWN_LINES:]]
    cut = len(s.lines) - len(lines)
    facts = len(s.facts)
    while True:
        shown_lines = ([s.words.phrase("cut_lines", n=cut)] if cut else []) + list(lines)
        body = "\n".join(_markdown_parts(s, shown_lines, facts)).rstrip()
        if limit is None or len(body.encode("utf-8")) <= limit or not (lines or facts):
            break
        if lines:
            lines, cut = lines[1:], cut + 1
        else:
            facts -= 1
    return fit(Message(s.subject(project), body, "markdown", s.notify_type), limit)


def _html(s: Shown, project: str) -> Message:
    """An email body. The sections are apart by a newline and nothing inside one is: a mail
    plugin that derives the plain-text part from the HTML (Apprise does) then gives one
    line per fact and a blank line between sections."""
    e = html.escape
    colour, tint = COLOURS.get(s.level, "#444"), TINTS.get(s.level, "#f6f8fa")
    heading = 'style="margin:16px 0 4px;font-size:15px;color:#1f2328"'
    sections = [
        "<div style=\"font-family:-apple-system,'Segoe UI',Helvetica,Arial,'PingFang SC',"
        "'Microsoft YaHei',sans-serif;font-size:14px;line-height:1.5;color:#1f2328;"
        'max-width:720px">'
        f'<div style="border-left:6px solid {colour};background:{tint};padding:10px 14px">'
        f'<div style="font-size:17px;font-weight:bold;color:{colour}">{e(s.headline)}</div>'
        "</div>"
    ]
    if s.cause:
        sections.append(
            f'<p style="margin:12px 0 0"><b>{e(_heading(s, "cause"))}{e(_colon(s))}</b>'
            f"{e(s.cause)}</p>"
        )
    if s.advice:
        paragraphs = [
            '<p style="margin:4px 0 8px">' + "<br>".join(map(e, p.split("\n"))) + "</p>"
            for p in s.advice.split("\n\n")
        ]
        sections.append(f"<h3 {heading}>{e(_heading(s, 'advice'))}</h3>" + "\n".join(paragraphs))
    rows = "".join(
        '<tr><td style="padding:1px 0;vertical-align:top">'
        '<span style="display:inline-block;min-width:130px;padding-right:8px;color:#57606a">'
        f"{e(k)}: </span>{e(v)}</td></tr>"
        for k, v in s.facts
    )
    sections.append(
        f"<h3 {heading}>{e(_heading(s, 'facts'))}</h3>"
        f'<table role="presentation" style="border-collapse:collapse;font-size:13px">{rows}</table>'
    )
    if s.lines:
        sections.append(
            f"<h3 {heading}>{e(_heading(s, 'lines'))}</h3>"
            '<pre style="margin:4px 0;padding:8px 10px;background:#f6f8fa;border:1px solid '
            "#d0d7de;font-family:Menlo,Consolas,'Courier New',monospace;font-size:12px;"
            'line-height:1.4;white-space:pre-wrap;word-break:break-all">'
            + e("\n".join(s.lines))
            + "</pre>"
        )
    sections += [
        f'<p style="margin:12px 0 0">{e(what)}: <a href="{e(url)}">{e(url)}</a></p>'
        for what, url in s.links
    ]
    sections.append(
        f'<p style="margin:16px 0 0;color:#8c959f;font-size:12px">'
        f"{e(s.words.headings['alert_id'])}: {e(s.key)}</p></div>"
    )
    return Message(s.subject(project), "\n".join(sections), "html", s.notify_type)


def sms_text(text: str) -> str:
    """At most one SMS: 160 characters of plain ASCII, else 70 (the message goes as UCS-2);
    the cut ends with an ellipsis of the same alphabet."""
    if text.isascii():
        return text if len(text) <= SMS_CHARS else text[: SMS_CHARS - 3] + "..."
    return text if len(text) <= SMS_WIDE_CHARS else text[: SMS_WIDE_CHARS - 1] + "…"


def _sms(s: Shown, project: str) -> Message:
    return Message("", sms_text(s.subject(project)), "text", s.notify_type)


Style = Callable[[Shown, str], Message]
STYLES: Mapping[str, Style] = {
    "console": _console,
    "text": _text,
    "markdown": _markdown,
    "html": _html,
    "sms": _sms,
}
ALL_STYLES = (*STYLES, "json")


def fit(message: Message, limit: int | None) -> Message:
    """Cut the body to `limit` bytes (UTF-8), ending with a marker saying how much was cut."""
    data = message.body.encode("utf-8")
    if limit is None or len(data) <= limit:
        return message
    marker_room = len(CUT.format(n=len(data)).encode("utf-8"))
    keep = max(0, limit - marker_room)
    head = data[:keep].decode("utf-8", errors="ignore")
    cut = len(data) - len(head.encode("utf-8"))
    return Message(message.title, head + CUT.format(n=cut), message.format, message.notify_type)


def render(
    alert: Alert,
    style: str,
    project: str,
    limit: int | None = None,
    language: str = "en",
    emoji: bool = False,
) -> Message:
    """`alert` as a message of `style`, in `language`, within `limit` bytes of body."""
    if style == "json":
        s = shown(alert, language, emoji, brief=True)
        body = json.dumps(dict(alert), ensure_ascii=False)
        return Message(s.headline, body, "text", s.notify_type)
    s = shown(alert, language, emoji and style not in ("console", "sms"))
    if style == "markdown":
        return _markdown(s, project, limit)
    return fit(STYLES[style](s, project), limit)


def render_digest(
    alerts: Sequence[Alert],
    style: str,
    project: str,
    limit: int | None = None,
    language: str = "en",
    emoji: bool = False,
) -> Message:
    """Several alerts as one message (a burst merged so a rate limit is kept), worst first,
    so that a cut to the service's size drops the least severe ones."""
    if len(alerts) == 1:
        return render(alerts[0], style, project, limit, language, emoji)
    views = [shown(a, language) for a in alerts]
    worst = max(views, key=lambda v: _SEVERITY_RANK.get(v.level, 0)).notify_type
    if style == "json":
        body = json.dumps({"digest": [dict(a) for a in alerts]}, ensure_ascii=False)
        return Message(f"{len(alerts)} alerts", body, "text", worst)
    w = words(language)
    counts = Counter(v.level for v in views)
    ranked = sorted(counts.items(), key=lambda item: -_SEVERITY_RANK.get(item[0], -2))
    summary = ", ".join(f"{n} {w.level(level).lower()}" for level, n in ranked)
    title = f"[{project}] " + w.phrase("digest_title", n=len(alerts), counts=summary)
    order = sorted(
        zip(views, alerts, strict=True),
        key=lambda pair: (-_SEVERITY_RANK.get(pair[0].level, 0), float(pair[1].get("t") or 0)),
    )
    lines = [f"{hour_minute(a.get('t'))} {v.headline}" for v, a in order]
    if style == "sms":
        worst_line = order[0][0].headline
        return Message("", sms_text(f"{title}; {w.phrase('worst')}: {worst_line}"), "text", worst)
    if style == "html":
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        body = f"<h2>{html.escape(title)}</h2><ul>{items}</ul>"
        return fit(Message(title, body, "html", worst), limit)
    if style == "markdown":
        body = "\n".join([f"### {title}", "", *(f"- {line}" for line in lines)])
        return fit(Message(title, body, "markdown", worst), limit)
    return fit(Message(title, "\n".join(lines), "text", worst), limit)
