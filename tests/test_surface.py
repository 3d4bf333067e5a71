"""The public surface (`engine/__init__.py`) and the one exception tree (`engine/errors.py`)."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import engine
from engine import errors

ROOT = Path(__file__).resolve().parent.parent

SURFACE = {
    # rule packs
    "load_rules", "load_packs", "Compiled", "RuleSet", "Rule",
    # the core and its vocabulary
    "Engine", "State", "Matcher", "accelerated", "Action", "Decision", "Event", "Kind",
    "LineBlock", "LogLine", "Observation", "Reason", "Sample", "Severity", "Silence", "Tick",
    "Value",
    # errors
    "RlswarmError", "ConfigError", "DurationError", "ExprError", "TemplateError", "Problem",
    "Level",
    # the author's tools
    "lint", "LintReport", "replay", "ReplayResult", "run_pack_tests", "TestReport",
    # what a channel receives
    "AlertRecord", "alert_record", "render", "Message",
}  # fmt: skip


def test_the_surface_is_what_a_library_user_is_promised() -> None:
    assert set(engine.__all__) == SURFACE
    assert len(engine.__all__) == len(SURFACE)  # no name twice
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name


def test_each_name_is_the_object_of_its_home_module() -> None:
    from engine.core.engine import Engine
    from engine.packs.loader import load, load_strict

    assert engine.Engine is Engine
    assert engine.load_rules is load_strict and engine.load_packs is load
    for name in SURFACE - {"load_rules", "load_packs", "run_pack_tests", "Value", "Observation"}:
        value = getattr(engine, name)
        home = importlib.import_module(value.__module__)
        assert getattr(home, name) is value, name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        engine.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_the_package_loads_none_of_it() -> None:
    """Every command imports `engine`; the surface must not make `--help` load the rest."""
    code = "import sys, engine; print(sorted(m for m in sys.modules if m.startswith('engine')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "['engine']"


def test_the_surface_works_end_to_end(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(
        "rules:\n  - id: oom\n    severity: critical\n    log: 'out of memory'\n"
        "    examples: {fires: ['CUDA out of memory']}\n"
    )
    rules = engine.load_rules([pack])
    eng = engine.Engine(rules, host="h", project="p")
    [decision] = eng.feed(engine.LogLine(1.0, "stdout", "CUDA out of memory"))
    assert decision.reason is engine.Reason.FIRST and decision.severity is engine.Severity.CRITICAL
    record = engine.alert_record(decision, "h", "p")
    assert engine.render(record, "text", "p").title.startswith("[p] CRITICAL oom")
    assert engine.lint([pack]).exit_code(strict=True) == 0


def test_every_exception_of_ours_is_in_the_one_tree() -> None:
    """Each exception class the package defines derives from RlswarmError, and the tree in
    errors.py's docstring names every one of them."""
    ours = {
        cls
        for path in (ROOT / "engine").rglob("*.py")
        if "probe" not in path.parts  # the probe runs in the child, standard library only
        for module in [_module(path)]
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__.startswith("engine")
    }
    assert ours, "no exception classes found"
    doc = errors.__doc__ or ""
    for cls in ours:
        assert issubclass(cls, errors.RlswarmError), cls
        assert cls.__module__ == "engine.errors", cls
        assert f" {cls.__name__} " in doc or f"{cls.__name__}\n" in doc, cls


def _module(path: Path) -> object:
    parts = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    if name.endswith("__main__") or name == "engine.demo.train":
        return errors  # scripts: importing them runs them
    return importlib.import_module(name)
