"""Checks of the machine: memory and swap, disk, the Hugging Face cache, the network
and the launch script. Pure: facts in, findings out.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.doctor.facts import GIB, Facts, Finding, Host, gib, release
from engine.model import Severity

INFO, WARNING, CRITICAL = Severity.INFO, Severity.WARNING, Severity.CRITICAL

RAM_WANTED = 15 * GIB  # a "16 GB" machine reports a little less than 16 GiB
RAM_MINIMUM = 7 * GIB
AVAILABLE_LOW = 4 * GIB
DISK_LOW, DISK_CRITICAL = 20 * GIB, 5 * GIB
CACHE_LARGE = 50 * GIB
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def memory_check(facts: Facts) -> Iterator[Finding]:
    mem = facts.memory
    if mem is None:
        return
    total = f"{gib(mem.total)} RAM"
    if mem.total < RAM_MINIMUM:
        yield Finding(
            "memory",
            CRITICAL,
            f"{total}: RL-Swarm wants 16 GB or more; the trainer will be killed (OOM)",
            "use a machine with 16 GB+ RAM",
        )
    elif mem.total < RAM_WANTED:
        yield Finding(
            "memory",
            WARNING,
            f"{total}: RL-Swarm wants 16 GB or more; expect 'Killed' (out of memory)",
            "add swap, stop other programs, or use a machine with 16 GB+ RAM",
        )
    if mem.available < AVAILABLE_LOW:
        yield Finding(
            "memory",
            WARNING,
            f"only {gib(mem.available)} of {total} available now",
            "stop other programs before starting the node",
        )
    if mem.total >= RAM_WANTED and mem.available >= AVAILABLE_LOW:
        yield Finding("memory", INFO, f"{total}, {gib(mem.available)} available")
    yield from _swap(facts)


def _swap(facts: Facts) -> Iterator[Finding]:
    mem = facts.memory
    if mem is None or facts.system != "Linux":  # macOS sizes its swap itself
        return
    if mem.swap_total == 0:
        yield Finding(
            "swap",
            WARNING if mem.total < 2 * RAM_WANTED else INFO,
            "no swap: a memory peak gets the trainer killed instead of slowed down",
            "sudo fallocate -l 16G /swapfile && sudo chmod 600 /swapfile && "
            "sudo mkswap /swapfile && sudo swapon /swapfile",
        )
    elif mem.swap_used > mem.swap_total / 2:
        yield Finding(
            "swap",
            WARNING,
            f"{gib(mem.swap_used)} of {gib(mem.swap_total)} swap in use: memory is short",
            "stop other programs before starting the node",
        )


def disk_check(facts: Facts) -> Iterator[Finding]:
    for disk in facts.disks:
        where = f"{gib(disk.free)} free on {disk.path}"
        if disk.free < DISK_CRITICAL:
            yield Finding(
                "disk",
                CRITICAL,
                f"only {where}: downloads and checkpoints will fail (No space left on device)",
                _trim_fix(facts),
            )
        elif disk.free < DISK_LOW:
            yield Finding(
                "disk", WARNING, f"only {where}: a model download may not fit", _trim_fix(facts)
            )
        else:
            yield Finding("disk", INFO, where)


def _trim_fix(facts: Facts) -> str:
    hub = facts.python.packages.get("huggingface-hub")
    major = (release(hub) or (0,))[0]
    if hub and major >= 1:
        return "trim the Hugging Face cache: hf cache ls, then hf cache rm REPO (or hf cache prune)"
    if hub:
        return "trim the Hugging Face cache: huggingface-cli delete-cache"
    return (
        "trim the Hugging Face cache: hf cache rm REPO (huggingface_hub 1.x) "
        "or huggingface-cli delete-cache (older)"
    )


def cache_warns(facts: Facts, size: int) -> bool:
    """Whether a Hugging Face cache of `size` bytes is worth a warning (and trimming)."""
    disk_short = any(d.free < DISK_LOW for d in facts.disks)
    return size >= CACHE_LARGE or (disk_short and size >= GIB)


def hf_cache_check(facts: Facts) -> Iterator[Finding]:
    for cache in facts.hf_cache:
        if not cache.exists:
            yield Finding("hf-cache", INFO, f"no Hugging Face cache yet at {cache.path}")
            continue
        held = f"Hugging Face cache {cache.path} holds {'at least ' * (not cache.complete)}"
        held += gib(cache.size)
        if cache_warns(facts, cache.size):
            yield Finding("hf-cache", WARNING, held, _trim_fix(facts))
        else:
            yield Finding("hf-cache", INFO, held)


_NEEDED_FOR = {
    "huggingface.co": "model and dataset downloads",
    "gensyn-testnet.g.alchemy.com": "the Gensyn testnet (registration, rewards)",
    "pypi.org": "package installs (run_rl_swarm.sh installs at every start)",
}


def hosts_check(facts: Facts) -> Iterator[Finding]:
    """Direct TCP connects; behind a proxy a failed one is only worth a note."""
    proxy = next((k for k in PROXY_VARS if facts.env.get(k)), None)
    for r in facts.hosts:
        if r.ok:
            continue
        needed = _NEEDED_FOR.get(r.target.host)
        message = f"{r.target} unreachable ({r.error})" + (
            f": needed for {needed}" if needed else ""
        )
        if proxy:
            message += f"; {proxy} is set, so HTTPS traffic may still get through the proxy"
        yield Finding(
            "network",
            INFO if proxy else WARNING,
            message,
            f"check the network, DNS, proxy or firewall (try: {_probe_cmd(r.target)})",
        )
    reachable = [r for r in facts.hosts if r.ok]
    if reachable:
        shown = ", ".join(f"{r.target} ({r.seconds * 1000:.0f} ms)" for r in reachable)
        yield Finding("network", INFO, f"reachable: {shown}")


def _probe_cmd(target: Host) -> str:
    if target.port == 443:
        host = f"[{target.host}]" if ":" in target.host else target.host
        return f"curl -sSI https://{host}"
    return f"nc -vz {target.host} {target.port}"


def scripts_check(facts: Facts) -> Iterator[Finding]:
    for s in facts.scripts:
        if s.crlf:
            yield Finding(
                "scripts",
                CRITICAL,
                f"{s.path} has Windows line endings: bash fails with $'\\r': command not found",
                f"perl -pi -e 's/\\r$//' {s.path}",
            )
        if not s.executable:
            yield Finding(
                "scripts",
                WARNING,
                f"{s.path} is not executable: ./{s.path} fails with Permission denied",
                f"chmod +x {s.path}",
            )
