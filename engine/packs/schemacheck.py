"""Structural validation of a parsed file against one of the published JSON Schemas.

jsonschema finds the problems; this module turns each into a located,
actionable message (unknown key with did-you-mean, wrong type with the fix).
A document that fits (engine.packs.schemafit says so without jsonschema) has none, and
jsonschema is imported only for one that may not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import Problem, did_you_mean
from engine.packs.schemafit import fits
from engine.packs.yamlio import JsonPath, Located, owner

if TYPE_CHECKING:
    import jsonschema

SCHEMAS = Path(__file__).resolve().parents[1] / "schema"

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


@cache
def schema(name: str) -> Mapping[str, Any]:
    """The schema `engine/schema/<name>.schema.json`."""
    text = (SCHEMAS / f"{name}.schema.json").read_text("utf-8")
    loaded: Mapping[str, Any] = json.loads(text)
    return loaded


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    import jsonschema  # only for a document that may not fit: it is slow to import

    return jsonschema.Draft202012Validator(schema(name))


def validate(doc: Located, name: str) -> list[tuple[JsonPath, Problem]]:
    """Every structural problem of `doc` with where it is; empty when it fits the schema."""
    if fits(schema(name), doc.data):
        return []
    found: list[tuple[JsonPath, str]] = []
    for error in _validator(name).iter_errors(doc.data):
        found.extend(_explain(error))
    problems: dict[tuple[JsonPath, str], tuple[JsonPath, Problem]] = {}
    for where, message in _without_follow_ons(found):
        rule, prefix = owner(doc.data, where)
        problem = Problem(doc.path, doc.line_of(where), prefix + message, rule, code="schema")
        problems.setdefault((where, message), (where, problem))
    return list(problems.values())


_SUGGESTS = re.compile(r"unknown key '.*' \(did you mean '(?P<key>.*)'\?\)")


def _without_follow_ons(found: list[tuple[JsonPath, str]]) -> list[tuple[JsonPath, str]]:
    """Drop 'missing required key X' where an unknown key next to it already suggests X."""
    suggested = set()
    for where, message in found:
        match = _SUGGESTS.fullmatch(message)
        if match and where:
            suggested.add((where[:-1], f"missing required key '{match['key']}'"))
    return [(where, message) for where, message in found if (where, message) not in suggested]


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key_name(where: JsonPath) -> str:
    if len(where) >= 2 and isinstance(where[-1], int) and isinstance(where[-2], str):
        return f"each item of '{where[-2]}'"
    for part in reversed(where):
        if isinstance(part, str):
            return f"'{part}'"
    return "this value"


def _type_fix(wants: list[str], instance: object, hint: str | None) -> str:
    if hint:
        return f"; {hint}"
    if "string" in wants and isinstance(instance, (bool, int, float)):
        return "; quote it"
    return ""


def _explain(error: jsonschema.ValidationError) -> Iterator[tuple[JsonPath, str]]:
    where: JsonPath = tuple(error.absolute_path)
    sub: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    hint = sub.get("x-hint")
    kind = error.validator
    expected: Any = error.validator_value
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = [str(k) for k in sub.get("properties", {})]
        for key in error.instance:
            if key not in allowed:
                fix = did_you_mean(key, allowed) or f"; allowed: {', '.join(sorted(allowed))}"
                yield (*where, key), f"unknown key '{key}'{fix}"
    elif kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "a key"
        yield where, f"missing required key '{missing}'"
    elif kind == "type":
        wants = [expected] if isinstance(expected, str) else list(expected)
        names = " or ".join(_TYPE_NAMES.get(w, w) for w in wants)
        got = _describe(error.instance)
        if "x-item" in sub:
            yield where, f"{sub['x-item']}, got {got}"
        else:
            fix = _type_fix(wants, error.instance, hint)
            yield where, f"{_key_name(where)} must be {names}, got {got}{fix}"
    elif kind == "enum":
        options = [str(o) for o in expected]
        got = str(error.instance)
        fix = did_you_mean(got, options) or f"; use one of: {', '.join(options)}"
        yield where, f"{_key_name(where)} is {_describe(error.instance)}{fix}"
    elif "propertyNames" in error.relative_schema_path:
        rule = "letters, digits and '_', not starting with a digit"
        yield (
            where,
            f"{_key_name(where)}: the name {_describe(error.instance)} is not allowed; use {rule}",
        )
    elif kind == "propertyNames":
        yield where, f"name {error.instance!r} is not allowed{'; ' + hint if hint else ''}"
    elif hint:
        yield where, f"{_key_name(where)} is {_describe(error.instance)}: {hint}"
    else:
        yield where, f"{_key_name(where)}: {error.message}"
