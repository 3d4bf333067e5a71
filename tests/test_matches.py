"""`matches(text, 'regex')` in a condition: a traceback told apart by its frames, through the
real traceback assembly of `replay`; the rule is the one docs/rules.md shows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.packs.expr import compile_expression

ROOT = Path(__file__).resolve().parents[1]


def docs_rule() -> str:
    """The `kv-cache-too-small` example of docs/rules.md, as a pack of its own."""
    text = (ROOT / "docs" / "rules.md").read_text("utf-8")
    at = text.index("  - id: kv-cache-too-small")
    return "rules:\n" + text[at : text.index("```", at)]


def test_a_cut_off_traceback_is_told_by_its_frames(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "kv.yaml").write_text(docs_rule())
    vllm = "/usr/lib/python3.12/site-packages/vllm"
    cut = [
        "[rank0]: Traceback (most recent call last):",
        f'[rank0]:   File "{vllm}/engine/llm_engine.py", line 281, in __init__',
        "[rank0]:     self._initialize_kv_caches()",
        f'[rank0]:   File "{vllm}/v1/core/kv_cache_utils.py", line 699, in '
        "check_enough_kv_cache_memory",
        '[rank0]:     raise ValueError("No available memory for the cache blocks. "',
        "INFO 02-26 09:54:05 worker.py:267] shutting down",
    ]
    other = ["Traceback (most recent call last):", '  File "/x/train.py", line 3, in main']
    for name, lines in (("cut.log", cut), ("other.log", other)):
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    fired = {}
    for name in ("cut.log", "other.log"):
        proc = subprocess.run(
            [sys.executable, "-m", "engine", "replay", "--format", "jsonl", name],
            cwd=tmp_path, capture_output=True, text=True, check=True,
        )  # fmt: skip
        fired[name] = [json.loads(line)["rule"] for line in proc.stdout.splitlines()]
    assert fired == {"cut.log": ["kv-cache-too-small"], "other.log": []}


def test_matches_is_false_for_a_missing_value_and_searches_anywhere() -> None:
    condition = compile_expression("matches(message, r'KV cache')", None)
    assert condition.holds({"message": "no room for the KV cache here"}) is True
    assert condition.holds({"message": None}) is False
    assert condition.holds({"message": "kv cache"}) is False  # as written: case counts
