"""`doctor --fix` on real environments made here: a venv with accelerate 1.8.1 (installed
from the registry, without its dependencies), a launch script with CRLF line endings and no
executable bit, a Hugging Face cache over its size; and the MPS settings that `run` then
gives the training through the node folder's preset. Each fix's undo is run too."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import doctor
from engine.doctor import repair
from engine.doctor.facts import CacheSize, Facts, PythonFacts, Script, TorchFacts
from engine.supervise import preset

SCRIPT = b"#!/bin/bash\r\necho \"node up\"\r\n"
MIB = 1024**2


def venv_with_accelerate(root: Path) -> str:
    """A venv whose pip is the base interpreter's (fast to make), with accelerate 1.8.1."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(root)],
        check=True,
    )
    python = str(root / "bin" / "python")
    done = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "accelerate==1.8.1"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot install accelerate 1.8.1 from the registry: {done.stderr[-300:]}")
    return python


def version(python: str, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version('{name}'))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


def hub_cache(root: Path) -> Path:
    """Three cached models of 1 MiB each, the first used longest ago."""
    hub = root / "hub"
    for age, name in enumerate(["models--a--old", "models--b--mid", "models--c--new"]):
        blob = hub / name / "blobs" / "x"
        blob.parent.mkdir(parents=True)
        blob.write_bytes(b"\0" * MIB)
        used = time.time() - (3 - age) * 86400
        os.utime(blob, (used, used))
    return root


def doctor_cli(
    args: list[str], cwd: Path, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "doctor", "--hosts", "127.0.0.1:9", "--timeout",
         "200ms", *args],
        cwd=cwd, env={**os.environ, **env}, input=stdin, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_fix_asks_first_and_changes_nothing_when_told_no(tmp_path: Path) -> None:
    script = tmp_path / "run_rl_swarm.sh"
    script.write_bytes(SCRIPT)
    script.chmod(0o644)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True)
    python = str(tmp_path / "v" / "bin" / "python")  # nothing installed: nothing to upgrade
    env = {"HF_HOME": str(tmp_path / "hf")}
    done = doctor_cli(["--fix", "--python", python], tmp_path, env, stdin="n\n")
    assert "doctor --fix will change 2 thing(s):" in done.stdout
    assert "Apply these fixes? [y/N]" in done.stderr
    assert "nothing changed (--yes applies them without asking)" in done.stdout
    assert script.read_bytes() == SCRIPT and script.stat().st_mode & 0o777 == 0o644
    assert done.returncode == 1  # the CRLF is still critical


def test_fix_on_a_real_venv_a_crlf_script_and_a_big_cache(tmp_path: Path) -> None:
    python = venv_with_accelerate(tmp_path / "venv")
    node = tmp_path / "node"
    node.mkdir()
    script = node / "run_rl_swarm.sh"
    script.write_bytes(SCRIPT)
    script.chmod(0o644)
    cache = hub_cache(tmp_path / "hf")
    env = {"HF_HOME": str(cache), "PIP_NO_DEPS": "1"}  # pip reads PIP_NO_DEPS: a fast install
    done = doctor_cli(["--fix", "--yes", "--python", python, "--cache-max", "1.5M"], node, env)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "doctor --fix will change 4 thing(s):" in out
    for line in [
        "  scripts: run_rl_swarm.sh: Windows line endings (CRLF) made Unix (LF); the original "
        "kept as run_rl_swarm.sh.crlf",
        "      undo: mv run_rl_swarm.sh.crlf run_rl_swarm.sh",
        "      undo: chmod -x run_rl_swarm.sh",
        f"  accelerate-empty-loader: accelerate 1.8.1 replaced by accelerate>=1.9 in {python} "
        "(pip install)",
        f"      undo: {python} -m pip install accelerate==1.8.1",
        f"  hf-cache: {cache}: the least recently used models deleted until the cache holds at "
        "most 2 MiB (it holds 3 MiB)",
        f"  fixed hf-cache: {cache} holds 1 MiB: deleted models--a--old, models--b--mid",
    ]:
        assert line in out, out
    assert "after the fixes: 0 critical" in out
    new = version(python, "accelerate")
    assert doctor.facts.release(new) >= (1, 9), new
    assert f"installed accelerate-{new} in {python}" in out
    run = subprocess.run(["./run_rl_swarm.sh"], cwd=node, capture_output=True, text=True)
    assert run.stdout == "node up\n"
    assert [p.name for p in (cache / "hub").iterdir()] == ["models--c--new"]
    # each undo, as printed, puts it back
    for undo in ["chmod -x run_rl_swarm.sh", "mv run_rl_swarm.sh.crlf run_rl_swarm.sh"]:
        subprocess.run(undo, shell=True, cwd=node, check=True)
    assert script.read_bytes() == SCRIPT and not os.access(script, os.X_OK)
    subprocess.run(f"{python} -m pip install -q accelerate==1.8.1", shell=True, check=True,
                   env={**os.environ, **env})  # fmt: skip
    assert version(python, "accelerate") == "1.8.1"


