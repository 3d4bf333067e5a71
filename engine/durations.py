"""Durations as written in packs: `30s`, `5m`, `2h`, `1d`, combined as `1h30m`.

May import: errors
"""

from __future__ import annotations

import re

from engine.errors import DurationError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")


def parse_duration(text: object) -> float:
    """Seconds in `text`; raises DurationError with a fix for anything else."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise DurationError(f"expected a duration such as '30s', '5m', '2h', got {text!r}")
    if isinstance(text, (int, float)):
        if text == 0:
            return 0.0
        raise DurationError(f"a bare number is ambiguous; write '{text}s' or '{text}m'")
    spec = text.strip()
    if spec == "0":
        return 0.0
    if not _WHOLE.fullmatch(spec):
        raise DurationError(
            f"'{text}' is not a duration; use a number and a unit (ms, s, m, h, d, w), "
            "e.g. '30s', '5m', '1h30m'"
        )
    return sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(spec))


# The short forms, per language: seconds; minutes and seconds; minutes; hours and minutes;
# hours; days and hours; days (`r`: the seconds, or minutes, left over).
_FORMS = {
    "en": ("{s}s", "{m}m{r:02d}s", "{m}m", "{h}h{m:02d}m", "{h}h", "{d}d{h}h", "{d}d"),
    "zh-CN": ("{s}秒", "{m}分{r}秒", "{m}分钟", "{h}小时{m}分", "{h}小时", "{d}天{h}小时", "{d}天"),
}


def format_duration(seconds: float, language: str = "en") -> str:
    """A short human form: `45s`, `12m`, `3h05m`, `2d4h` (zh-CN: `45秒`, `12分钟`, `3小时5分`,
    `2天4小时`)."""
    secs, m_s, mins, h_m, hours, d_h, days = _FORMS.get(language, _FORMS["en"])
    s = max(0, round(seconds))
    if s < 60:
        return secs.format(s=s)
    if s < 3600:
        m, r = divmod(s, 60)
        return m_s.format(m=m, r=r) if r else mins.format(m=m)
    if s < 86400:
        h, m = s // 3600, s % 3600 // 60
        return h_m.format(h=h, m=m) if m else hours.format(h=h)
    d, h = s // 86400, s % 86400 // 3600
    return d_h.format(d=d, h=h) if h else days.format(d=d)


def exact_duration(seconds: float) -> str:
    """The exact form that `parse_duration` reads back: `0s`, `5m`, `1h30m10s`, `1s250ms`."""
    sign = "-" if seconds < 0 else ""
    ms = round(abs(seconds) * 1000)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        n, ms = divmod(ms, size)
        if n:
            parts.append(f"{n}{unit}")
    if ms:
        parts.append(f"{ms}ms")
    return sign + ("".join(parts) or "0s")
