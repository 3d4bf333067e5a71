"""What `doctor --fix` would change: the safe fixes for what the checks found, planned from
the facts (pure), each with the words shown before it is applied and how to undo it.

A fix is one `Fix` value; `repair` applies it (one function per `kind`, a registry). Only
fixes that cannot lose work are planned: a script's executable bit and line endings (the
original kept beside it), accelerate in the training's environment (pip, which can put the
old version back), the environment `run` gives the training (a preset file of the node
folder's), and the Hugging Face cache trimmed to a size (the least recently used models,
which are downloaded again when needed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.doctor.facts import Facts, Script, gib, release
from engine.doctor.interpreter_checks import mps_env_wanted
from engine.doctor.machine_checks import cache_warns

LOCAL_PRESET = "rlswarm-rules.preset.yaml"
"""The node folder's preset file: `run` applies it over the built-in preset."""
CACHE_MAX = 20 * 1024**3
"""What `doctor --fix` trims a Hugging Face cache to, when the cache check warns."""
EMPTY_LOADER_FIXED = "accelerate>=1.9"
UNSLOTH_PIN = "accelerate==1.7.0"  # RL-Swarm's requirements-gpu.txt, with unsloth


@dataclass(frozen=True)
class Fix:
    check: str  # the check whose finding it fixes
    kind: str  # which `repair` function applies it
    change: str  # what will change, said before it is applied
    undo: str  # how to put it back
    target: str  # the file, interpreter or folder it changes
    params: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class FixOptions:
    cwd: Path
    cache_max: int | None = None  # --cache-max: trim to this even when the check does not warn
    preset_env: Mapping[str, str | None] = field(default_factory=dict)  # the local preset's


def plan(facts: Facts, opts: FixOptions) -> list[Fix]:
    """Every fix that applies to `facts`, in the order they are applied."""
    return [
        *_scripts(facts.scripts, opts.cwd),
        *_accelerate(facts),
        *_mps_env(facts, opts),
        *_cache(facts, opts),
    ]


def _scripts(scripts: Sequence[Script], cwd: Path) -> Iterator[Fix]:
    for s in scripts:
        path = str(cwd / s.path)
        if s.crlf:
            yield Fix(
                "scripts", "crlf", f"{s.path}: Windows line endings (CRLF) made Unix (LF); "
                f"the original kept as {s.path}.crlf", f"mv {s.path}.crlf {s.path}", path,
            )  # fmt: skip
        if not s.executable:
            yield Fix(
                "scripts", "chmod", f"{s.path}: made executable (chmod +x)",
                f"chmod -x {s.path}", path,
            )  # fmt: skip


def _accelerate(facts: Facts) -> Iterator[Fix]:
    py = facts.python
    version = py.packages.get("accelerate")
    rel = release(version) or ()
    if not py.ok or not version:
        return
    if py.packages.get("unsloth") and (1, 8) <= rel < (1, 9):
        wanted, check = UNSLOTH_PIN, "accelerate-unsloth"
    elif (1, 6, 0) <= rel <= (1, 8, 1):
        wanted, check = EMPTY_LOADER_FIXED, "accelerate-empty-loader"
    else:
        return
    yield Fix(
        check, "pip", f"accelerate {version} replaced by {wanted} in {py.path} (pip install)",
        f"{py.path} -m pip install accelerate=={version}", py.path, {"requirement": wanted},
    )  # fmt: skip


def _mps_env(facts: Facts, opts: FixOptions) -> Iterator[Fix]:
    wanted = {k: v for k, v in mps_env_wanted(facts).items() if opts.preset_env.get(k, "") != v}
    if not wanted:
        return
    shown = ", ".join(f"{k}={v}" if v is not None else f"{k} unset" for k, v in wanted.items())
    yield Fix(
        "mps-env", "preset-env",
        f"{LOCAL_PRESET}: `run` gives the training {shown} (your shell is left as it is)",
        f"remove {', '.join(wanted)} from 'env' in {LOCAL_PRESET}",
        str(opts.cwd / LOCAL_PRESET), wanted,
    )  # fmt: skip


def _cache(facts: Facts, opts: FixOptions) -> Iterator[Fix]:
    for cache in facts.hf_cache:
        limit = opts.cache_max if opts.cache_max is not None else _warn_limit(facts, cache.size)
        if not cache.exists or limit is None or cache.size <= limit:
            continue
        yield Fix(
            "hf-cache", "trim-cache",
            f"{cache.path}: the least recently used models deleted until the cache holds at "
            f"most {gib(limit)} (it holds {gib(cache.size)})",
            "nothing to undo: a deleted model is downloaded again when a training needs it",
            cache.path, {"max_bytes": str(limit)},
        )  # fmt: skip


def _warn_limit(facts: Facts, size: int) -> int | None:
    """`CACHE_MAX` when the cache check warns about this size, else None (nothing to trim)."""
    return CACHE_MAX if cache_warns(facts, size) else None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """`20G`, `20GB`, `20GiB`, `500M` (powers of 1024) as bytes; ValueError otherwise."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a size such as 20G or 500M")
    power = " kmgt".index(m[2].lower() or " ")
    return int(float(m[1]) * 1024**power)
