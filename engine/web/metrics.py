"""`/metrics`: the published view in Prometheus text format, from a registry of our own.

The collector reads the latest `View` when scraped (in the server's thread),
so the pipeline never waits for a scrape. Names and labels are the contract
of docs/dashboard.md ("Metrics"); every series carries only the labels listed
there (Prometheus adds `instance` and `job` itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine.web.publish import View

GAUGES = {  # series name in the snapshot -> metric name, help
    "cpu_percent": ("rlswarm_host_cpu_percent", "host CPU use, percent of all cores"),
    "mem_percent": ("rlswarm_host_mem_percent", "host memory in use, percent"),
    "swap_percent": ("rlswarm_host_swap_percent", "swap in use, percent"),
    "disk_percent": ("rlswarm_host_disk_percent", "disk used (working directory), percent"),
    "proc_rss_gb": ("rlswarm_proc_rss_gb", "resident memory of the training's process tree, GB"),
    "accel_mem_gb": ("rlswarm_accel_mem_gb", "accelerator memory allocated by the training, GB"),
}
UP_STATES = ("running", "stalled")


class StatusCollector(Collector):
    def __init__(self, view: Callable[[], View | None]) -> None:
        self.view = view

    def collect(self) -> Iterator[Metric]:
        view = self.view()
        if view is None:
            return
        yield from _samples(view)
        yield from _training(view)
        yield from _rules(view)
        yield from _delivery(view)
        lines = CounterMetricFamily("rlswarm_lines", "log lines evaluated")
        lines.add_metric([], view.lines)
        yield lines
        state = view.state
        info = GaugeMetricFamily(
            "rlswarm_node_info", "this node", labels=["node", "project", "version"]
        )
        info.add_metric([str(state["node"]), str(state["project"]), str(state["version"])], 1)
        yield info


def registry(view: Callable[[], View | None]) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StatusCollector(view))
    return reg


def render(reg: CollectorRegistry) -> bytes:
    return generate_latest(reg)


def _gauge(name: str, text: str, value: float | None) -> Iterable[Metric]:
    if value is None:
        return []
    family = GaugeMetricFamily(name, text)
    family.add_metric([], value)
    return [family]


def _samples(view: View) -> Iterator[Metric]:
    for key, (name, text) in GAUGES.items():
        yield from _gauge(name, text, view.latest.get(key))
    since = view.state["training"].get("seconds_since_progress")
    yield from _gauge("rlswarm_seconds_since_progress", "seconds since the last progress", since)


def _training(view: View) -> Iterator[Metric]:
    training = view.state["training"]
    up = 1.0 if training["state"] in UP_STATES else 0.0
    yield from _gauge("rlswarm_training_up", "1 while the training runs", up)
    restarts = CounterMetricFamily("rlswarm_restarts", "restarts of the training")
    restarts.add_metric([], training["restarts"])
    yield restarts
    applied = 1.0 if training["fix"]["applied"] else 0.0
    yield from _gauge("rlswarm_fix_applied", "1 if the accelerate fix was applied", applied)


def _rules(view: View) -> Iterator[Metric]:
    alerts = CounterMetricFamily(
        "rlswarm_alerts", "notifications decided", labels=["rule", "severity"]
    )
    for (rule, severity), n in sorted(view.alerts.items()):
        alerts.add_metric([rule, severity], n)
    yield alerts
    states = GaugeMetricFamily(
        "rlswarm_rule_state",
        "1 for each rule currently pending or firing",
        labels=["rule", "severity", "state"],
    )
    for rule in view.state["rules"]:
        states.add_metric([rule["id"], rule["severity"], rule["state"]], 1)
    yield states


def _delivery(view: View) -> Iterator[Metric]:
    pending = GaugeMetricFamily(
        "rlswarm_outbox_pending", "alerts waiting in the outbox", labels=["channel"]
    )
    done = CounterMetricFamily(
        "rlswarm_deliveries",
        "alerts delivered (ok) or attempts failed",
        labels=["channel", "result"],
    )
    broken = GaugeMetricFamily(
        "rlswarm_channel_broken",
        "1 for a channel of channels.yaml that could not be built (nothing goes to it), "
        "else 0; the reason is on the dashboard and in the start-up notice",
        labels=["channel"],
    )
    for channel, counts in sorted(view.deliveries.items()):
        pending.add_metric([channel], counts.pending)
        done.add_metric([channel, "ok"], counts.ok)
        done.add_metric([channel, "failed"], counts.failed)
        broken.add_metric([channel], 1 if counts.broken else 0)
    yield pending
    yield done
    yield broken
