"""A quick yes to "does this document fit the schema?", without jsonschema.

engine.packs.schemacheck explains with jsonschema what is wrong with a document, but importing
jsonschema and building a validator is a large share of the start of `replay` or `run`, and
most documents have nothing wrong. `fits` answers with the same verdict as jsonschema's
Draft 2020-12 validator for the keywords our schemas use (tests/test_schemafit.py holds the
two to the same answers), and answers False, "ask jsonschema", for a keyword it does not
know. So a document that fits never needs jsonschema, and one that does not gets
jsonschema's full explanation.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sized
from typing import Any

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "x-hint", "x-item"}
)


def fits(schema: Mapping[str, Any], data: Any) -> bool:
    """True only when jsonschema would find no problem in `data`."""
    return _Fit(schema).check(schema, data)


def _is(kind: str, value: Any) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "integer":  # Draft 2020-12 counts 3.0 as an integer
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, _TYPES.get(kind, ()))


_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "number": numbers.Number,
    "object": dict,
    "array": list,
    "null": type(None),
}


class _Fit:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def check(self, schema: Any, value: Any) -> bool:
        if isinstance(schema, bool):
            return schema
        for key, want in schema.items():
            keyword = _KEYWORDS.get(key)
            if keyword is None:
                if key in _ANNOTATIONS:
                    continue
                return False  # not a keyword this module knows: jsonschema decides
            if not keyword(self, want, value, schema):
                return False
        return True

    def ref(self, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
        if not isinstance(want, str) or not want.startswith("#/"):
            return False
        target: Any = self.root
        for part in want[2:].split("/"):
            if not isinstance(target, Mapping) or part not in target:
                return False
            target = target[part]
        return self.check(target, value)

    def properties(self, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
        if not isinstance(value, dict):
            return True
        return all(self.check(sub, value[key]) for key, sub in want.items() if key in value)

    def additional(self, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
        if not isinstance(value, dict):
            return True
        known = schema.get("properties", {})
        return all(self.check(want, v) for k, v in value.items() if k not in known)

    def items(self, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
        return not isinstance(value, list) or all(self.check(want, v) for v in value)

    def names(self, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
        return not isinstance(value, dict) or all(self.check(want, k) for k in value)


def _type(fit: _Fit, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
    return any(_is(kind, value) for kind in ([want] if isinstance(want, str) else want))


def _enum(fit: _Fit, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
    # Only lists of text: jsonschema's equality of numbers and booleans has its own rules.
    return all(isinstance(w, str) for w in want) and isinstance(value, str) and value in want


def _unique(fit: _Fit, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
    if not want or not isinstance(value, list):
        return True
    return all(isinstance(v, str) for v in value) and len(set(value)) == len(value)


def _required(fit: _Fit, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
    return not isinstance(value, dict) or all(key in value for key in want)


def _pattern(fit: _Fit, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
    return not isinstance(value, str) or re.search(want, value) is not None


def _size(kinds: type[Sized], least: bool) -> Callable[[_Fit, Any, Any, Mapping[str, Any]], bool]:
    def check(fit: _Fit, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
        if not isinstance(value, kinds):
            return True
        return not (len(value) < want) if least else not (len(value) > want)

    return check


def _bound(least: bool) -> Callable[[_Fit, Any, Any, Mapping[str, Any]], bool]:
    def check(fit: _Fit, want: Any, value: Any, schema: Mapping[str, Any]) -> bool:
        if not _is("number", value):
            return True
        return not (value < want) if least else not (value > want)  # NaN passes, as there

    return check


_KEYWORDS: dict[str, Callable[[_Fit, Any, Any, Mapping[str, Any]], bool]] = {
    "type": _type,
    "enum": _enum,
    "required": _required,
    "pattern": _pattern,
    "uniqueItems": _unique,
    "minLength": _size(str, True),
    "maxLength": _size(str, False),
    "minItems": _size(list, True),
    "maxItems": _size(list, False),
    "minimum": _bound(True),
    "maximum": _bound(False),
    "$ref": _Fit.ref,
    "properties": _Fit.properties,
    "additionalProperties": _Fit.additional,
    "items": _Fit.items,
    "propertyNames": _Fit.names,
}
