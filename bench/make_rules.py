"""Write the benchmark rule packs bench/rules/r{10,40,200}/ and their grep twins r*.ere.

    .venv/bin/python bench/make_rules.py            # regenerate (deterministic)
    .venv/bin/python bench/make_rules.py --check LOG   # per rule: Python re vs grep -E line counts

r10 is a subset of r40, r40 of r200. The first 40 rules are hand-written error patterns
from RL-Swarm logs; the other 160 are component x failure rules built from two tables.
The .ere files translate each `log` faithfully for `LC_ALL=C grep -E -f` (named and
non-capturing groups become plain groups, `\\d` becomes `[0-9]`, `ignore_case` letters
become `[aA]` ...); an unsupported construct is an error, never a silent change.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

RULES_DIR = Path(__file__).resolve().parent / "rules"
SIZES = (10, 40, 200)


@dataclass
class R:
    id: str
    severity: str
    log: str
    fires: str
    quiet: str = ""
    summary: str = ""
    ignore_case: bool = False
    extra: dict[str, str] = field(default_factory=dict)


# fmt: off
BASE = [
    R("cuda-oom", "critical", r"CUDA out of memory\. Tried to allocate (?P<size>[\d.]+ [KMG]iB)",
      "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.32 GiB. GPU 0 has a total capacity of 11.58 GiB", "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True", "GPU out of memory (tried to allocate {size})"),
    R("host-oom-killed", "critical", r"line \d+: +(?P<pid>\d+) Killed +python",
      "./run_rl_swarm.sh: line 142: 175323 Killed                  python -m hivemind_exp.gsm8k.train_single_gpu", "Killed 3 stale peers", "the kernel killed the trainer (pid {pid})"),
    R("p2pd-failed", "critical", r"P2PDaemonError: Daemon failed to start(?: in (?P<seconds>[\d.]+) seconds)?",
      "hivemind.p2p.p2p_daemon_bindings.utils.P2PDaemonError: Daemon failed to start in 15.0 seconds", "P2P daemon started", "the p2p daemon did not start"),
    R("accelerate-current-batch", "critical", "UnboundLocalError: (?:cannot access local variable|local variable) 'current_batch'",
      "UnboundLocalError: cannot access local variable 'current_batch' where it is not associated with a value", "current_batch = next(dataloader_iter)"),
    R("nan-loss", "error", r"'loss': (?:nan|inf)\b",
      "{'loss': nan, 'grad_norm': nan, 'epoch': 1.0}", "{'loss': 0.0, 'grad_norm': 7.09}", ignore_case=True, extra={"count": "3", "within": "10m"}),
    R("dht-blocking-io", "error", r"BlockingIOError: \[Errno 11\] Resource temporarily unavailable",
      "BlockingIOError: [Errno 11] Resource temporarily unavailable", "[Errno 2] No such file"),
    R("chain-submit-failed", "warning", r"\]\[ERROR\] - Failed to submit to chain",
      "[2025-08-02 16:33:30,716][genrl.logging_utils.global_defs][ERROR] - Failed to submit to chain.", "Submitted to chain"),
    R("http-error", "warning", r"HTTPError: (?P<status>[45]\d\d) (?:Client|Server) Error: (?P<reason>[A-Za-z ]+) for url",
      "requests.exceptions.HTTPError: 400 Client Error: Bad Request for url: http://localhost:3000/api/submit-reward", "HTTP 200 OK", "HTTP {status} {reason}", extra={"group_by": "'{status}'"}),
    R("no-local-outputs", "info", r"Could not retrieve local outputs for round (?P<round_no>\d+)",
      "INFO:hivemind_exp.gsm8k.stage_utils:Could not retrieve local outputs for round 33 stage 1", "Found local outputs for round 33", extra={"count": "5", "within": "10m"}),
    R("bootstrap-unreachable", "critical", "failed to connect to bootstrap peers",
      "P2PDaemonError: Daemon failed to start: 2025/05/05 05:11:19 failed to connect to bootstrap peers", "connected to 3 bootstrap peers"),
    R("mps-oom", "critical", "MPS backend out of memory",
      "RuntimeError: MPS backend out of memory (MPS allocated: 17.00 GB)", "MPS backend available"),
    R("bf16-unsupported", "critical", "Your setup doesn't support bf16/gpu",
      "ValueError: Your setup doesn't support bf16/gpu.", "bf16 enabled"),
    R("swarm-states-none", "error", "TypeError: 'NoneType' object is not iterable",
      "TypeError: 'NoneType' object is not iterable", "TypeError: 'int' object is not callable"),
    R("keyboard-interrupt", "warning", "^KeyboardInterrupt",
      "KeyboardInterrupt", "caught a KeyboardInterrupt earlier"),
    R("viem-reverted", "error", "execution reverted",
      'Details: {"code":-32521,"message":"Execution Reverted"}', "execution finished", ignore_case=True),
    R("api-key-inactive", "warning", "Waiting for API key to (?:become|be) activated",
      "Waiting for API key to be activated...", "API key activated", extra={"count": "10", "within": "10m"}),
    R("pip-git-clone", "error", "git clone .* did not run successfully",
      "  × git clone --filter=blob:none --quiet https://github.com/learning-at-home/hivemind /tmp/pip-x did not run successfully.", "git clone finished"),
    R("protobuf-conflict", "warning", r"requires protobuf<(?P<max>[\d.]+),",
      "hivemind 1.2.0.dev0 requires protobuf<5.28.0,>=3.12.2, but you have protobuf 5.29.0 which is incompatible.", "Requirement already satisfied: protobuf"),
    R("nccl-error", "critical", "NCCL (?:error|WARN)|ncclInternalError|ncclSystemError|ncclUnhandledCudaError",
      "torch.distributed.DistBackendError: NCCL error in: ProcessGroupNCCL.cpp:1970, ncclInternalError", "NCCL version 2.21.5"),
    R("cuda-illegal-access", "critical", "CUDA error: an illegal memory access was encountered",
      "RuntimeError: CUDA error: an illegal memory access was encountered", "CUDA error handling enabled"),
    R("cuda-device-assert", "critical", "device-side assert triggered",
      "RuntimeError: CUDA error: device-side assert triggered", "assert triggered in test"),
    R("segfault", "critical", "Segmentation fault|Fatal Python error: Segmentation|SIGSEGV",
      "Fatal Python error: Segmentation fault", "segmentation of the dataset"),
    R("disk-full", "critical", r"\[Errno 28\] No space left on device",
      "OSError: [Errno 28] No space left on device", "space left: 40 GB"),
    R("hf-rate-limit", "warning", "429 Client Error: Too Many Requests",
      "huggingface_hub.utils._errors.HfHubHTTPError: 429 Client Error: Too Many Requests for url", "429 requests served"),
    R("hf-offline", "error", r"We couldn't connect to 'https://huggingface\.co'",
      "OSError: We couldn't connect to 'https://huggingface.co' to load this file", "connected to huggingface.co"),
    R("wandb-error", "warning", "^wandb: ERROR (?P<message>.+)",
      "wandb: ERROR api_key not configured (no-tty)", "wandb: Tracking run", "wandb: {message}"),
    R("connection-refused", "error", r"ConnectionRefusedError|\[Errno 111\] Connection refused",
      "ConnectionRefusedError: [Errno 111] Connection refused", "connection accepted"),
    R("dht-request-timeout", "error", r"\[hivemind\.dht\.[a-z_.]+:\d+\] .*(?:TimeoutError|timed out)",
      "Jul 08 19:12:21.373 [WARN] [hivemind.dht.node.get_many:412] request to peer timed out", "[hivemind.dht.node:1] ok"),
    R("grad-norm-inf", "warning", r"'grad_norm': (?:nan|inf)\b",
      "{'loss': 0.1, 'grad_norm': inf}", "{'grad_norm': 0.7}", ignore_case=True),
    R("address-in-use", "critical", "address already in use",
      "P2PDaemonError: listen tcp4 0.0.0.0:38331: bind: Address already in use", "address free", ignore_case=True),
    R("dynamo-error", "error", r"torch\._dynamo\.exc\.(?P<kind>[A-Za-z]+Error)",
      "torch._dynamo.exc.BackendCompilerFailed: failed; torch._dynamo.exc.InternalTorchDynamoError", "torch._dynamo config loaded", "torch.compile failed ({kind})"),
    R("safetensors-corrupt", "critical", "SafetensorError: Error while deserializing header",
      "safetensors_rust.SafetensorError: Error while deserializing header: HeaderTooLarge", "loaded safetensors"),
    R("module-missing", "critical", "ModuleNotFoundError: No module named '(?P<module>[A-Za-z0-9_.]+)'",
      "ModuleNotFoundError: No module named 'hivemind'", "Module not found: Can't resolve 'encoding'", "missing module {module}"),
    R("import-name", "critical", r"ImportError: cannot import name '(?P<name>\w+)' from '(?P<module>[\w.]+)'",
      "ImportError: cannot import name 'GRPOTrainer' from 'trl'", "import ok"),
    R("worker-signal", "error", r"died with <Signals\.SIG(?P<sig>[A-Z]+): (?P<num>\d+)>",
      "RuntimeError: DataLoader worker (pid 4242) died with <Signals.SIGKILL: 9>.", "Signals handled"),
    R("python-fatal", "critical", r"Fatal Python error: (?P<what>\w+)",
      "Fatal Python error: Aborted", "Python error handling"),
    R("cuda-driver", "critical", "CUDA driver version is insufficient|no CUDA-capable device is detected",
      "RuntimeError: Found no NVIDIA driver; No CUDA-capable device is detected", "CUDA device 0 detected", ignore_case=True),
    R("rewards-no-outputs", "info", "Found rewards published for node: (?P<peer>Qm[1-9A-HJ-NP-Za-km-z]{44}) but no outputs",
      "Found rewards published for node: QmQa1SCfYTxx7RvU7qJJRo79Zm1RAwPpkeLueDVJuBBmFp but no outputs!", "Found rewards published for node", extra={"group_by": "'{peer}'"}),
    R("pin-memory", "info", "UserWarning: 'pin_memory' argument is set as true but no accelerator is found",
      "dataloader.py:665: UserWarning: 'pin_memory' argument is set as true but no accelerator is found, then", "pin_memory=False", extra={"cooldown": "1h"}),
    R("shutting-down", "warning", "^>> Shutting down trainer",
      ">> Shutting down trainer...", "trainer running"),
]
# fmt: on

COMPONENTS = [  # (id, regex prefix, example prefix)
    (
        "dht",
        r"\[hivemind\.dht\.dht\.\w+:\d+\] ",
        "Jul 08 19:12:21.373 [ERROR] [hivemind.dht.dht._run:131] ",
    ),
    (
        "p2p",
        r"\[hivemind\.p2p\.p2p_daemon\.\w+:\d+\] ",
        "Jul 08 19:12:21.373 [ERROR] [hivemind.p2p.p2p_daemon._read:88] ",
    ),
    (
        "averager",
        r"\[hivemind\.averaging\.averager\.\w+:\d+\] ",
        "Jul 08 19:12:21.373 [WARN] [hivemind.averaging.averager.step:512] ",
    ),
    (
        "matchmaking",
        r"\[hivemind\.averaging\.matchmaking\.\w+:\d+\] ",
        "Jul 08 19:12:21.373 [WARN] [hivemind.averaging.matchmaking._run:95] ",
    ),
    (
        "coordinator",
        r"\]\[genrl\.blockchain\.coordinator\]\[(?:ERROR|WARNING)\] - ",
        "[2025-07-08 19:12:21,373][genrl.blockchain.coordinator][ERROR] - ",
    ),
    (
        "game",
        r"\]\[genrl\.game\.game_manager\]\[(?:ERROR|WARNING)\] - ",
        "[2025-07-08 19:12:21,373][genrl.game.game_manager][ERROR] - ",
    ),
    (
        "trainer",
        r"(?:ERROR|WARNING):hivemind_exp\.trainer\.[a-z_]+:",
        "ERROR:hivemind_exp.trainer.hivemind_grpo_trainer:",
    ),
    (
        "datasets",
        r"\]\[rgym_exp\.src\.datasets\]\[(?:ERROR|WARNING)\] - ",
        "[2025-07-08 19:12:21,373][rgym_exp.src.datasets][WARNING] - ",
    ),
    (
        "modal",
        r"^ (?:POST|GET) /api/(?P<endpoint>[a-z-]+) 5\d\d in \d+ms ",
        " POST /api/submit-reward 500 in 2143ms ",
    ),
    (
        "vllm",
        r"(?:ERROR|WARNING) \d\d-\d\d [\d:]+ \[[a-z_]+\.py:\d+\] ",
        "ERROR 07-08 19:12:21 [llm_engine.py:421] ",
    ),
]
FAILURES = [  # (id, regex, example text)
    ("timeout", r"[Tt]imed out after (?P<seconds>[\d.]+) ?s", "timed out after 30.0 s"),
    ("refused", r"Connection refused", "Connection refused"),
    ("reset", r"Connection reset by peer", "Connection reset by peer"),
    ("broken-pipe", r"BrokenPipeError", "BrokenPipeError: [Errno 32] Broken pipe"),
    ("eof", r"EOFError|unexpected EOF", "EOFError: Ran out of input"),
    ("cancelled", r"CancelledError", "CancelledError: round 12 was cancelled"),
    (
        "retries",
        r"Max retries exceeded with url: (?P<url>\S+)",
        "Max retries exceeded with url: /api/v1/peers (Caused by)",
    ),
    ("unavailable", r"[Ss]ervice [Uu]navailable", "Service Unavailable (503)"),
    ("denied", r"Permission denied", "Permission denied: '/root/.cache'"),
    (
        "invalid",
        r"[Ii]nvalid (?P<what>[a-z_]+) (?:received|from peer)",
        "invalid signature received",
    ),
    ("overflow", r"buffer (?:overflow|full)", "buffer full, dropping 12 items"),
    ("unreachable", r"[Nn]etwork is unreachable", "Network is unreachable (os error 101)"),
    (
        "protocol",
        r"protocol (?:error|negotiation failed)",
        "protocol negotiation failed for /meshsub/1.1.0",
    ),
    (
        "dns",
        r"Name or service not known|Temporary failure in name resolution",
        "Temporary failure in name resolution",
    ),
    (
        "ssl",
        r"SSL(?:Error|: CERTIFICATE_VERIFY_FAILED)",
        "SSLError: [SSL: CERTIFICATE_VERIFY_FAILED]",
    ),
    ("assert", r"AssertionError(?:: (?P<detail>.{1,80}))?", "AssertionError: expected 3 peers"),
]
SEVERITIES = ("error", "warning", "critical", "info")


def generated() -> list[R]:
    out = []
    for f_i, (fid, fre, fex) in enumerate(FAILURES):
        for c_i, (cid, cre, cex) in enumerate(COMPONENTS):
            k = f_i * len(COMPONENTS) + c_i
            body = f"(?:{fre})" if "|" in fre else fre  # keep the alternation inside the failure
            if cid == "modal":
                body = body.replace("(?P<", "(?P<m_")  # the prefix has its own named group
            ignore = k % 5 == 4
            out.append(
                R(
                    f"{cid}-{fid}",
                    SEVERITIES[k % 4],
                    cre + (".*" if k % 3 else "") + body,
                    cex + ("while handling: " if k % 3 else "") + fex,
                    cex + "all good",
                    ignore_case=ignore,
                )
            )
    return out


def all_rules() -> list[R]:
    return BASE + generated()


# --- ERE translation --------------------------------------------------------------------------

_CLASS_ESC = {"d": "0-9", "s": "[:space:]", "w": "[:alnum:]_"}
_ESC = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": "[[:space:]]",
    "S": "[^[:space:]]",
    "w": "[[:alnum:]_]",
    "W": "[^[:alnum:]_]",
    "b": r"\b",
    "B": r"\B",
}
_ERE_SPECIAL = set(".[]()*+?{}|^$\\")


def _fold(c: str, ignore_case: bool) -> str:
    return f"[{c.lower()}{c.upper()}]" if ignore_case and c.isalpha() else c


def _class(body: str, ignore_case: bool) -> str:
    """A `[...]` body (without brackets) in ERE form."""
    out, i = [], 0
    neg = body.startswith("^")
    if neg:
        i = 1
    while i < len(body):
        c = body[i]
        if c == "\\":
            e = body[i + 1]
            if e in _CLASS_ESC:
                out.append(_CLASS_ESC[e])
            elif e in ".-":
                out.append(e if e == "." else "")
                if e == "-":
                    raise ValueError("escaped '-' in a class")
            else:
                raise ValueError(f"class escape \\{e}")
            i += 2
            continue
        if c in "]":
            raise ValueError("']' inside a class")
        out.append(c)
        if ignore_case and c.isalpha():
            if i + 2 < len(body) and body[i + 1] == "-" and body[i + 2].isalpha():
                out += ["-", body[i + 2], c.swapcase(), "-", body[i + 2].swapcase()]
                i += 3
                continue
            out.append(c.swapcase())
        i += 1
    return "[" + ("^" if neg else "") + "".join(out) + "]"


def to_ere(pattern: str, ignore_case: bool = False) -> str:
    """Translate a Python regex (the subset the packs use) to POSIX ERE with GNU `\\b`."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            e = pattern[i + 1]
            if e in _ESC:
                out.append(_ESC[e])
            elif e in _ERE_SPECIAL:
                out.append("\\" + e)
            elif e.isalnum():
                raise ValueError(f"escape \\{e}")
            else:
                out.append(_fold(e, ignore_case))
            i += 2
        elif c == "[":
            end = pattern.index("]", i + 2 if pattern[i + 1] == "^" else i + 1)
            out.append(_class(pattern[i + 1 : end], ignore_case))
            i = end + 1
        elif pattern.startswith("(?P<", i):
            out.append("(")
            i = pattern.index(">", i) + 1
        elif pattern.startswith("(?:", i):
            out.append("(")
            i += 3
        elif pattern.startswith("(?", i):
            raise ValueError(f"group {pattern[i : i + 4]}")
        elif c in "*+?}" and pattern[i + 1 : i + 2] == "?":
            out.append(c)  # lazy -> greedy: whether a line matches does not change
            i += 2
        else:
            out.append(_fold(c, ignore_case))
            i += 1
    return "".join(out)


