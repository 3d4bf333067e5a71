"""Conditions (`metric`, `where`, `resolve`): simpleeval expressions, parsed once.

Only comparisons, arithmetic, `and`/`or`/`not`, conditional expressions,
constants, names and calls to a small set of functions are allowed; no
attribute access, indexing, comprehensions or lambdas. `matches(text, 'regex')`
searches text with a regex written as a quoted constant, compiled (and held to
linear time) when the expression is.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import simpleeval

from engine.errors import ExprError, did_you_mean
from engine.model import Value
from engine.packs.regexcheck import compile_regex
from engine.vocabulary import EXPRESSION_FUNCTIONS

_FUNCTIONS: dict[str, Callable[..., Value]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "float": float,
    "int": int,
    "matches": lambda text, pattern: None,  # each expression gets its own (`_matches`)
}
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
    ast.keyword,  # rejected with its call
    ast.Store,  # only inside what is rejected anyway (comprehensions, ':=')
)
_WHAT: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "indexing ('[...]')",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.NamedExpr: "assignment (':=')",
    ast.arguments: "lambda",
    ast.arg: "lambda",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.comprehension: "comprehensions",
    ast.List: "a list ('[...]')",
    ast.Tuple: "a tuple",
    ast.Dict: "a mapping ('{...}')",
    ast.Set: "a set ('{...}')",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.Starred: "'*'",
    ast.Slice: "slicing",
    ast.Await: "await",
    **dict.fromkeys(
        (ast.BitOr, ast.BitAnd, ast.BitXor, ast.Invert, ast.LShift, ast.RShift, ast.MatMult),
        "bitwise operators ('|', '&', '^', '~', '<<', '>>', '@')",
    ),
}


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


MAX_DEPTH = 100
MAX_LENGTH = 10_000
_ASSIGN = re.compile(r"(?<![=!<>])=(?![=<>])")


def _unknown(name: str, known: Collection[str], elsewhere: Mapping[str, str]) -> str:
    if name in elsewhere:
        return f"'{name}' is only available in {elsewhere[name]}"
    return f"unknown name '{name}'{did_you_mean(name, known)}"


def _call(node: ast.Call) -> str | None:
    func = node.func
    allowed = ", ".join(EXPRESSION_FUNCTIONS)
    if isinstance(func, ast.Attribute):
        return f"calling methods ({_dotted(func)}) is not allowed; only {allowed}"
    if not isinstance(func, ast.Name) or func.id not in _FUNCTIONS:
        called = f"{func.id}()" if isinstance(func, ast.Name) else "the result of an expression"
        return f"calling {called} is not allowed; only {allowed}"
    if node.keywords:
        return f"{func.id}() takes no keyword arguments here"
    if func.id == "matches":
        return _matches_call(node)
    return None


def _matches_call(node: ast.Call) -> str | None:
    """Why a `matches(...)` call cannot be compiled, or None."""
    usage = "matches() takes a text and a quoted regex: matches(message, 'CUDA error: \\w+')"
    if len(node.args) != 2:
        return usage
    pattern = node.args[1]
    if not (isinstance(pattern, ast.Constant) and isinstance(pattern.value, str)):
        return usage
    compiled = compile_regex(pattern.value)
    if compiled.error:
        return f"matches(): {compiled.error}"
    slow = [w for w in compiled.warnings if w.startswith("not guaranteed linear-time")]
    if slow:  # no time budget here: a condition must end quickly
        why = slow[0].split("; on a line")[0]
        return f"matches(): the regex is {why}; make the repeats specific or bounded"
    return None


def _patterns(tree: ast.AST) -> dict[str, re.Pattern[str]]:
    """The regexes of the `matches` calls in `tree` (checked by `_matches_call`)."""
    found: dict[str, re.Pattern[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            pattern = node.args[1] if node.func.id == "matches" else None
            if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str):
                found[pattern.value] = re.compile(pattern.value)
    return found


def _matches(patterns: Mapping[str, re.Pattern[str]]) -> Callable[[Value, str], bool]:
    def matches(text: Value, pattern: str) -> bool:
        return text is not None and patterns[pattern].search(str(text)) is not None

    return matches


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    head = node.id if isinstance(node, ast.Name) else "..."
    return ".".join([head, *reversed(parts)])


def _check(
    tree: ast.AST, known: Collection[str] | None, elsewhere: Mapping[str, str]
) -> tuple[frozenset[str], list[str]]:
    names: set[str] = set()
    errors: list[str] = []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    callees = {id(n.func) for n in calls}
    methods = {id(n) for c in calls if isinstance(c.func, ast.Attribute) for n in ast.walk(c.func)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            problem = _call(node)
            if problem:
                errors.append(problem)
        elif id(node) in methods:
            continue  # reported with its call
        elif isinstance(node, ast.Name) and id(node) not in callees:
            names.add(node.id)
            if known is not None and node.id not in known:
                errors.append(_unknown(node.id, known, elsewhere))
        elif not isinstance(node, _ALLOWED):
            what = _WHAT.get(type(node), type(node).__name__)
            verb = "are" if what.endswith("s") else "is"
            errors.append(f"{what} {verb} not allowed in an expression")
    return frozenset(names), errors


def _shown(text: str) -> str:
    short = text if len(text) <= 80 else text[:77] + "..."
    return short if short.isprintable() else repr(short)[1:-1]


def _depth(tree: ast.AST) -> int:
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _parse(text: str) -> ast.Expression:
    too_deep = "the expression is nested too deeply to parse; simplify it"
    if len(text) > MAX_LENGTH:
        size = f"{len(text)} characters long"
        raise ExprError(f"the expression is {size}; keep it under {MAX_LENGTH}")
    try:
        with warnings.catch_warnings():  # '\w' in a non-raw string: kept as written, quietly
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        hint = "; compare with '==', not '='" if _ASSIGN.search(text) else ""
        message = str(exc.msg).split(". Maybe you meant")[0]
        raise ExprError(f"cannot parse expression '{_shown(text)}': {message}{hint}") from None
    except (RecursionError, MemoryError):
        raise ExprError(too_deep) from None
    except ValueError as exc:  # e.g. NUL characters, on older Pythons
        raise ExprError(f"cannot parse expression: {exc}") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExprError(too_deep)
    return tree


def compile_expression(
    text: object, known: Collection[str] | None, elsewhere: Mapping[str, str] | None = None
) -> Expression:
    """Parse and check `text` against the names it may use (None: any name); raise ExprError
    otherwise. `elsewhere` names the rules where a name that is not known here is available."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError(f"expected an expression such as 'mem_percent > 85', got {text!r}")
    tree = _parse(text.strip())
    names, errors = _check(tree, known, elsewhere or {})
    if errors:
        raise ExprError("; ".join(dict.fromkeys(errors)))
    functions = {**_FUNCTIONS, "matches": _matches(_patterns(tree))}
    evaluator = simpleeval.SimpleEval(functions=functions, names={})
    return Expression(text.strip(), names, tree.body, evaluator)
