"""`doctor`: the probe in real (small, fake-package) environments, the checks from values.

Environments are real venvs (`python -m venv --without-pip`) whose
site-packages get dist-info folders with chosen versions, so the probe's
importlib.metadata sees exactly those. Network checks use loopback only.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from engine import doctor
from engine.doctor import collect, render
from engine.doctor.checks import evaluate
from engine.doctor.facts import (
    GIB,
    CacheSize,
    Disk,
    Facts,
    Host,
    Memory,
    Nvidia,
    PythonFacts,
    Script,
    TorchFacts,
    parse_host,
)
from engine.doctor.hosts import HostCheck
from engine.model import Severity

ROOT = Path(__file__).resolve().parent.parent
REAL_PYTHON = ROOT / ".venv" / "bin" / "python"

# --- fake environments ------------------------------------------------------------------------


class FakeEnv:
    def __init__(self, root: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        self.python = str(root / "bin" / "python")
        self.site = next((root / "lib").glob("python*/site-packages"))

    def install(self, name: str, version: str, files: dict[str, str] | None = None) -> FakeEnv:
        module = name.replace("-", "_")
        info = self.site / f"{module}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (self.site / module).mkdir(exist_ok=True)
        for rel, text in {"__init__.py": "", **(files or {})}.items():
            (self.site / module / rel).write_text(textwrap.dedent(text))
        return self

    def probe(self, timeout: float = 4.0, with_torch: bool = True) -> PythonFacts:
        return collect.run_probe(self.python, doctor.facts.PACKAGES, timeout, with_torch)


@pytest.fixture
def env(tmp_path: Path) -> FakeEnv:
    return FakeEnv(tmp_path / "venv")


def facts_for(py: PythonFacts, **kw: object) -> Facts:
    return Facts(python=py, **kw)  # type: ignore[arg-type]


def checks_of(facts: Facts, severity: Severity | None = None) -> list[str]:
    return [f.check for f in evaluate(facts).findings if severity is None or f.severity is severity]


def finding(facts: Facts, check: str) -> doctor.Finding:
    (found,) = [f for f in evaluate(facts).findings if f.check == check]
    return found


PY = PythonFacts("py", version="3.11.9", packages={"torch": "2.7.1"})

PREPARE_CALLS = """
class Accelerator:
    def prepare(self, *args):
        if is_torch_version("<", "2.7.0"):
            pass
        return args
"""
PREPARE_PLAIN = """
class Accelerator:
    def prepare(self, *args):
        return args
"""

# --- the probe, in real interpreters ----------------------------------------------------------


def test_probe_reads_versions_in_the_target_environment(env: FakeEnv) -> None:
    env.install("accelerate", "1.8.0").install("gensyn-genrl", "0.1.4")
    py = env.probe()
    assert py.ok, py.error
    assert py.path == env.python
    assert py.packages["accelerate"] == "1.8.0"
    assert py.packages["gensyn-genrl"] == "0.1.4"
    assert py.packages["torch"] is None and py.torch.status == "absent"
    assert py.version == ".".join(map(str, sys.version_info[:3]))


def test_accelerate_1_8_0_warns_about_the_empty_loader(env: FakeEnv) -> None:
    py = env.install("accelerate", "1.8.0").probe()
    f = finding(facts_for(py), "accelerate-empty-loader")
    assert f.severity is Severity.WARNING
    assert "1.8.0" in f.message and "current_batch" in f.message
    assert "rlswarm-rules run" in f.fix and "pip install 'accelerate>=1.9'" in f.fix


def test_accelerate_1_9_0_has_no_finding(env: FakeEnv) -> None:
    py = env.install("accelerate", "1.9.0").probe()
    assert "accelerate-empty-loader" not in checks_of(facts_for(py))


def test_unsloth_with_accelerate_that_calls_is_torch_version(env: FakeEnv) -> None:
    env.install("accelerate", "1.8.0", {"accelerator.py": PREPARE_CALLS})
    py = env.install("unsloth", "2025.6.2").probe()
    assert py.prepare_calls_is_torch_version is True
    f = finding(facts_for(py), "accelerate-unsloth")
    assert f.severity is Severity.CRITICAL
    assert "is_torch_version" in f.message and "accelerate==1.7.0" in f.fix


def test_unsloth_with_accelerate_1_7_0_is_fine(env: FakeEnv) -> None:
    env.install("accelerate", "1.7.0", {"accelerator.py": PREPARE_PLAIN})
    py = env.install("unsloth", "2025.6.2").probe()
    assert py.prepare_calls_is_torch_version is False
    assert "accelerate-unsloth" not in checks_of(facts_for(py))


FAST_TORCH = """
__version__ = "2.5.1"
class version:
    cuda = None
