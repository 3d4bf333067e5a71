"""Templates (`summary`, `advice`, `group_by`): `{name}` and `{name:.1f}`, parsed once.

Only plain names are allowed in fields: no attribute access, indexing or
conversions. Rendering never raises: a missing name renders as `?`, a format
spec that does not fit the value falls back to the value's plain text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from engine.errors import TemplateError, did_you_mean
from engine.model import Value

_IDENT_CHARS = frozenset(string.ascii_letters + string.digits + "_")


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    parts: tuple[tuple[str, str | None, str], ...]  # (literal, name, format spec)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(name for _, name, _ in self.parts if name is not None)

    def render(self, values: Mapping[str, Value]) -> str:
        out: list[str] = []
        for literal, name, spec in self.parts:
            out.append(literal)
            if name is not None:
                out.append(_format(values.get(name), spec))
        return "".join(out)


def _format(value: Value, spec: str) -> str:
    if value is None:
        return "?"
    if spec:
        try:
            return format(value, spec)
        except (ValueError, TypeError):
            pass
        try:
            return format(float(value), spec)
        except (ValueError, TypeError):
            return str(value)
    return str(value)


MAX_WIDTH = 1000
_BRACES = {
    "Single '}' encountered in format string": "a '}' closes nothing",
    "Single '{' encountered in format string": "a '{' is never closed",
    "expected '}' before end of string": "a '{' is never closed",
}
_NUMBERS = re.compile(r"\d+")
# `{{ name }}`, `{{$labels.name}}`, `{{ .Labels.name }}`: meant as a value, shown literally.
# `{{name}}` (no space, no `$` or `.`) stays the way to write a literal `{name}`.
_DOUBLE_BRACES = re.compile(
    r"\{\{(?:\s+([$.]?[A-Za-z_][\w.$]*)\s*|\s*([$.][A-Za-z_][\w.$]*)\s*|([A-Za-z_]\w*)\s+)\}\}"
)


def compile_template(
    text: object, known: Collection[str] | None, elsewhere: Mapping[str, str] | None = None
) -> Template:
    """Parse `text` and check its names (None: any name); raise TemplateError with the fix
    otherwise. `elsewhere` names the rules where a name that is not known here is available."""
    if not isinstance(text, str):
        raise TemplateError(f"expected text, got {text!r}")
    habit = _DOUBLE_BRACES.search(text)
    if habit:  # Jinja's and Prometheus's habit; here '{{' is a literal brace
        name = re.split(r"[.$]", next(g for g in habit.groups() if g))[-1]
        raise TemplateError(
            f"'{habit.group(0)}' would be shown as it is written: '{{{{' is a literal brace "
            f"here (not Jinja or Prometheus); write '{{{name}}}' for the value of '{name}'"
        )
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        why = _BRACES.get(str(exc), str(exc))
        raise TemplateError(f"{why}; write '{{{{' and '}}}}' for literal braces") from None
    parts: list[tuple[str, str | None, str]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None, ""))
            continue
        _check_field(name, spec or "", conversion, known, elsewhere or {})
        parts.append((literal, name, spec or ""))
    return Template(text, tuple(parts))


def _check_field(
    name: str,
    spec: str,
    conversion: str | None,
    known: Collection[str] | None,
    elsewhere: Mapping[str, str],
) -> None:
    if name == "":
        raise TemplateError("empty field '{}'; name a value, e.g. '{line}'")
    if not set(name) <= _IDENT_CHARS:
        raise TemplateError(
            f"field '{{{name}}}' is not a plain name; attribute access and indexing "
            "are not allowed in templates"
        )
    if conversion is not None:
        raise TemplateError(f"conversion '!{conversion}' in '{{{name}}}' is not allowed")
    if "{" in spec:
        raise TemplateError(f"nested field in the format of '{{{name}}}' is not allowed")
    if known is not None and name not in known:
        if name in elsewhere:
            raise TemplateError(f"'{{{name}}}' is only available in {elsewhere[name]}")
        raise TemplateError(f"unknown name '{{{name}}}'{did_you_mean(name, known)}")
    _check_spec(name, spec)


def _check_spec(name: str, spec: str) -> None:
    """The format spec works for a number or for text, and asks for no huge width."""
    if any(_too_wide(n) for n in _NUMBERS.findall(spec)):
        raise TemplateError(
            f"format '{_short(spec)}' of '{{{name}}}' is too wide; keep widths and precisions "
            f"at most {MAX_WIDTH}"
        )
    try:
        format(0.0, spec)
    except (ValueError, OverflowError):
        try:
            format("", spec)
        except (ValueError, OverflowError):
            raise TemplateError(f"format '{_short(spec)}' of '{{{name}}}' is not valid") from None


def _too_wide(digits: str) -> bool:
    digits = digits.lstrip("0")
    return len(digits) > len(str(MAX_WIDTH)) or int(digits or "0") > MAX_WIDTH


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
