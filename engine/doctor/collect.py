"""Collectors: the only part of doctor that looks at the machine.

Each returns plain facts (`engine.doctor.facts`); time limits and the clock
are parameters. The training interpreter is inspected by running
`engine/doctor/probe_env.py` in it (`python -I`), never by importing anything into
this process.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

from engine.doctor import probe_env
from engine.doctor.facts import (
    ENV_VARS,
    CacheSize,
    Disk,
    Memory,
    Nvidia,
    PythonFacts,
    Script,
    TorchFacts,
)

PROBE = Path(probe_env.__file__).resolve()  # run by path in the target; imported here for MARKER
MARKER = probe_env.MARKER
SCRIPTS = ("run_rl_swarm.sh",)

Clock = Callable[[], float]


def default_python(cwd: Path, which: Callable[[str], str | None] = shutil.which) -> str | None:
    """`.venv/bin/python` in the working directory, else the first `python3` on PATH."""
    venv = cwd / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else which("python3")


def run_probe(
    python: str,
    packages: Sequence[str],
    timeout: float,
    with_torch: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> PythonFacts:
    """Run probe_env.py in `python`; after `timeout` seconds keep what it has said so far."""
    cmd = [python, "-I", str(PROBE), *(["--torch"] if with_torch else []), *packages]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,  # its own group: a timeout kills whatever it started
        )
    except OSError as exc:
        return PythonFacts(python, ok=False, error=exc.strerror or str(exc))
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        out, err = _kill(proc)
    except BaseException:  # Ctrl-C: its own session did not get the signal
        _kill(proc)
        raise
    return parse_probe(python, out, err, proc.returncode, timed_out, timeout, with_torch)


def _kill(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        return proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a grandchild outside the group holds the pipes
        proc.kill()
        return b"", b""


def parse_probe(
    python: str,
    out: bytes,
    err: bytes,
    returncode: int | None,
    timed_out: bool,
    timeout: float,
    with_torch: bool,
) -> PythonFacts:
    """The probe's records (after the marker, one a line) as facts; pure."""
    records: dict[str, dict[str, Any]] = {}
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith(MARKER):
            try:
                record = json.loads(line[len(MARKER) :])
            except ValueError:
                continue
            if isinstance(record, dict):
                records[str(record.get("kind"))] = record
    env = records.get("env")
    if env is None:
        why = f"no answer within {timeout:g}s" if timed_out else _failure(returncode, err)
        return PythonFacts(python, ok=False, error=why)
    packages = env.get("packages") or {}
    return PythonFacts(
        path=python,
        version=str(env.get("python_version", "")),
        system=str(env.get("system", "")),
        machine=str(env.get("machine", "")),
        packages={str(k): (str(v) if v else None) for k, v in packages.items()},
        prepare_calls_is_torch_version=env.get("prepare_calls_is_torch_version"),
        torch=_torch(records.get("torch"), with_torch, timed_out, returncode, err),
    )


def _torch(
    rec: dict[str, Any] | None, asked: bool, timed_out: bool, rc: int | None, err: bytes
) -> TorchFacts:
    if not asked:
        return TorchFacts(status="skipped")
    if rec is None:
        return TorchFacts("timeout") if timed_out else TorchFacts("error", error=_failure(rc, err))
    if rec.get("absent"):
        return TorchFacts(status="absent")
    if "error" in rec:
        return TorchFacts(status="error", error=str(rec["error"]))
    return TorchFacts(
        status="ok",
        version=str(rec.get("version", "")),
        import_seconds=rec.get("import_seconds"),
        cuda_build=rec.get("cuda_build"),
        cuda_available=bool(rec.get("cuda_available")),
        cuda_devices=tuple(str(d) for d in rec.get("cuda_devices") or ()),
        mps_built=bool(rec.get("mps_built")),
        mps_available=bool(rec.get("mps_available")),
    )


def _failure(returncode: int | None, err: bytes) -> str:
    lines = [s for s in err.decode("utf-8", "replace").splitlines() if s.strip()]
    if returncode is not None and returncode < 0:
        code = f"killed by {signal.Signals(-returncode).name}"
    else:
        code = f"exit code {returncode}"
    return f"{code}: {lines[-1].strip()}" if lines else code


def memory() -> Memory:
    vm, sw = psutil.virtual_memory(), psutil.swap_memory()
    return Memory(total=vm.total, available=vm.available, swap_total=sw.total, swap_used=sw.used)


def hf_cache_dirs(env: Mapping[str, str], home: Path) -> list[Path]:
    """HF_HOME (else $XDG_CACHE_HOME/huggingface, ~/.cache/huggingface), and the hub cache
    when HF_HUB_CACHE puts it elsewhere."""
    xdg = Path(env.get("XDG_CACHE_HOME") or home / ".cache")
    hf_home = Path(env.get("HF_HOME") or xdg / "huggingface").expanduser()
    hub = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
    dirs = [hf_home]
    if hub and not Path(hub).expanduser().resolve().is_relative_to(hf_home.resolve()):
        dirs.append(Path(hub).expanduser())
    return dirs


def dir_size(path: Path, budget: float, clock: Clock = time.monotonic) -> CacheSize:
    """Bytes in regular files under `path` (symlinks not followed), within `budget` seconds."""
    if not path.is_dir():
        return CacheSize(str(path), exists=False)
    deadline = clock() + budget
    total, pending = 0, [str(path)]
    while pending:
        if clock() > deadline:
            return CacheSize(str(path), True, total, complete=False)
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return CacheSize(str(path), True, total)


def disks(paths: Sequence[Path]) -> list[Disk]:
    """Free space of each file system holding one of `paths` (or its nearest existing parent)."""
    seen: set[int] = set()
    result = []
    for p in paths:
        existing = next((q for q in (p, *p.parents) if q.exists()), Path("/"))
        dev = existing.stat().st_dev
        if dev not in seen:
            seen.add(dev)
            usage = psutil.disk_usage(str(existing))
            result.append(Disk(str(existing), usage.free, usage.total))
    return result


def nvidia(
    which: Callable[[str], str | None] = shutil.which, timeout: float = 5.0
) -> Nvidia | None:
    """GPU names from `nvidia-smi`; None when it is not installed."""
    exe = which("nvidia-smi")
    if exe is None:
        return None
    cmd = [exe, "--query-gpu=name", "--format=csv,noheader"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Nvidia(ok=False, error=type(exc).__name__)
    lines = [s.strip() for s in done.stdout.splitlines() if s.strip()]
    if done.returncode != 0:
        last = (done.stdout + done.stderr).strip().splitlines()
        return Nvidia(ok=False, error=last[-1] if last else f"exit code {done.returncode}")
    return Nvidia(ok=True, gpus=tuple(lines))


def scripts(cwd: Path, names: Sequence[str] = SCRIPTS) -> list[Script]:
    found = []
    for name in names:
        path = cwd / name
        if path.is_file():
            with path.open("rb") as f:
                head = f.read(65536)
            found.append(Script(name, os.access(path, os.X_OK), crlf=b"\r\n" in head))
    return found


def environment(env: Mapping[str, str]) -> dict[str, str]:
    return {k: env[k] for k in ENV_VARS if k in env}


def system() -> str:
    return platform.system()
