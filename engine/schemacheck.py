"""Structural validation of a parsed file against one of the published JSON Schemas.

jsonschema finds the problems; this module turns each into a located,
actionable message (unknown key with did-you-mean, wrong type with the fix).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from engine.errors import Problem, did_you_mean
from engine.yamlio import JsonPath, Located

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
    text = resources.files("engine").joinpath(f"schema/{name}.schema.json").read_text("utf-8")
    loaded: Mapping[str, Any] = json.loads(text)
    return loaded


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(name))


def rule_id_at(doc: Located, where: JsonPath) -> str | None:
    """The id of the rule that `where` points into, when it has a readable one."""
    if len(where) >= 2 and where[0] == "rules" and isinstance(where[1], int):
        rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
        if isinstance(rules, list) and where[1] < len(rules):
            rule = rules[where[1]]
            if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                return str(rule["id"])
    return None


def validate(doc: Located, name: str) -> list[tuple[JsonPath, Problem]]:
    """Every structural problem of `doc` with where it is; empty when it fits the schema."""
    problems: dict[tuple[JsonPath, str], tuple[JsonPath, Problem]] = {}
    for error in _validator(name).iter_errors(doc.data):
        for where, message in _explain(error):
            line = doc.line_of(where)
            problem = Problem(doc.path, line, message, rule_id_at(doc, where), code="schema")
            problems.setdefault((where, message), (where, problem))
    return list(problems.values())


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)


def _key_name(where: JsonPath) -> str:
    for part in reversed(where):
        if isinstance(part, str):
            return f"'{part}'"
    return "this value"


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
        fix = f"; {hint}" if hint else ""
        yield where, f"{_key_name(where)} must be {names}, got {got}{fix}"
    elif kind == "enum":
        options = [str(o) for o in expected]
        got = str(error.instance)
        fix = did_you_mean(got, options) or f"; use one of: {', '.join(options)}"
        yield where, f"{_key_name(where)} is {_describe(error.instance)}{fix}"
    elif kind == "propertyNames":
        yield where, f"name {error.instance!r} is not allowed{'; ' + hint if hint else ''}"
    elif hint:
        yield where, f"{_key_name(where)} is {_describe(error.instance)}: {hint}"
    else:
        yield where, f"{_key_name(where)}: {error.message}"
