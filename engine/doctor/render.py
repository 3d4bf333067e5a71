"""A doctor report as text (versions table, then findings grouped by severity) or JSON."""

from __future__ import annotations

from typing import Any

from engine.doctor.facts import PACKAGES, Finding, PythonFacts, Report, TorchFacts
from engine.model import Severity

_GROUPS = (Severity.CRITICAL, Severity.WARNING, Severity.INFO)


def torch_summary(torch: TorchFacts) -> str:
    if torch.status == "timeout":
        return "import timed out: CUDA/MPS not checked"
    if torch.status == "error":
        return f"import fails: {torch.error}"
    if torch.status != "ok":
        return ""
    build = f"CUDA {torch.cuda_build} build" if torch.cuda_build else "CPU build"
    cuda = "yes" if torch.cuda_available else "no"
    mps = "yes" if torch.mps_available else "no"
    return f"{build}, CUDA available: {cuda}, MPS available: {mps}"


def versions_table(py: PythonFacts) -> list[str]:
    names = [*PACKAGES, *(n for n in py.packages if n not in PACKAGES)]
    width = max(len(n) for n in names)
    lines = []
    for name in names:
        version = py.packages.get(name) or "-"
        extra = torch_summary(py.torch) if name == "torch" else ""
        lines.append(f"  {name:<{width}}  {version:<12} {extra}".rstrip())
    return lines


def finding_line(f: Finding) -> str:
    return f"  {f.check}: {f.message}" + (f" -> fix: {f.fix}" if f.fix else "")


def text(report: Report) -> list[str]:
    py = report.python
    head = f"python: {py.path}"
    if py.ok:
        head += f" (Python {py.version}, {py.system} {py.machine})"
    lines = [head]
    if py.ok:
        lines += ["", *versions_table(py)]
    counts = []
    for severity in _GROUPS:
        group = [f for f in report.findings if f.severity is severity]
        if group:
            lines += ["", f"{severity.label.upper()} ({len(group)})"]
            lines += [finding_line(f) for f in group]
        plural = "s" if severity is Severity.WARNING and len(group) != 1 else ""
        counts.append(f"{len(group)} {severity.label}{plural}")
    return [*lines, "", ", ".join(counts)]


def finding_record(f: Finding) -> dict[str, str]:
    return {"check": f.check, "severity": f.severity.label, "message": f.message, "fix": f.fix}


def as_json(report: Report) -> dict[str, Any]:
    py = report.python
    torch = py.torch
    return {
        "python": py.path,
        "python_version": py.version or None,
        "versions": dict(py.packages),
        "torch": {
            "status": torch.status,
            "cuda_build": torch.cuda_build,
            "cuda_available": torch.cuda_available,
            "mps_available": torch.mps_available,
        },
        "findings": [finding_record(f) for f in report.findings],
    }
