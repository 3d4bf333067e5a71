"""The checks: pure functions from collected facts to findings, each with the exact fix.

A check is one entry of `CHECKS`: it reads `Facts` and yields `Finding`s; it
reads no clock, file or socket. The interpreter's checks live in
`interpreter_checks`, the machine's in `machine_checks`; sources of version
ranges are named where they are used (and in docs/doctor.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engine.doctor.facts import Facts, Finding, Report
from engine.doctor.interpreter_checks import (
    accelerate_empty_loader,
    accelerate_unsloth,
    cuda_check,
    mps_check,
    mps_watermarks,
    python_check,
    torch_check,
)
from engine.doctor.machine_checks import (
    disk_check,
    hf_cache_check,
    hosts_check,
    memory_check,
    scripts_check,
)

Check = Callable[[Facts], Iterable[Finding]]

CHECKS: tuple[Check, ...] = (
    python_check,
    accelerate_empty_loader,
    accelerate_unsloth,
    torch_check,
    cuda_check,
    mps_check,
    mps_watermarks,
    memory_check,
    disk_check,
    hf_cache_check,
    hosts_check,
    scripts_check,
)


def evaluate(facts: Facts, checks: Iterable[Check] = CHECKS) -> Report:
    """All findings, the most severe first (in check order within a severity)."""
    findings = [f for check in checks for f in check(facts)]
    findings.sort(key=lambda f: -f.severity)
    return Report(facts.python, findings)
