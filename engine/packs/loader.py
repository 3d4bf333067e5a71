"""Finding and loading rule packs and pack tests from the paths a user gives."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from engine import places
from engine.errors import ConfigError, Problem
from engine.packs import yamlio
from engine.packs.compile import MAX_RULES, Compiled, compile_packs
from engine.packs.rule import RuleSet

PACK_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".test.yaml", ".test.yml")
DEFAULT_RULES = places.RULES_DIR
MAX_PACKS_BYTES = 4 * 2**20  # all packs loaded at once


def default_paths() -> list[Path]:
    """The packs found by the search order of `engine.places.rules` (ConfigError when
    `$RLSWARM_RULES` names a path that does not exist)."""
    return list(places.rules().paths)


def _is_test(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIXES)


def _listed(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(PACK_SUFFIXES))


def pack_files(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Pack files named by `paths`: a folder gives its *.yaml (sorted), a file itself."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(p for p in _listed(path) if not _is_test(p))
        elif path.is_file():
            if not _is_test(path):
                files.append(path)
        else:
            problems.append(Problem(str(path), 0, "no such file or folder", code="io"))
    return list(dict.fromkeys(files)), problems


def test_files(paths: Iterable[Path]) -> list[Path]:
    """Pack tests: `*.test.yaml` files given, in a folder, or in its `tests/` folder."""
    found: list[Path] = []
    for path in paths:
        if path.is_file() and _is_test(path):
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in _listed(path) if _is_test(p))
            if (path / "tests").is_dir():
                found.extend(_listed(path / "tests"))
    return list(dict.fromkeys(found))


def load(paths: Sequence[Path]) -> Compiled:
    """Read and compile the packs under `paths`; every problem is in the result, file by file
    (in load order) and in line order within a file."""
    try:
        files, problems = pack_files(paths or default_paths())
    except ConfigError as exc:
        files, problems = [], list(exc.problems)
    docs = []
    total = 0
    for file in files:
        try:
            total += file.stat().st_size
        except OSError:
            pass  # `read` says why
        if total > MAX_PACKS_BYTES:
            msg = (
                f"not read: the packs before it hold {MAX_PACKS_BYTES // 2**20} MiB, the most "
                f"that is loaded (at most {MAX_RULES} rules are); load fewer packs"
            )
            problems.append(Problem(str(file), 0, msg, code="limit"))
            continue
        try:
            docs.append(yamlio.read(file))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if not files and not problems:
        where = ", ".join(str(p) for p in paths) or str(DEFAULT_RULES)
        problems.append(Problem(where, 0, "no rule packs (*.yaml) found", code="io"))
    compiled = compile_packs(docs)
    compiled.problems[:0] = problems
    order = {str(file): i for i, file in enumerate(files)}
    compiled.problems.sort(key=lambda p: (order.get(p.path, -1), p.line))
    return compiled


def load_strict(paths: Sequence[Path]) -> RuleSet:
    """The compiled rules, or ConfigError carrying every error (warnings pass)."""
    compiled = load(paths)
    if not compiled.ok:
        raise ConfigError([p for p in compiled.problems if p.level.value == "error"])
    return compiled.rules
