"""Templates (`summary`, `advice`, `group_by`): `{name}` and `{name:.1f}`, parsed once.

Only plain names are allowed in fields: no attribute access, indexing or
conversions. Rendering never raises: a missing name renders as `?`, a format
spec that does not fit the value falls back to the value's plain text.
"""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from engine.errors import did_you_mean
from engine.model import Value

_IDENT_CHARS = frozenset(string.ascii_letters + string.digits + "_")


class TemplateError(ValueError):
    pass


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


def compile_template(text: object, known: Collection[str]) -> Template:
    """Parse `text` and check its names; raise TemplateError with the fix otherwise."""
    if not isinstance(text, str):
        raise TemplateError(f"expected text, got {text!r}")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"{exc}; write '{{{{' and '}}}}' for literal braces") from None
    parts: list[tuple[str, str | None, str]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None, ""))
            continue
        _check_field(name, spec or "", conversion, known)
        parts.append((literal, name, spec or ""))
    return Template(text, tuple(parts))


def _check_field(name: str, spec: str, conversion: str | None, known: Collection[str]) -> None:
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
    if name not in known:
        raise TemplateError(f"unknown name '{{{name}}}'{did_you_mean(name, known)}")
    try:
        format(0.0, spec)
    except ValueError:
        try:
            format("", spec)
        except ValueError:
            raise TemplateError(f"format '{spec}' of '{{{name}}}' is not valid") from None
