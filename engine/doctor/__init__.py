"""`rlswarm-rules doctor`: pre-flight checks of a machine and a training environment.

    report = doctor.run(doctor.Options(python=".venv/bin/python"))
    lines = doctor.render.text(report)        # or doctor.render.as_json(report)

`collect` and `hosts` gather facts (a subprocess in the training interpreter,
psutil, sockets, the file system); `checks` turns facts into findings and is
pure; `render` formats the report. `fixes` plans the safe fixes of what the checks
found (pure) and `repair` applies them (`doctor --fix`). See docs/doctor.md. `probe_env`
is run by path in the training's interpreter and imports nothing of engine.

May import: model, errors
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.doctor import collect, render, repair
from engine.doctor.checks import CHECKS, evaluate
from engine.doctor.facts import (
    DEFAULT_HOSTS,
    PACKAGES,
    Facts,
    Finding,
    Host,
    Report,
    parse_host,
)
from engine.doctor.fixes import LOCAL_PRESET, Fix, FixOptions, parse_size, plan
from engine.doctor.hosts import HostCheck
from engine.errors import DoctorError

__all__ = [
    "CHECKS",
    "DEFAULT_HOSTS",
    "DEFAULT_TARGETS",
    "LOCAL_PRESET",
    "DoctorError",
    "Facts",
    "Finding",
    "Fix",
    "FixOptions",
    "Host",
    "Options",
    "Report",
    "collect_facts",
    "evaluate",
    "examine",
    "interpreter",
    "parse_host",
    "parse_size",
    "plan",
    "render",
    "repair",
    "run",
]


DEFAULT_TARGETS = tuple(parse_host(h) for h in DEFAULT_HOSTS)


@dataclass(frozen=True)
class Options:
    python: str | None = None  # None: .venv/bin/python in cwd, else python3 on PATH
    hosts: Sequence[Host] = DEFAULT_TARGETS
    host_timeout: float = 3.0
    torch_timeout: float = 30.0  # 0: do not import torch
    cwd: Path = field(default_factory=Path.cwd)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    home: Path = field(default_factory=Path.home)
    cache_budget: float = 5.0  # seconds for measuring the Hugging Face cache
    packages: Sequence[str] = PACKAGES


def interpreter(opts: Options) -> str:
    """The interpreter to inspect, as a path; DoctorError when there is none."""
    if opts.python is None:
        found = collect.default_python(opts.cwd)
        if found is None:
            raise DoctorError(
                "no .venv/bin/python here and no python3 on PATH: "
                "pass the training interpreter with --python PATH"
            )
        return found
    given = Path(opts.python).expanduser()
    if not given.is_absolute() and os.sep not in opts.python:
        return shutil.which(opts.python) or _missing(opts.python)
    path = given if given.is_absolute() else opts.cwd / given
    return str(path) if path.is_file() else _missing(opts.python)


def _missing(python: str) -> str:
    raise DoctorError(f"--python {python}: no such interpreter")


def collect_facts(opts: Options) -> Facts:
    python = interpreter(opts)
    hosts = HostCheck(opts.hosts, opts.host_timeout).start()  # in parallel with the rest
    probe_timeout = opts.torch_timeout or 15.0
    facts_python = collect.run_probe(
        python, opts.packages, probe_timeout, opts.torch_timeout > 0, opts.env, opts.cwd
    )
    caches = [
        collect.dir_size(d, opts.cache_budget) for d in collect.hf_cache_dirs(opts.env, opts.home)
    ]
    return Facts(
        python=facts_python,
        system=collect.system(),
        env=collect.environment(opts.env),
        memory=collect.memory(),
        disks=collect.disks([opts.cwd, *(Path(c.path) for c in caches)]),
        hf_cache=caches,
        nvidia=collect.nvidia(),
        scripts=collect.scripts(opts.cwd),
        hosts=hosts.results(),
        host_timeout=opts.host_timeout,
    )


def run(opts: Options) -> Report:
    return evaluate(collect_facts(opts))


def examine(opts: Options) -> tuple[Facts, Report]:
    """The facts and the report drawn from them (`--fix` plans from the facts)."""
    facts = collect_facts(opts)
    return facts, evaluate(facts)
