"""`/metrics` from a published view: the contract's names, labels and values, parsed back."""

from __future__ import annotations

from typing import Any

from histories import Line, event, metrics
from prometheus_client.parser import text_string_to_metric_families
from test_web_status import PACK, START, replay

from engine.notify.delivery import ChannelCounts
from engine.web import metrics as web_metrics
from engine.web.publish import View

CONTRACT: dict[str, set[str]] = {  # sample name -> its labels, exactly
    "rlswarm_host_cpu_percent": set(),
    "rlswarm_host_mem_percent": set(),
    "rlswarm_host_swap_percent": set(),
    "rlswarm_host_disk_percent": set(),
    "rlswarm_proc_rss_gb": set(),
    "rlswarm_accel_mem_gb": set(),
    "rlswarm_seconds_since_progress": set(),
    "rlswarm_training_up": set(),
    "rlswarm_restarts_total": set(),
    "rlswarm_fix_applied": set(),
    "rlswarm_alerts_total": {"rule", "severity"},
    "rlswarm_rule_state": {"rule", "severity", "state"},
    "rlswarm_outbox_pending": {"channel"},
    "rlswarm_deliveries_total": {"channel", "result"},
    "rlswarm_channel_broken": {"channel"},
    "rlswarm_lines_total": set(),
    "rlswarm_node_info": {"node", "project", "version"},
}


def scrape(view: View) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = web_metrics.render(web_metrics.registry(lambda: view))
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_every_name_and_label_of_the_contract() -> None:
    history = [
        (0, START),
        (1, event("patched", library="accelerate", version="1.8.1", applied=True)),
        (2, metrics(gpu_mem_gb=3.0)),
        (3, Line("step 1")),
        (3, Line("step 2")),
        (
            4,
            metrics(
                cpu_percent=12.5,
                mem_percent=95.0,
                swap_percent=1.0,
                disk_percent=40.0,
                proc_rss_gb=0.5,
            ),
        ),
        (5, event("exit", code=1, requested=False)),
        (5, event("restart", attempt=2, delay_s=1.0, cause="exit code 1")),
    ]
    publisher, _ = replay(PACK, history)
    publisher.deliveries = lambda: {
        "email": ChannelCounts(pending=2, failed=3, failing=True, last_error="x"),
        "journal": ChannelCounts(ok=7),
        "phone": ChannelCounts(failing=True, last_error="not built: x", broken=True),
    }
    samples = scrape(publisher.publish())
    assert {name for name, _ in samples} == set(CONTRACT)
    for name, labels in samples:
        assert {k for k, _ in labels} == CONTRACT[name], name
    assert value(samples, "rlswarm_host_cpu_percent") == 12.5
    assert value(samples, "rlswarm_accel_mem_gb") == 3.0
    assert value(samples, "rlswarm_proc_rss_gb") == 0.5
    assert value(samples, "rlswarm_training_up") == 0.0  # restarting
    assert value(samples, "rlswarm_restarts_total") == 1.0
    assert value(samples, "rlswarm_fix_applied") == 1.0
    assert value(samples, "rlswarm_lines_total") == 2.0
    assert value(samples, "rlswarm_alerts_total", rule="crashed", severity="critical") == 1.0
    assert value(samples, "rlswarm_rule_state", rule="mem-high", severity="warning",
                 state="pending") == 1.0  # fmt: skip
    assert value(samples, "rlswarm_outbox_pending", channel="email") == 2.0
    assert value(samples, "rlswarm_deliveries_total", channel="email", result="failed") == 3.0
    assert value(samples, "rlswarm_deliveries_total", channel="journal", result="ok") == 7.0
    assert value(samples, "rlswarm_channel_broken", channel="phone") == 1.0
    assert value(samples, "rlswarm_channel_broken", channel="email") == 0.0
    assert value(samples, "rlswarm_node_info", node="node-a", project="proj", version="9.9") == 1


def test_unknown_values_are_left_out_not_zero() -> None:
    _, view = replay(PACK, [(0, START)])
    samples = scrape(view)
    names = {name for name, _ in samples}
    assert "rlswarm_host_cpu_percent" not in names and "rlswarm_accel_mem_gb" not in names
    assert value(samples, "rlswarm_training_up") == 1.0
    assert value(samples, "rlswarm_seconds_since_progress") == 0.0


def test_no_view_yet_no_samples() -> None:
    text = web_metrics.render(web_metrics.registry(lambda: None))
    assert list(text_string_to_metric_families(text.decode())) == []
