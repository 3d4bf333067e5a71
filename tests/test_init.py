"""`rlswarm-rules init [DIR]`: a node folder whose files work and validate wherever it is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from engine.notify import channels as channelconf
from engine.packs import yamlio

ROOT = Path(__file__).resolve().parent.parent
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


def init(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "init", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_init_makes_a_folder_whose_modelines_point_at_its_own_schemas(tmp_path: Path) -> None:
    proc = init(tmp_path, "node")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "node"
    moved = tmp_path / "elsewhere" / "node"  # the folder works wherever it is
    moved.parent.mkdir()
    folder.rename(moved)
    files = [*moved.glob("rules/**/*.yaml"), moved / "channels.yaml"]
    assert len(files) >= 9
    for path in files:
        schema = MODELINE.search(path.read_text())
        assert schema is not None, path
        assert (path.parent / schema.group(1)).resolve().is_file(), path
    assert (moved / ".env").stat().st_mode & 0o777 == 0o600
    assert (moved / ".gitignore").read_text().splitlines() == [".env", ".rlswarm/"]
    lint = subprocess.run(
        [sys.executable, "-m", "engine", "lint"], cwd=moved, capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_init_keeps_what_is_there(tmp_path: Path) -> None:
    (tmp_path / "channels.yaml").write_text("channels:\n  - name: mine\n    url: console://\n")
    (tmp_path / ".gitignore").write_text("node_modules/\n.env")
    proc = init(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "kept as they were: channels.yaml" in proc.stdout
    assert "this folder is ready" in proc.stdout
    assert "mine" in (tmp_path / "channels.yaml").read_text()
    assert (tmp_path / ".gitignore").read_text() == "node_modules/\n.env\n.rlswarm/\n"
    (tmp_path / "rules" / "starter.yaml").write_text("# mine\n")
    again = init(tmp_path)
    assert (tmp_path / "rules" / "starter.yaml").read_text() == "# mine\n"
    assert "rules/starter.yaml" in again.stdout
    forced = init(tmp_path, "--force")
    assert forced.returncode == 0
    assert (tmp_path / "rules" / "starter.yaml").read_text() != "# mine\n"


def test_the_template_is_the_repository_channels_file() -> None:
    """engine/templates/channels.yaml (what `init` writes) and the clone's channels.yaml
    differ only in the modeline and in how the commands are spelled."""
    template = (ROOT / "engine" / "templates" / "channels.yaml").read_text().splitlines()
    clone = (ROOT / "channels.yaml").read_text().splitlines()
    assert len(template) == len(clone)
    differ = [i for i, (a, b) in enumerate(zip(template, clone, strict=True)) if a != b]
    for i in differ:
        assert i == 0 or "rlswarm-rules" in clone[i] or "docs/" in clone[i], clone[i]
    parsed = channelconf.parse(yamlio.parse("\n".join(template), "channels.yaml"), {})
    assert parsed.names == ["console", "journal"]
