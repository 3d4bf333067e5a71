"""engine.packs.schemafit against jsonschema: the same verdict on every document, so that skipping
jsonschema for a document that fits never hides a problem.

Documents come from each published schema itself (mostly valid, with a wrong value, a missing or
an unknown key here and there), from pack-shaped and arbitrary structures, and from every YAML
file of the checkout (shipped packs, pack tests, bad-pack fixtures, presets).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError
from engine.packs import schemacheck
from engine.packs.schemafit import fits
from engine.packs.yamlio import parse

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("rules", "channels", "packtest")

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2000),
    st.floats(allow_nan=True),
    st.sampled_from([1.0, 0.0, -0.0, 2.5, math.inf, "", "x", "5m", "cuda-oom", "Bad Id"]),
    st.text(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        merged = dict(root["$defs"][schema["$ref"].split("/")[-1]])
        merged.update({k: v for k, v in schema.items() if k != "$ref"})
        schema = merged
    return schema


def shaped(
    schema: Any, root: Mapping[str, Any], wrong: bool, depth: int = 0
) -> st.SearchStrategy[Any]:
    """Values shaped by `schema`; with `wrong`, now and then a wrong value or an unknown key."""
    if not isinstance(schema, Mapping) or depth > 12:
        return junk
    schema = _resolve(schema, root)
    valid = _valid(schema, root, wrong, depth)
    return st.one_of(valid, valid, valid, junk) if wrong and depth else valid


def _valid(schema: Mapping[str, Any], root: Mapping[str, Any], wrong: bool, depth: int) -> Any:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type", ["string"])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return st.one_of(*(_of(kind, schema, root, wrong, depth) for kind in kinds))


def _object(schema: Mapping[str, Any], root: Mapping[str, Any], wrong: bool, depth: int) -> Any:
    props = schema.get("properties", {})
    inner = depth + 1
    required = {k: shaped(props.get(k), root, wrong, inner) for k in schema.get("required", [])}
    optional = {k: shaped(v, root, wrong, inner) for k, v in props.items() if k not in required}
    base = st.fixed_dictionaries(required, optional=optional)
    extra = schema.get("additionalProperties", True)
    if extra is False and not wrong:
        return base
    names = st.text(max_size=6)
    if isinstance(schema.get("propertyNames"), Mapping):
        pattern = st.from_regex(schema["propertyNames"]["pattern"], fullmatch=True)
        names = (pattern | names) if wrong else pattern
    more = st.dictionaries(names, shaped(extra, root, wrong, inner), max_size=2)
    return st.tuples(base, more).map(lambda t: {**t[1], **t[0]})


def _of(
    kind: str, schema: Mapping[str, Any], root: Mapping[str, Any], wrong: bool, depth: int
) -> Any:
    if kind == "object":
        return _object(schema, root, wrong, depth)
    if kind == "array":
        least = 0 if wrong else schema.get("minItems", 0)
        return st.lists(
            shaped(schema.get("items"), root, wrong, depth + 1), min_size=least, max_size=3
        )
    if kind == "string":
        if "pattern" in schema:
            pattern = st.from_regex(schema["pattern"], fullmatch=True)
            return (pattern | st.text(max_size=5)) if wrong else pattern
        return st.text(min_size=schema.get("minLength", 0), max_size=6)
    if kind in ("integer", "number"):
        low, high = schema.get("minimum", -3), schema.get("maximum", 1200)
        low, high = (low - 1, high + 1) if wrong else (low, high)
        whole = st.integers(low, high)
        if kind == "number" or wrong:
            return whole | st.floats(low, high)
        return whole | whole.map(float)  # 3.0 is an integer in Draft 2020-12
    if kind == "boolean":
        return st.booleans()
    return st.none()


def same_verdict(name: str, data: Any) -> None:
    schema = schemacheck.schema(name)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    assert fits(schema, data) == (not errors), (data, [e.message for e in errors])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_same_verdict_as_jsonschema_on_shaped_documents(name: str, data: st.DataObject) -> None:
    root = schemacheck.schema(name)
    same_verdict(name, data.draw(shaped(root, root, data.draw(st.booleans()))))


@pytest.mark.parametrize("name", NAMES)
def test_shaped_documents_are_both_valid_and_invalid(name: str) -> None:
    """The generator is worth something only if it makes documents of both kinds."""
    root = schemacheck.schema(name)
    verdicts: Counter[bool] = Counter()

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.booleans().flatmap(lambda wrong: shaped(root, root, wrong)))
    def run(data: Any) -> None:
        same_verdict(name, data)
        verdicts[fits(root, data)] += 1

    run()
    assert verdicts[True] >= 10 and verdicts[False] >= 10, verdicts


def _checkout_yaml() -> list[Path]:
    found = [*ROOT.glob("rules/**/*.y*ml"), *ROOT.glob("tests/**/*.y*ml")]
    found += [*ROOT.glob("engine/**/*.y*ml"), *ROOT.glob("bench/rules/**/*.yaml")]
    return sorted(found)


def test_same_verdict_on_every_yaml_file_of_the_checkout() -> None:
    files = _checkout_yaml()
    assert len(files) > 100
    for path in files:
        try:
            data = parse(path.read_text("utf-8"), str(path)).data
        except (ConfigError, UnicodeDecodeError):
            continue
        for name in NAMES:
            same_verdict(name, data)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.recursive(junk, lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids)))
def test_same_verdict_on_arbitrary_structures(data: Any) -> None:
    for name in NAMES:
        same_verdict(name, data)


def test_an_unknown_keyword_is_left_to_jsonschema() -> None:
    assert fits({"type": "string"}, "x")
    assert not fits({"type": "string", "format": "email"}, "x")
    assert not fits({"prefixItems": [{"type": "string"}]}, ["x"])
    assert not fits({"$ref": "https://example.com/s.json"}, "x")
    assert fits(yaml.safe_load("{type: object, x-hint: names, description: d}"), {})