class cuda:
    @staticmethod
    def is_available(): return False
    @staticmethod
    def device_count(): return 0
class backends:
    class mps:
        @staticmethod
        def is_built(): return False
        @staticmethod
        def is_available(): return False
"""


def test_torch_facts_come_from_importing_it(env: FakeEnv) -> None:
    py = env.install("torch", "2.5.1", {"__init__.py": FAST_TORCH}).probe()
    assert py.torch == replace(py.torch, status="ok", version="2.5.1", cuda_build=None)
    assert not py.torch.cuda_available and not py.torch.mps_available
    gpu = Nvidia(ok=True, gpus=("NVIDIA GeForce RTX 4090",))
    f = finding(facts_for(py, nvidia=gpu), "cuda")
    assert f.severity is Severity.WARNING and "CPU build" in f.message
    assert "--index-url https://download.pytorch.org/whl/cu" in f.fix


def test_slow_torch_times_out_and_keeps_the_versions(env: FakeEnv) -> None:
    env.install("torch", "2.5.1", {"__init__.py": "import time\ntime.sleep(30)\n"})
    start = time.monotonic()
    py = env.install("accelerate", "1.9.0").probe(timeout=1.0)
    assert time.monotonic() - start < 3
    assert py.ok and py.packages["accelerate"] == "1.9.0"
    assert py.torch.status == "timeout"
    assert finding(facts_for(py), "torch").severity is Severity.INFO


def test_broken_torch_is_critical(env: FakeEnv) -> None:
    env.install("torch", "2.5.1", {"__init__.py": "raise ImportError('libcudnn.so.9: not found')"})
    py = env.probe()
    assert py.torch.status == "error" and "libcudnn" in py.torch.error
    assert finding(facts_for(py), "torch").severity is Severity.CRITICAL


def test_probe_ignores_pythonpath_and_imports_nothing_of_ours(env: FakeEnv, tmp_path: Path) -> None:
    trap = tmp_path / "trap"
    trap.mkdir()
    (trap / "json.py").write_text("raise SystemExit('shadowed stdlib')\n")
    (trap / "engine.py").write_text("raise SystemExit('imported our package')\n")
    py = collect.run_probe(env.python, ["accelerate"], 4.0, True, {"PYTHONPATH": str(trap)})
    assert py.ok, py.error


def test_an_interpreter_that_hangs_gives_a_critical_finding(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(0o755)
    start = time.monotonic()
    py = collect.run_probe(str(fake), ["torch"], 0.5)
    assert time.monotonic() - start < 3
    assert not py.ok and "no answer within 0.5s" in py.error
    assert finding(facts_for(py), "python").severity is Severity.CRITICAL


def test_not_a_python() -> None:
    py = collect.run_probe("/bin/false", ["torch"], 2.0)
    assert not py.ok and py.error == "exit code 1"


def test_parse_probe_skips_foreign_output() -> None:
    out = b"hello from a sitecustomize\nRLSWARM-DOCTOR {broken\n" + (
        b'RLSWARM-DOCTOR {"kind": "env", "python_version": "3.12.1", "packages": {"trl": "0.19"}}\n'
    )
    py = collect.parse_probe("py", out, b"Segmentation fault\n", -11, False, 5, True)
    assert py.ok and py.version == "3.12.1" and py.packages == {"trl": "0.19"}
    assert py.torch == TorchFacts("error", error="killed by SIGSEGV: Segmentation fault")


@pytest.mark.skipif(not REAL_PYTHON.exists(), reason="needs the project's .venv")
def test_the_real_venv(tmp_path: Path) -> None:
    """torch 2.13.0 CPU and accelerate 1.8.1, as pinned in constraints/tested.txt."""
    opts = doctor.Options(
        python=str(REAL_PYTHON),
        hosts=[],
        torch_timeout=0,  # importing the real torch takes 2-7 s here; the fakes cover it
        cwd=tmp_path,
        env={"HF_HOME": str(tmp_path / "hf")},
    )
    report = doctor.run(opts)
    assert report.python.packages["torch"] == "2.13.0+cpu"
    assert report.python.packages["accelerate"] == "1.8.1"
    assert report.python.prepare_calls_is_torch_version is True
    f = [f for f in report.findings if f.check == "accelerate-empty-loader"]
    assert f and f[0].severity is Severity.WARNING
    assert "accelerate-unsloth" not in [f.check for f in report.findings]  # no unsloth here


# --- collectors on the file system ------------------------------------------------------------


def test_script_modes(tmp_path: Path) -> None:
    script = tmp_path / "run_rl_swarm.sh"
    script.write_text("#!/usr/bin/env bash\necho hi\n")
    script.chmod(0o644)
    (found,) = collect.scripts(tmp_path)
    assert found == Script("run_rl_swarm.sh", executable=False)
    f = finding(facts_for(PY, scripts=[found]), "scripts")
    assert f.severity is Severity.WARNING and f.fix == "chmod +x run_rl_swarm.sh"

    script.chmod(0o755)
    assert collect.scripts(tmp_path) == [Script("run_rl_swarm.sh", executable=True)]
    assert "scripts" not in checks_of(facts_for(PY, scripts=collect.scripts(tmp_path)))

    script.write_bytes(b"#!/usr/bin/env bash\r\necho hi\r\n")
    f = finding(facts_for(PY, scripts=collect.scripts(tmp_path)), "scripts")
    assert f.severity is Severity.CRITICAL and "perl -pi -e" in f.fix


def test_no_script_no_finding(tmp_path: Path) -> None:
    assert collect.scripts(tmp_path) == []


@pytest.fixture
def hf_home(tmp_path: Path) -> Path:
    home = tmp_path / "hf"
    blobs = home / "hub" / "models--Gensyn--Qwen2.5-0.5B-Instruct" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / "a").write_bytes(b"x" * 3000)
    (blobs / "b").write_bytes(b"y" * 1000)
    snap = blobs.parent / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "model.safetensors").symlink_to(blobs / "a")  # not counted twice
    (home / "token").write_text("hf_xxx")  # 6 bytes
    return home


def test_hf_cache_size_under_hf_home(hf_home: Path, tmp_path: Path) -> None:
    (cache,) = [
        collect.dir_size(d, 5.0) for d in collect.hf_cache_dirs({"HF_HOME": str(hf_home)}, tmp_path)
    ]
    assert cache == CacheSize(str(hf_home), exists=True, size=4006)
    f = finding(facts_for(PY, hf_cache=[cache]), "hf-cache")
    assert f.severity is Severity.INFO and str(hf_home) in f.message


def test_hf_cache_default_and_separate_hub(tmp_path: Path) -> None:
    assert collect.hf_cache_dirs({}, tmp_path) == [tmp_path / ".cache" / "huggingface"]
    env = {"HF_HOME": str(tmp_path / "a"), "HF_HUB_CACHE": str(tmp_path / "b")}
    assert collect.hf_cache_dirs(env, tmp_path) == [tmp_path / "a", tmp_path / "b"]
    inside = {"HF_HOME": str(tmp_path / "a"), "HF_HUB_CACHE": str(tmp_path / "a" / "hub")}
    assert collect.hf_cache_dirs(inside, tmp_path) == [tmp_path / "a"]


def test_hf_cache_walk_stops_at_its_budget(hf_home: Path) -> None:
    ticks = iter(range(100))
    cache = collect.dir_size(hf_home, budget=1.5, clock=lambda: float(next(ticks)))
    assert cache.exists and not cache.complete and cache.size < 4006
    assert "at least" in finding(facts_for(PY, hf_cache=[cache]), "hf-cache").message


def test_missing_hf_cache(tmp_path: Path) -> None:
    assert collect.dir_size(tmp_path / "none", 5.0) == CacheSize(str(tmp_path / "none"), False)


def test_large_cache_and_low_disk_say_how_to_trim() -> None:
    py = replace(PY, packages={"huggingface-hub": "0.33.1"})
    facts = facts_for(
        py,
        hf_cache=[CacheSize("/h", True, 12 * GIB)],
        disks=[Disk("/", free=3 * GIB, total=100 * GIB)],
    )
    assert finding(facts, "disk").severity is Severity.CRITICAL
    assert finding(facts, "hf-cache").fix.endswith("huggingface-cli delete-cache")
    newer = replace(facts, python=replace(PY, packages={"huggingface-hub": "1.2.0"}))
    assert "hf cache rm" in finding(newer, "hf-cache").fix


def test_nvidia_smi_absent_and_failing(tmp_path: Path) -> None:
    assert collect.nvidia(which=lambda name: None) is None
    fake = tmp_path / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate "
        "with the NVIDIA driver.'\nexit 9\n"
    )
    fake.chmod(0o755)
    smi = collect.nvidia(which=lambda name: str(fake))
    assert smi is not None and not smi.ok and "could not communicate" in smi.error
    fake.write_text("#!/bin/sh\necho 'NVIDIA A100-SXM4-80GB'\necho 'NVIDIA A100-SXM4-80GB'\n")
    assert collect.nvidia(which=lambda name: str(fake)) == Nvidia(
        ok=True, gpus=("NVIDIA A100-SXM4-80GB",) * 2
    )


# --- hosts, on loopback -----------------------------------------------------------------------


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_hosts_open_and_closed(listening: int, closed_port: int) -> None:
    hosts = [Host("127.0.0.1", listening), Host("127.0.0.1", closed_port)]
    ok, refused = HostCheck(hosts, 1.0).start().results()
    assert ok.ok and ok.target == hosts[0]
    assert not refused.ok and refused.error == "connection refused"
    facts = facts_for(PY, hosts=[ok, refused])
    (bad,) = [f for f in evaluate(facts).findings if f.severity is Severity.WARNING]
    assert f"127.0.0.1:{closed_port} unreachable (connection refused)" in bad.message
    assert f"nc -vz 127.0.0.1 {closed_port}" in bad.fix


def test_hosts_that_hang_cost_one_timeout_in_all() -> None:
    gate = threading.Event()

    def hang(address: tuple[str, int], timeout: float) -> socket.socket:
        gate.wait(10)  # like a resolver that does not answer: ignores the timeout
        raise OSError("unreachable")

    hosts = [parse_host(h) for h in doctor.DEFAULT_HOSTS]
    start = time.monotonic()
    results = HostCheck(hosts, 0.3, connect=hang).start().results()
    gate.set()
    assert time.monotonic() - start < 1.0
    assert [r.error for r in results] == ["no answer within 0.3s"] * 3
    f = evaluate(facts_for(PY, hosts=results)).findings
    assert {x.severity for x in f} == {Severity.WARNING}
    assert "huggingface.co:443 unreachable" in f[0].message and "curl -sSI" in f[0].fix
    proxied = facts_for(PY, hosts=results, env={"HTTPS_PROXY": "http://proxy:3128"})
    assert {x.severity for x in evaluate(proxied).findings} == {Severity.INFO}


def test_parse_host() -> None:
    assert parse_host("huggingface.co") == Host("huggingface.co", 443)
    assert parse_host("127.0.0.1:8080") == Host("127.0.0.1", 8080)
    assert parse_host("[::1]:22") == Host("::1", 22)
    assert str(Host("::1", 22)) == "[::1]:22"
    for bad in ("", "a:b", "a:0", "a:70000", "a:1:2"):
        with pytest.raises(ValueError, match="HOST or HOST:PORT"):
            parse_host(bad)


# --- checks from values -----------------------------------------------------------------------

MAC = PythonFacts(
    "py",
    system="Darwin",
    machine="arm64",
    version="3.11.9",
    torch=TorchFacts("ok", version="2.7.1", mps_built=True, mps_available=True),
)


def mac(**env: str) -> Facts:
    return facts_for(MAC, env=env, system="Darwin")


def test_mps_fallback() -> None:
    assert finding(mac(), "mps-env").fix == "export PYTORCH_ENABLE_MPS_FALLBACK=1"
    assert "mps-env" not in checks_of(mac(PYTORCH_ENABLE_MPS_FALLBACK="1"))


@pytest.mark.parametrize(
    ("env", "severity", "text"),
    [
        ({"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0.8"}, Severity.CRITICAL, "invalid low watermark"),
        ({"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "3"}, Severity.CRITICAL, "invalid high watermark"),
        ({"PYTORCH_MPS_LOW_WATERMARK_RATIO": "1.8"}, Severity.CRITICAL, "invalid low watermark"),
        ({"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0.0"}, Severity.WARNING, "removes MPS's memory"),
        ({"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "off"}, Severity.WARNING, "not a number"),
        ({"PYTORCH_MPS_LOW_WATERMARK_RATIO": "-1"}, Severity.CRITICAL, "not between 0 and 1.7"),
    ],
)
def test_mps_watermarks(env: dict[str, str], severity: Severity, text: str) -> None:
    f = finding(mac(PYTORCH_ENABLE_MPS_FALLBACK="1", **env), "mps-env")
    assert f.severity is severity and text in f.message


def test_mps_watermarks_that_torch_accepts() -> None:
    for env in (
        {"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0.8", "PYTORCH_MPS_LOW_WATERMARK_RATIO": "0.6"},
        {"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "1.9"},
    ):
        assert "mps-env" not in checks_of(mac(PYTORCH_ENABLE_MPS_FALLBACK="1", **env))


def test_mps_is_not_checked_on_linux() -> None:
    linux = facts_for(
        PythonFacts("py", system="Linux"), env={"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "9"}
    )
    assert not {"mps", "mps-env"} & set(checks_of(linux))


def test_mac_without_mps() -> None:
    no_mps = replace(MAC, torch=TorchFacts("ok", version="2.7.1", mps_built=True))
    assert finding(facts_for(no_mps), "mps").severity is Severity.WARNING


@pytest.mark.parametrize(
    ("torch", "env", "severity", "text"),
    [
        (
            TorchFacts("ok", version="2.7.1+cu126", cuda_build="12.6"),
            {},
            Severity.WARNING,
            "driver",
        ),
        (
            TorchFacts("ok", cuda_build="12.6"),
            {"CUDA_VISIBLE_DEVICES": ""},
            Severity.INFO,
            "hidden",
        ),
        (TorchFacts("ok", version="2.7.1"), {"CPU_ONLY": "1"}, Severity.INFO, "CPU_ONLY"),
        (
            TorchFacts("ok", cuda_build="12.6", cuda_available=True, cuda_devices=("A100",)),
            {},
            Severity.INFO,
            "CUDA available: A100",
        ),
    ],
)
def test_cuda(torch: TorchFacts, env: dict[str, str], severity: Severity, text: str) -> None:
    facts = facts_for(PythonFacts("py", torch=torch), nvidia=Nvidia(True, ("A100",)), env=env)
    f = finding(facts, "cuda")
    assert f.severity is severity and text in f.message


def test_no_gpu_no_cuda_finding() -> None:
    assert "cuda" not in checks_of(facts_for(PythonFacts("py", torch=TorchFacts("ok"))))


@pytest.mark.parametrize(
    ("gib_total", "gib_free", "expected"),
    [
        (64, 40, [("memory", Severity.INFO)]),
        (15.5, 12, [("memory", Severity.INFO)]),  # a "16 GB" machine
        (12, 10, [("memory", Severity.WARNING)]),
        (6, 5, [("memory", Severity.CRITICAL)]),
        (32, 2, [("memory", Severity.WARNING)]),
    ],
)
def test_memory(gib_total: float, gib_free: float, expected: list[tuple[str, Severity]]) -> None:
    mem = Memory(int(gib_total * GIB), int(gib_free * GIB), swap_total=8 * GIB, swap_used=0)
    got = [(f.check, f.severity) for f in evaluate(facts_for(PY, memory=mem)).findings]
    assert got == expected


def test_swap_on_linux() -> None:
    def swap(total: int, used: int, ram: int = 24 * GIB, system: str = "Linux") -> list[Severity]:
        mem = Memory(ram, ram, total, used)
        facts = facts_for(PY, memory=mem, system=system)
        return [f.severity for f in evaluate(facts).findings if f.check == "swap"]

    assert swap(0, 0) == [Severity.WARNING]
    assert swap(0, 0, ram=64 * GIB) == [Severity.INFO]
    assert swap(8 * GIB, 6 * GIB) == [Severity.WARNING]
    assert swap(8 * GIB, 1 * GIB) == []
    assert swap(0, 0, system="Darwin") == []


def test_old_python_and_no_packages() -> None:
    facts = facts_for(PythonFacts("/usr/bin/python3", version="3.9.18"))
    assert [(f.check, f.severity) for f in evaluate(facts).findings] == [
        ("python", Severity.CRITICAL),
        ("packages", Severity.INFO),
    ]


# --- the whole command ------------------------------------------------------------------------


def test_run_and_render(env: FakeEnv, tmp_path: Path, listening: int, closed_port: int) -> None:
    env.install("accelerate", "1.8.1").install("torch", "2.5.1", {"__init__.py": FAST_TORCH})
    script = tmp_path / "run_rl_swarm.sh"
    script.write_text("#!/bin/sh\n")
    opts = doctor.Options(
        python=env.python,
        hosts=[Host("127.0.0.1", listening), Host("127.0.0.1", closed_port)],
        host_timeout=1.0,
        torch_timeout=4.0,
        cwd=tmp_path,
        env={"HF_HOME": str(tmp_path / "hf"), "PATH": os.environ.get("PATH", "")},
    )
    report = doctor.run(opts)
    record = render.as_json(report)
    assert json.loads(json.dumps(record)) == record
    assert record["python"] == env.python and record["versions"]["accelerate"] == "1.8.1"
    assert set(record["findings"][0]) == {"check", "severity", "message", "fix"}
    severities = [Severity.parse(f["severity"]) for f in record["findings"]]
    assert severities == sorted(severities, reverse=True)
    checks = {f["check"] for f in record["findings"]}
    assert {"accelerate-empty-loader", "scripts", "network", "hf-cache", "disk"} <= checks

    lines = render.text(report)
    assert lines[0].startswith(f"python: {env.python} (Python ")
    assert any(line.split() == ["accelerate", "1.8.1"] for line in lines)
    assert any("2.5.1" in line and "CPU build" in line for line in lines)
    headers = [line for line in lines if line.split(" (")[0] in ("CRITICAL", "WARNING", "INFO")]
    order = ["CRITICAL", "WARNING", "INFO"]
    assert headers == sorted(headers, key=lambda h: order.index(h.split(" (")[0]))
    assert "  scripts: run_rl_swarm.sh is not executable" in "\n".join(lines)
    assert lines[-1].endswith("info")


def test_interpreter_choice(tmp_path: Path, env: FakeEnv) -> None:
    opts = doctor.Options(cwd=tmp_path)
    venv_python = tmp_path / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(env.python)
    assert doctor.interpreter(opts) == str(venv_python)
    assert doctor.interpreter(replace(opts, python="sh")).endswith("/sh")
    with pytest.raises(doctor.DoctorError, match="--python nope/python: no such interpreter"):
        doctor.interpreter(replace(opts, python="nope/python"))
