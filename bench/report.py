"""One table of every benchmark figure, its same-run reference, the ratio and the issue's target.

.venv/bin/python bench/report.py [REPLAY_JSON] [LIVE_JSON]      (bench/run calls it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Row = tuple[str, str, str, str, str, str]


def num(v: float | None, spec: str) -> str:
    return "FAIL" if v is None else format(v, spec)


def div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "NOT MET")


def at_most(value: float | None, limit: float) -> str:
    return verdict(None if value is None else value <= limit)


def replay_rows(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    s = r["sizes"]
    for size, x in s.items():
        last = size == "200"
        rows.append(
            (
                f"replay, {size} rules (best of {r['repeat']})",
                f"{num(x['tool_s'], '.2f')} s, {num(x['tool_lps'], ',.0f')} lines/s "
                f"(cold cache {num(x.get('tool_cold_s'), '.2f')} s; empty log "
                f"{num(x.get('tool_fixed_s'), '.2f')} s)",
                f"grep {num(x['grep_s'], '.2f')} s; naive loop {num(x['naive_s'], '.2f')} s",
                f"{num(x['tool_vs_grep'], '.1f')}x grep; {num(x['tool_vs_naive'], '.2f')}x naive",
                "<= 1.0x grep" if last else "",
                at_most(x["tool_vs_grep"], 1.0) if last else "",
            )
        )
    if "10" in s and "200" in s:
        share = div(s["200"]["tool_lps"], s["10"]["tool_lps"])
        grep = div(s["10"]["grep_s"], s["200"]["grep_s"])
        naive = div(s["10"]["naive_s"], s["200"]["naive_s"])
        rows.append(
            (
                "replay throughput, 200 vs 10 rules",
                f"{num(share, '.2f')}x",
                f"grep {num(grep, '.2f')}x; naive loop {num(naive, '.2f')}x",
                f"{num(share, '.2f')}",
                ">= 0.5",
                verdict(None if share is None else share >= 0.5),
            )
        )
    return rows


def live_rows(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    if "flood" in r:
        f = r["flood"]
        t, alone, unbuf = f["tool"], f["alone"]["wall"], f["alone_unbuffered"]["wall"]
        seen = "" if t.get("observed") is None else f"; {t['observed']:,} of 1M lines evaluated"
        last = "" if t["last_alerted"] else "; final OOM line NOT alerted"
        rows.append(
            (
                f"1M-line flood under run (best of {r['repeat']})",
                f"{t['wall']:.2f} s{seen}{last}",
                f"child alone {unbuf:.2f} s unbuffered (as run starts it), {alone:.2f} s "
                f"buffered; relay {f['relay']['wall']:.2f} s",
                f"{t['wall'] / unbuf:.2f}x unbuffered; {t['wall'] / alone:.2f}x buffered",
                "<= 1.2x unbuffered",
                verdict(t["ok"] and t["last_alerted"] and t["wall"] / unbuf <= 1.2),
            )
        )
    if "latency" in r:
        t, ref = r["latency"]["tool"], r["latency"]["relay"]
        trio = "{} / {} / {} ms"
        p99 = t["p99"] if t["received"] == 200 else None  # a lost alert fails the target
        rows.append(
            (
                "alert latency p50 / p99 / max",
                trio.format(*(num(t[k], ".1f") for k in ("p50", "p99", "max")))
                + f" ({t['received']}/200)",
                "relay " + trio.format(*(num(ref[k], ".1f") for k in ("p50", "p99", "max"))),
                f"p99 {num(div(t['p99'], ref['p99']), '.1f')}x relay",
                "p99 <= 50 ms",
                at_most(p99, 50),
            )
        )
    if "resources" in r:
        t, ref = r["resources"]["tool"], r["resources"]["relay"]
        rows.append(
            (
                "CPU at 1,000 lines/s (while writing / worst second)",
                f"{num(t['cpu_mean'], '.1f')}% / {num(t['cpu_max'], '.0f')}% of a core",
                f"relay {num(ref['cpu_mean'], '.1f')}% / {num(ref['cpu_max'], '.0f')}%",
                f"{num(div(t['cpu_mean'], ref['cpu_mean']), '.1f')}x relay",
                "<= 2% of a core",
                at_most(t["cpu_mean"], 2),
            )
        )
        rows.append(
            (
                "RSS at 1,000 lines/s (max)",
                f"{num(t['rss_max'], '.0f')} MB",
                f"relay {num(ref['rss_max'], '.0f')} MB",
                f"{num(div(t['rss_max'], ref['rss_max']), '.1f')}x relay",
                "<= 100 MB",
                at_most(t["rss_max"], 100),
            )
        )
    return rows


def main() -> None:
    rows: list[Row] = [("measurement", "result", "reference (same run)", "ratio", "target", "")]
    for path in sys.argv[1:]:
        data = json.loads(Path(path).read_text())
        rows += replay_rows(data) if "sizes" in data else live_rows(data)
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for k, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    met = [row[0] for row in rows[1:] if row[5] == "MET"]
    missed = [row[0] for row in rows[1:] if row[5] == "NOT MET"]
    print(f"\ntargets met ({len(met)}): {'; '.join(met) or 'none'}")
    print(f"targets NOT met ({len(missed)}): {'; '.join(missed) or 'none'}")


if __name__ == "__main__":
    main()
