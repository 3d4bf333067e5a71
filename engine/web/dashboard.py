"""Wiring the dashboard into `run` and `watch`: options, the publisher, the server.

`open_board` starts the server (a taken port only gives a notice) and returns
the observer the pipeline is to call; `Board.close` publishes the final state
and stops the server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept light: `run --help` imports this module for its options
    from engine.core.engine import Engine
    from engine.notify.channels import ChannelSet
    from engine.notify.delivery import ChannelCounts
    from engine.packs.rule import RuleSet
    from engine.web.publish import Publisher
    from engine.web.server import Dashboard

DEFAULT_PORT = 5000
DEFAULT_BIND = "127.0.0.1"
PORT_ENV = "RLSWARM_DASHBOARD_PORT"
TOKEN_ENV = "RLSWARM_DASHBOARD_TOKEN"
NODE_ENV = "RLSWARM_NODE"


@dataclass(frozen=True)
class DashboardOptions:
    port: int | None = DEFAULT_PORT  # None: no dashboard; 0: any free port
    bind: str = DEFAULT_BIND
    token: str | None = None


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("rlswarm-rules")
    except metadata.PackageNotFoundError:
        return "unknown"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Board:
    """A running dashboard: the publisher the pipeline calls, and the server."""

    def __init__(self, publisher: Publisher, server: Dashboard, url: str) -> None:
        self.publisher, self.server, self.url = publisher, server, url

    def close(self) -> None:
        """After the pipeline has stopped: the final state, then the server ends."""
        self.publisher.publish()
        self.server.stop()


def open_board(
    opts: DashboardOptions,
    rules: RuleSet,
    engine: Engine,
    channels: ChannelSet,
    node: str,
    mode: str,
    notice: Callable[[str], None],
    deliveries: Callable[[], Mapping[str, ChannelCounts]] | None,
) -> Board | None:
    """Start the dashboard; None (after a notice) when it is off or cannot start."""
    if opts.port is None:
        return None
    from engine.errors import DashboardError
    from engine.web.publish import Latest, Publisher
    from engine.web.server import Dashboard, url_of  # aiohttp only when needed
    from engine.web.status import Meta, Progress, Status

    meta = Meta(node, channels.project, version(), mode)
    severities = {r.id: r.severity.label for r in rules.enabled}
    status = Status(meta, Progress.of(rules), severities)
    latest = Latest()
    publisher = Publisher(status, engine, latest, channels.scrub, notice, deliveries)
    publisher.publish()
    server = Dashboard(latest, opts.bind, opts.port, opts.token)
    try:
        url = server.start()
    except DashboardError as exc:
        notice(
            f"dashboard: cannot listen on {url_of(opts.bind, opts.port)} ({exc}); "
            "going on without a dashboard (choose another port with --dashboard-port)"
        )
        return None
    notice(f"dashboard: {url}" + (" (requests need the token)" if opts.token else ""))
    return Board(publisher, server, url)
