"""What `rlswarm-rules doctor` runs inside the training environment's interpreter.

Run by path with `python -I probe_env.py [--torch] NAME...`. It uses the
standard library only and never imports rlswarm-rules (with `-I` neither the
script's folder nor PYTHONPATH is on sys.path), so it sees the environment as
the training will. It prints JSON records on stdout, one a line, each after
the `RLSWARM-DOCTOR ` marker (a library that prints at import time cannot be
mistaken for a record):

1. `{"kind": "env", ...}`: the interpreter, the installed versions of NAME...
   (importlib.metadata, nothing imported), and whether accelerate's
   `Accelerator.prepare` calls `is_torch_version` (read from its source file);
2. with `--torch`, after importing torch (if installed): `{"kind": "torch", ...}`:
   its version, CUDA and MPS availability. Importing torch can take long: the parent waits
   for this record with a timeout and keeps record 1 either way.

Keep it runnable by Python 3.7 and later (the target interpreter is not ours;
3.7 reports no versions, but its own version, which the checks reject).
"""

from __future__ import annotations

import ast
import json
import os
import platform
import site
import sys
import time
from typing import Any

MARKER = "RLSWARM-DOCTOR "


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(MARKER + json.dumps(record) + "\n")
    sys.stdout.flush()


def add_user_site() -> bool:
    """Put the user site-packages back, as a normal start-up (without -I) would."""
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    if in_venv or os.environ.get("PYTHONNOUSERSITE"):
        return False
    path = site.getusersitepackages()
    if not os.path.isdir(path) or path in sys.path:
        return False
    site.addsitedir(path)
    return True


def version_of(name: str) -> str | None:
    try:
        from importlib import metadata  # Python 3.8+

        return metadata.version(name)
    except Exception:  # not installed, or broken metadata
        return None


def calls_in_method(path: str, cls: str, method: str, callee: str) -> bool | None:
    """Whether `cls.method` in the source file `path` names `callee`; None if unknown."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == method:
                    return any(isinstance(n, ast.Name) and n.id == callee for n in ast.walk(item))
    return None


def prepare_calls_is_torch_version() -> bool | None:
    """Read accelerate's Accelerator.prepare without importing accelerate (or torch)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("accelerate")  # a top-level name: nothing is executed
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = calls_in_method(
            os.path.join(folder, "accelerator.py"), "Accelerator", "prepare", "is_torch_version"
        )
        if found is not None:
            return found
    return None


def env_record(names: list[str], user_site: bool) -> dict[str, Any]:
    return {
        "kind": "env",
        "executable": sys.executable,
        "python_version": platform.python_version(),
        "system": platform.system(),
        "machine": platform.machine(),
        "user_site_added": user_site,
        "packages": {name: version_of(name) for name in names},
        "prepare_calls_is_torch_version": prepare_calls_is_torch_version(),
    }


def torch_record() -> dict[str, Any]:
    if version_of("torch") is None:
        return {"kind": "torch", "absent": True}
    start = time.monotonic()
    try:
        import torch
    except BaseException as exc:  # a broken install can raise anything, even SystemExit
        return {"kind": "torch", "error": f"{type(exc).__name__}: {exc}"[:500]}
    record: dict[str, Any] = {
        "kind": "torch",
        "version": str(getattr(torch, "__version__", "")),
        "import_seconds": round(time.monotonic() - start, 2),
        "cuda_build": getattr(getattr(torch, "version", None), "cuda", None),
    }
    try:
        record["cuda_available"] = bool(torch.cuda.is_available())
        record["cuda_devices"] = [
            str(torch.cuda.get_device_name(i)) for i in range(torch.cuda.device_count())
        ]
    except Exception as exc:
        record["cuda_available"] = False
        record["cuda_error"] = f"{type(exc).__name__}: {exc}"[:500]
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    try:
        record["mps_built"] = bool(mps.is_built()) if mps is not None else False
        record["mps_available"] = bool(mps.is_available()) if mps is not None else False
    except Exception as exc:
        record["mps_available"] = False
        record["mps_error"] = f"{type(exc).__name__}: {exc}"[:500]
    return record


def main(argv: list[str]) -> int:
    with_torch = "--torch" in argv
    names = [a for a in argv if a != "--torch"]
    emit(env_record(names, add_user_site()))
    if with_torch:
        emit(torch_record())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