# --- YAML output ------------------------------------------------------------------------------


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def pack_yaml(rules: list[R], size: int) -> str:
    lines = [
        "# yaml-language-server: $schema=../../../engine/schema/rules.schema.json",
        f"# {size} log rules for the replay/live benchmarks. Generated by bench/make_rules.py; do not edit.",
        "defaults:",
        "  labels: {pack: bench}",
        "",
        "rules:",
    ]
    for r in rules:
        lines += [f"  - id: {r.id}", f"    severity: {r.severity}", f"    log: {_q(r.log)}"]
        if r.ignore_case:
            lines.append("    ignore_case: true")
        lines += [f"    {k}: {v}" for k, v in r.extra.items()]
        if r.summary:
            lines.append(f"    summary: {_q(r.summary)}")
        lines += ["    examples:", f"      fires: [{_q(r.fires)}]"]
        if r.quiet:
            lines.append(f"      quiet: [{_q(r.quiet)}]")
    return "\n".join(lines) + "\n"


def write() -> None:
    rules = all_rules()
    assert len({r.id for r in rules}) == len(rules) == SIZES[-1], len(rules)
    for size in SIZES:
        folder = RULES_DIR / f"r{size}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pack.yaml").write_text(pack_yaml(rules[:size], size))
        ere = [to_ere(r.log, r.ignore_case) for r in rules[:size]]
        (RULES_DIR / f"r{size}.ere").write_text("\n".join(ere) + "\n")
        print(f"wrote {folder}/pack.yaml and r{size}.ere ({size} rules)", file=sys.stderr)


