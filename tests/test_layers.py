"""The import contract (`bin/layers`): the checkout keeps it, and a break of it is caught."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layers(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "bin" / "layers"), *args],
        capture_output=True,
        text=True,
    )


def test_the_checkout_keeps_its_import_contract() -> None:
    result = layers(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("static"))
    (tmp_path / "bin").mkdir()
    shutil.copy(ROOT / "bin" / "layers", tmp_path / "bin" / "layers")
    return tmp_path


def test_an_import_the_package_does_not_allow_is_a_break(tmp_path: Path) -> None:
    root = copy(tmp_path)
    core = root / "engine" / "core" / "gates.py"
    core.write_text(core.read_text() + "\nfrom engine.supervise import pipeline  # noqa\n")
    result = layers(root)
    assert result.returncode == 1
    assert "engine/core/gates.py:" in result.stdout
    assert "imports engine.supervise.pipeline; engine/core/__init__.py may import:" in result.stdout


def test_a_library_the_core_never_imports_is_a_break(tmp_path: Path) -> None:
    root = copy(tmp_path)
    part = root / "engine" / "core" / "events.py"
    part.write_text("import time  # noqa\n" + part.read_text())
    result = layers(root)
    assert result.returncode == 1
    assert "engine/core/events.py:1: imports time, which engine.core never imports" in result.stdout


def test_a_deferred_import_counts_and_a_cycle_is_named(tmp_path: Path) -> None:
    root = copy(tmp_path)
    vocabulary = root / "engine" / "packs" / "rule.py"
    later = "\n\ndef _later() -> None:\n    from engine.packs import compile  # noqa\n"
    vocabulary.write_text(vocabulary.read_text() + later)
    result = layers(root)
    assert result.returncode == 1
    assert "import cycle: " in result.stdout
    assert "engine.packs.compile" in result.stdout and "engine.packs.rule" in result.stdout


def test_the_graph_lists_what_each_package_imports() -> None:
    result = layers(ROOT, "--graph")
    graph = dict(line.split(" -> ") for line in result.stdout.splitlines())
    assert "engine.supervise" not in graph["engine.core"]
    assert graph["engine.match"] == "engine.errors, engine.packs"
