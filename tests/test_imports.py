"""Each command imports only what it uses (a guard, not a timing test).

Every case runs a real command in a fresh interpreter, through the same entry point as the
`rlswarm-rules` script, and lists the modules loaded by the time it exits. `replay` must not load
Apprise, aiohttp, jsonschema or the delivery and dashboard code (about 0.3 s of a start once);
`--help` loads no library at all; `run --no-dashboard` no web server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
R200 = ROOT / "bench" / "rules" / "r200"

_RUN = """
import atexit, json, sys
out, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from engine.cli.main import main
sys.argv = ["rlswarm-rules", *args]
main()
"""

LIBRARIES = {"yaml", "apprise", "aiohttp", "jsonschema", "prometheus_client", "requests", "psutil"}
DELIVERY = {
    "engine.notify.channels",
    "engine.notify.delivery",
    "engine.supervise.session",
    "engine.web.server",
}
HEAVY = LIBRARIES | DELIVERY | {"hyperscan", "engine.core.engine", "engine.packs.compile", "numpy"}


def modules_of(args: list[str], cwd: Path, tmp_path: Path) -> tuple[set[str], str]:
    """The modules `rlswarm-rules ARGS` loaded, and what it printed."""
    out = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RLSWARM_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(out), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists(), done.stderr
    return set(json.loads(out.read_text())), done.stdout + done.stderr


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "train.log"
    lines = [
        "[2025-07-08 22:30:22,477][INFO] Joining round: 12",
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.32 GiB. GPU 0",
        "[2025-07-08 22:31:22,477][INFO] Joining round: 13",
    ]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return log


@pytest.mark.parametrize("fmt", ["jsonl", "text"])
def test_replay_loads_no_delivery_no_dashboard_no_jsonschema(tmp_path: Path, fmt: str) -> None:
    args = ["replay", "--rules", str(R200), "--format", fmt, str(_log(tmp_path))]
    loaded, output = modules_of(args, tmp_path, tmp_path)
    assert "cuda-oom" in output, output  # it did replay, and found the OOM line
    assert {"engine.authoring.replay", "engine.core.engine", "yaml"} <= loaded
    assert not loaded & (LIBRARIES - {"yaml"}), sorted(loaded & LIBRARIES)
    assert not loaded & DELIVERY, sorted(loaded & DELIVERY)
    board = {"engine.web.server", "engine.web.publish", "engine.web.status", "engine.web.metrics"}
    assert not loaded & board  # engine.web.dashboard is only the options `run --help` shows
    assert not {m for m in loaded if m.startswith("engine.doctor")}


def test_replay_with_a_bad_pack_still_explains_it(tmp_path: Path) -> None:
    """jsonschema is loaded only for a pack that does not fit, and the message is the usual one."""
    bad = ROOT / "tests" / "bad_packs" / "014-unknown-rule-key.yaml"
    expected = (bad.with_suffix(".expect")).read_text("utf-8").strip()
    loaded, output = modules_of(
        ["replay", "--rules", "tests/bad_packs/014-unknown-rule-key.yaml", str(_log(tmp_path))],
        ROOT,
        tmp_path,
    )
    assert expected in output, output
    assert "jsonschema" in loaded


@pytest.mark.parametrize(
    "args", [["--help"], ["replay", "--help"], ["run", "--help"], ["lint", "--help"]]
)
def test_help_loads_no_library(tmp_path: Path, args: list[str]) -> None:
    loaded, output = modules_of(args, tmp_path, tmp_path)
    assert "Usage:" in output
    assert not loaded & HEAVY, sorted(loaded & HEAVY)


def test_run_without_dashboard_loads_no_web_server(tmp_path: Path) -> None:
    loaded, output = modules_of(["run", "--no-dashboard", "--", "true"], tmp_path, tmp_path)
    assert "exit code 0" in output, output
    assert "engine.notify.delivery" in loaded  # alerts still go out
    web = {"aiohttp", "prometheus_client", "jsonschema", "engine.web.server"}
    assert not loaded & web, sorted(loaded & web)