def check(log: Path) -> int:
    """Per rule: lines matched by Python `re` vs by `LC_ALL=C grep -c -E`, over LOG plus every
    rule's examples (so each pattern also meets the other rules' lines)."""
    rules = all_rules()
    with log.open(encoding="utf-8", errors="replace", newline="\n") as f:
        lines = [line.rstrip("\n") for line in f]
    lines += [text for r in rules for text in (r.fires, r.quiet) if text]
    sample = log.with_name(log.name + ".check")
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "LC_ALL": "C"}
    bad = 0
    for r in rules:
        regex = re.compile(r.log, re.IGNORECASE if r.ignore_case else 0)
        want = sum(1 for line in lines if regex.search(line))
        got = subprocess.run(
            ["grep", "-c", "-E", "-e", to_ere(r.log, r.ignore_case), str(sample)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if got.stderr or int(got.stdout or 0) != want:
            bad += 1
            print(
                f"MISMATCH {r.id}: python {want} lines, grep {got.stdout.strip()} {got.stderr.strip()}"
            )
    sample.unlink()
    print(f"{len(rules)} rules, {len(lines):,} lines: {bad} mismatches between re and grep -E")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--check", type=Path, metavar="LOG", help="compare Python and grep matches on LOG"
    )
    args = ap.parse_args()
    if args.check:
        sys.exit(check(args.check))
    write()


if __name__ == "__main__":
    main()
