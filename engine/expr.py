"""Conditions (`metric`, `where`, `resolve`): simpleeval expressions, parsed once.

Only comparisons, arithmetic, `and`/`or`/`not`, conditional expressions,
constants, names and calls to a small set of functions are allowed; no
attribute access, indexing, comprehensions or lambdas.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import simpleeval

from engine.errors import did_you_mean
from engine.model import Value
from engine.vocabulary import EXPRESSION_FUNCTIONS

_FUNCTIONS = {"abs": abs, "min": min, "max": max, "float": float, "int": int}
assert set(_FUNCTIONS) == set(EXPRESSION_FUNCTIONS)

_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Constant,
    ast.Load,
    ast.And,
    ast.Or,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)
_WHAT = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "indexing ('[...]')",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.NamedExpr: "assignment (':=')",
}


class ExprError(ValueError):
    """The expression cannot be used; the message says why and how to fix it."""


@dataclass(frozen=True, eq=False)
class Expression:
    text: str
    names: frozenset[str]
    _tree: ast.expr
    _evaluator: simpleeval.SimpleEval

    def evaluate(self, namespace: Mapping[str, Value]) -> Value:
        """The value, or None when a name is missing or evaluation fails (never raises)."""
        if not self.names.issubset(namespace.keys()):
            return None
        self._evaluator.names = namespace
        try:
            result: Value = self._evaluator.eval(self.text, previously_parsed=self._tree)
        except Exception:  # a runtime failure (type, division...) means "unknown"
            return None
        return result

    def holds(self, namespace: Mapping[str, Value]) -> bool | None:
        """True/False for the condition, None when it cannot be decided yet."""
        value = self.evaluate(namespace)
        return None if value is None else bool(value)


def _check(tree: ast.AST, known: Collection[str]) -> tuple[frozenset[str], list[str]]:
    names: set[str] = set()
    errors: list[str] = []
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Name) or func.id not in _FUNCTIONS:
                called = func.id if isinstance(func, ast.Name) else "this"
                allowed = ", ".join(EXPRESSION_FUNCTIONS)
                errors.append(f"calling {called}() is not allowed; only {allowed}")
            elif node.keywords:
                errors.append(f"{func.id}() takes no keyword arguments here")
        elif isinstance(node, ast.Name) and id(node) not in callees:
            names.add(node.id)
            if node.id not in known:
                errors.append(f"unknown name '{node.id}'{did_you_mean(node.id, known)}")
        elif not isinstance(node, _ALLOWED):
            what = _WHAT.get(type(node), type(node).__name__)
            errors.append(f"{what} is not allowed in an expression")
    return frozenset(names), errors


def compile_expression(text: object, known: Collection[str]) -> Expression:
    """Parse and check `text` against the names it may use; raise ExprError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError(f"expected an expression such as 'mem_percent > 85', got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot parse expression '{text}': {exc.msg}") from None
    names, errors = _check(tree, known)
    if errors:
        raise ExprError("; ".join(dict.fromkeys(errors)))
    evaluator = simpleeval.SimpleEval(functions=dict(_FUNCTIONS), names={})
    return Expression(text.strip(), names, tree.body, evaluator)
