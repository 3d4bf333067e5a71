"""`rlswarm-rules init [DIR]`: a node folder that works wherever it is.

It gets `rules/` (copies of the shipped packs with their tests, to read and change,
and `starter.yaml` for the user's own rules), `channels.yaml` (the built-in terminal
and journal channels, the common services commented out), an empty `.env` for
secrets (mode 600) that `.gitignore` keeps out of git with the state folder, and
`schema/` with the JSON Schemas, which the modeline at the top of every file points
to by a relative path, so an editor validates them wherever the folder is moved.

A file that exists is kept as it is (and said so) unless `force`; `.env` and
`.gitignore` are never overwritten (`.gitignore` gets the lines it lacks).

May import: errors, places
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine import places

TEMPLATES = places.PACKAGE / "templates"
SCHEMAS = ("rules", "packtest", "channels")
IGNORED = (".env", ".rlswarm/")
_MODELINE = re.compile(r"^# yaml-language-server: \$schema=\S+", re.MULTILINE)
ENV_TEXT = (
    "# Secrets for channels.yaml: NAME=value, one a line (channels.yaml says ${NAME}).\n"
    "# Readable by you alone (mode 600) and ignored by git; `rlswarm-rules channels add`\n"
    "# writes here.\n"
)


@dataclass
class Report:
    """What `init` did, file by file (paths relative to the folder)."""

    folder: Path
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _with_modeline(text: str, schema: str) -> str:
    line = f"# yaml-language-server: $schema={schema}"
    if _MODELINE.search(text):
        return _MODELINE.sub(line, text, count=1)
    return f"{line}\n{text}"


def _put(report: Report, relative: str, text: str, force: bool, mode: int | None = None) -> None:
    path = report.folder / relative
    if path.exists() and not force:
        report.kept.append(relative)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        path.write_text(text, encoding="utf-8")
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(path, mode)
    report.written.append(relative)


def _gitignore(report: Report) -> None:
    path = report.folder / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    have = {line.strip() for line in text.splitlines()}
    missing = [entry for entry in IGNORED if entry not in have]
    if not missing:
        report.kept.append(".gitignore")
        return
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + "".join(f"{entry}\n" for entry in missing), encoding="utf-8")
    report.written.append(".gitignore")


def init(folder: Path, force: bool = False) -> Report:
    """Set up `folder` (made if missing); OSError when it cannot be written."""
    folder.mkdir(parents=True, exist_ok=True)
    report = Report(folder)
    for name in SCHEMAS:
        schema = places.shipped_schema(name).read_text(encoding="utf-8")
        _put(report, f"schema/{name}.schema.json", schema, force)
    shipped = places.shipped_rules()
    for pack in sorted(shipped.glob("*.yaml")):
        text = _with_modeline(pack.read_text(encoding="utf-8"), "../schema/rules.schema.json")
        _put(report, f"rules/{pack.name}", text, force)
    for test in sorted((shipped / "tests").glob("*.yaml")):
        text = test.read_text(encoding="utf-8")
        text = _with_modeline(text, "../../schema/packtest.schema.json")
        _put(report, f"rules/tests/{test.name}", text, force)
    channels = (TEMPLATES / "channels.yaml").read_text(encoding="utf-8")
    _put(report, "channels.yaml", channels, force)
    _put(report, ".env", ENV_TEXT, False, mode=0o600)
    _gitignore(report)
    return report

