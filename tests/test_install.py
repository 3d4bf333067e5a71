"""Installed like a Python tool: the wheel, built from this checkout and installed into a
fresh virtual environment, works from a folder that has nothing of the clone.

Offline: the wheel is built with the setuptools already installed (`--no-build-isolation
--no-index`) and installed with `--no-deps`; the new environment sees the dependencies
through a `.pth` line naming this environment's site-packages, which comes after its own
(so the `engine` imported is the installed one, never this checkout: checked). Everything
runs with this checkout off `PYTHONPATH`, from a temporary folder.

One test: building and installing take about 4 s here, the commands about 30 s (most of
it the demo training up to its crash), on a shared 2-core machine.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {".venv", ".git", "build", "dist", "test-artifacts", "__pycache__", ".rlswarm"}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    home: Path  # a HOME of its own: no user config

    @property
    def tool(self) -> Path:
        return self.venv / "bin" / "rlswarm-rules"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["HOME"] = str(self.home)
        env.pop("XDG_CONFIG_HOME", None)
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["RLSWARM_DASHBOARD_PORT"] = "0"
        return env

    def run(
        self,
        cwd: Path,
        *args: str,
        stdin: bytes | None = None,
        timeout: float = 300,
        child_traceback: bool = False,  # the training's own, expected
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.tool), *args],
            cwd=cwd,
            env=self.env(),
            input=stdin,
            capture_output=True,
            timeout=timeout,
        )
        out = proc.stdout.decode(errors="replace")
        err = proc.stderr.decode(errors="replace")
        if not child_traceback:
            assert "Traceback" not in out + err, (args, out, err)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _source_copy(into: Path) -> Path:
    """The checkout's files as a fresh clone has them (the build writes next to them)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
    )
    src = into / "src"
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            if name and (ROOT / name).is_file():
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, src / name)
    else:  # not a git checkout: everything but what a build or a run leaves behind
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*SKIPPED, "*.egg-info"))
    return src


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("install")
    src = _source_copy(base)
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist, src],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("rlswarm_rules-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(  # before the dependencies are visible: pip sees no other install
        [*pip, "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
        check=True,
        capture_output=True,
        env=clean,
    )
    ours = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "shared-dependencies.pth").write_text(ours + "\n")
    home = base / "home"
    home.mkdir()
    yield Installed(wheel, venv, home)


def test_the_wheel_installed_works_from_any_folder(installed: Installed, tmp_path: Path) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert "engine/rules/rlswarm.yaml" in names and "engine/rules/tests/host.test.yaml" in names
    assert "engine/supervise/presets/rlswarm.yaml" in names and "engine/demo/demo.yaml" in names
    assert "engine/templates/channels.yaml" in names
    assert {"engine/schema/rules.schema.json", "engine/schema/channels.schema.json"} <= set(names)
    assert not [n for n in names if n.startswith("rules/")]  # another project's import name

    where = subprocess.run(
        [installed.venv / "bin" / "python", "-c", "import engine; print(engine.__file__)"],
        cwd=tmp_path,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(installed.venv)), where  # the installed copy, not the clone

    empty = tmp_path / "empty"
    empty.mkdir()
    lint = installed.run(empty, "lint")
    assert lint.returncode == 0, lint.stderr
    packs = len([n for n in names if re.fullmatch(r"engine/rules/[^/]+\.yaml", n)])
    assert packs >= 4 and f"rules in {packs} files: ok" in lint.stderr

    log = b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
    replay = installed.run(empty, "replay", "-", stdin=gzip.compress(log))
    assert replay.returncode == 0, replay.stderr
    assert "cuda-oom" in replay.stdout

    doctor = installed.run(empty, "doctor", "--hosts", "127.0.0.1:9", "--timeout", "1s")
    assert doctor.returncode in (0, 1), doctor.stderr
    assert "127.0.0.1:9" in doctor.stdout

    # the demo (its script and rules inside the package), made to crash at its 4th epoch
    # rather than train its 48 s to the end
    crash = ("--no-dashboard", "--demo-fault", "crash")
    demo = installed.run(empty, "run", *crash, child_traceback=True)
    assert demo.returncode == 1, demo.stderr
    assert "(built in)" in demo.stderr and "CRITICAL python-exception" in demo.stderr

    node = tmp_path / "rl-swarm"
    node.mkdir()
    launcher = node / "run_rl_swarm.sh"
    launcher.write_text(
        textwrap.dedent(
            """\
            #!/usr/bin/env bash
            read -p ">> Would you like to connect to the Testnet? [Y/n] " yn
            echo "answered: $yn"
            """
        )
    )
    launcher.chmod(0o755)
    launched = installed.run(node, "run", "--no-dashboard", "--", "./run_rl_swarm.sh", timeout=120)
    assert launched.returncode == 0, launched.stderr
    assert "answered: Y" in launched.stdout
    assert "preset rlswarm" in launched.stderr

    init = installed.run(tmp_path, "init", "mynode")
    assert init.returncode == 0, init.stderr
    folder = tmp_path / "mynode"
    assert (folder / ".env").stat().st_mode & 0o777 == 0o600
    assert (folder / "rules" / "starter.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../schema/rules.schema.json"
    )
    assert (folder / "schema" / "rules.schema.json").is_file()
    tested = installed.run(folder, "channels", "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "console      ok" in tested.stdout and "journal      ok" in tested.stdout
    packs = installed.run(folder, "test")
    assert packs.returncode == 0, packs.stdout + packs.stderr