def apple(env: dict[str, str]) -> Facts:
    torch = TorchFacts(status="ok", version="2.7.0", mps_built=True, mps_available=True)
    python = PythonFacts("/venv/bin/python", system="Darwin", machine="arm64", torch=torch)
    return Facts(python=python, system="Darwin", env=env)


def test_mps_settings_go_to_the_preset_and_run_gives_them_to_the_training(
    tmp_path: Path,
) -> None:
    facts = apple({"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0.7"})  # torch: invalid low ratio 1.4
    [fix] = doctor.plan(facts, doctor.FixOptions(tmp_path))
    assert fix.check == "mps-env"
    assert fix.change == (
        "rlswarm-rules.preset.yaml: `run` gives the training PYTORCH_ENABLE_MPS_FALLBACK=1, "
        "PYTORCH_MPS_HIGH_WATERMARK_RATIO unset (your shell is left as it is)"
    )
    repair.apply(fix)
    local = preset.load(str(tmp_path / preset.LOCAL))
    assert dict(local.env) == {
        "PYTORCH_ENABLE_MPS_FALLBACK": "1",
        "PYTORCH_MPS_HIGH_WATERMARK_RATIO": None,
    }
    # the checks see what the training will get: nothing left to fix
    after = apple({"PYTORCH_ENABLE_MPS_FALLBACK": "1"})
    assert doctor.plan(after, doctor.FixOptions(tmp_path, preset_env=dict(local.env))) == []
    assert not [f for f in doctor.evaluate(after).findings if f.check == "mps-env"]
    show = (
        "echo fallback=$PYTORCH_ENABLE_MPS_FALLBACK high=${PYTORCH_MPS_HIGH_WATERMARK_RATIO-unset}"
    )
    done = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--no-dashboard", "--", "sh", "-c", show],
        cwd=tmp_path, env={**os.environ, "PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0.7"},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fallback=1 high=unset\n"
    assert (
        "preset rlswarm-rules.preset.yaml: 0 answers, keeping nothing, following no files, "
        "setting PYTORCH_ENABLE_MPS_FALLBACK=1, PYTORCH_MPS_HIGH_WATERMARK_RATIO"
    ) in done.stderr


def test_the_preset_file_keeps_what_it_had(tmp_path: Path) -> None:
    path = tmp_path / preset.LOCAL
    path.write_text("answers:\n  - {prompt: 'x\\?', answer: 'y'}\nenv:\n  HF_HUB_OFFLINE: '1'\n")
    fix = doctor.Fix("mps-env", "preset-env", "", "", str(path),
                     {"PYTORCH_ENABLE_MPS_FALLBACK": "1"})  # fmt: skip
    repair.apply(fix)
    local = preset.load(str(path))
    assert [a.text for a in local.answers] == ["y"]
    assert dict(local.env) == {"HF_HUB_OFFLINE": "1", "PYTORCH_ENABLE_MPS_FALLBACK": "1"}


def test_nothing_is_planned_for_a_healthy_machine(tmp_path: Path) -> None:
    python = PythonFacts("/venv/bin/python", packages={"accelerate": "1.9.0"})
    facts = Facts(
        python=python,
        scripts=[Script("run_rl_swarm.sh", executable=True)],
        hf_cache=[CacheSize(str(tmp_path), True, 3 * MIB)],
    )
    assert doctor.plan(facts, doctor.FixOptions(tmp_path)) == []
    unsloth = PythonFacts("/p", packages={"accelerate": "1.8.0", "unsloth": "2025.6.2"})
    [pin] = doctor.plan(Facts(python=unsloth), doctor.FixOptions(tmp_path))
    assert (pin.check, pin.params) == ("accelerate-unsloth", {"requirement": "accelerate==1.7.0"})


@pytest.mark.parametrize(
    "text,size", [("20G", 20 * 1024**3), ("20GiB", 20 * 1024**3), ("1.5M", int(1.5 * MIB)),
                  ("500mb", 500 * MIB), ("100", 100)],
)  # fmt: skip
def test_sizes(text: str, size: int) -> None:
    assert doctor.parse_size(text) == size


def test_a_bad_size_is_a_usage_error(tmp_path: Path) -> None:
    done = doctor_cli(["--fix", "--cache-max", "lots", "--python", sys.executable], tmp_path, {})
    assert done.returncode == 2
    assert "'lots' is not a size such as 20G or 500M" in done.stderr
