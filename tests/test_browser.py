"""The dashboard page in a real browser: Debian's chromium, headless, against real supervised runs.

Playwright only drives /usr/bin/chromium (it never downloads a browser). Without that binary
the tests are skipped with the reason, unless the environment variable CI is set, where they
fail. Every request the page makes must go to 127.0.0.1; any other is refused and reported.
Screenshots are written to test-artifacts/ at the repository root (git-ignored) and their
paths are printed in the test output.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOTICE = re.compile(r"\[rlswarm-rules\] dashboard: (http://127\.0\.0\.1:\d+/)")
# What chromium itself logs when a request of the page fails (server gone, request refused).
NETWORK_FAILURE = "Failed to load resource: net::"
TOKEN = "s3cret-t0ken-for-the-browser-test"


def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    why = f"{CHROMIUM} is missing (bin/setup-system installs Debian's chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI is set, so the browser tests must run")
    pytest.skip(why)


class Run:
    """`rlswarm-rules run --dashboard-port 0` in a directory of its own; a thread reads stderr."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RLSWARM_DASHBOARD")},
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "run", "--dashboard-port", "0", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace"))

    def stderr(self) -> str:
        return "".join(self.lines)

    def url(self, timeout: float = 60) -> str:
        """The page's address, from the `dashboard: http://...` notice."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := NOTICE.search(line):
                    return found.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(f"no dashboard notice from `run`; its stderr:\n{self.stderr()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    path = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page whose console errors, uncaught exceptions and requests are recorded; requests
    that would leave 127.0.0.1 are refused."""

    def __init__(self, browser: Any, width: int, height: int) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.strays: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])"), self._refuse)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _refuse(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob"):
            route.continue_()
            return
        self.strays.append(url)
        route.abort()

    def state(self) -> dict[str, Any]:
        return dict(self.page.evaluate("() => window.rlswarm"))

    def wait(self, condition: str, timeout_s: float) -> None:
        """Until the JavaScript `condition` holds on the page. Polled from here: Playwright's
        `wait_for_function` builds its predicate with `new Function`, which the page's
        Content-Security-Policy (no 'unsafe-eval') refuses, as it should."""
        deadline = time.monotonic() + timeout_s
        while not self.page.evaluate(f"() => Boolean({condition})"):
            assert time.monotonic() < deadline, f"not true within {timeout_s}s: {condition}"
            self.page.wait_for_timeout(100)

    def screenshot(self, request: pytest.FixtureRequest, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        show(request, f"screenshot: {path}")
        return path


def show(request: pytest.FixtureRequest, text: str) -> None:
    """A line in the test output, with or without -s (and in the report's sections, -rA)."""
    request.node.add_report_section("call", "artifacts", text)
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write("\n" + text + "\n")


# Counts the pixels of a chart's canvas drawn in the colour of its first series (read from
# the legend), i.e. how much of that line is on screen.
LINE_PIXELS = """(chart) => {
  const figure = document.querySelector(`#chart-host [data-chart="${chart}"]`);
  const rgb = getComputedStyle(figure.querySelector(".legend .mark")).backgroundColor
    .match(/\\d+/g).map(Number);
  const canvas = figure.querySelector("canvas");
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < px.length; i += 4) {
    const d = Math.abs(px[i] - rgb[0]) + Math.abs(px[i + 1] - rgb[1])
      + Math.abs(px[i + 2] - rgb[2]);
    if (px[i + 3] > 200 && d < 60) n += 1;
  }
  return n;
}"""


def test_page_follows_a_demo_run_whose_loss_turns_nan(
    tmp_path: Path, runs: list[Run], browser: Any, request: pytest.FixtureRequest
) -> None:
    run = Run(tmp_path, "--demo-fault", "nan", "--interval", "1s")
    runs.append(run)
    url = run.url()
    watched = Watched(browser, 1360, 900)
    page = watched.page
    page.goto(url)

    watched.wait("window.rlswarm && window.rlswarm.updates >= 2", 30)
    assert watched.state()["transport"] == "live", "the page should follow /api/events"
    watched.wait("document.querySelector('#state').dataset.state === 'running'", 60)
    first = watched.state()["points"]
    watched.wait(f"window.rlswarm.points >= {first + 3}", 30)
    points = watched.state()["points"]
    assert page.get_attribute("#chart-host", "data-points") == str(points)
    charts = page.eval_on_selector_all("#chart-host figure", "fs => fs.map(f => f.dataset.chart)")
    assert charts == ["host", "memory", "activity"]
    assert page.locator("#chart-host canvas").count() == 3

    # The fault: from the fourth epoch on the loss is NaN; the alert arrives with its reason.
    alert = page.wait_for_selector('#alerts li[data-rule="nan-loss"]', timeout=120_000)
    assert alert is not None
    assert alert.get_attribute("data-reason") == "first"
    assert alert.get_attribute("data-severity") == "error"
    text = alert.inner_text()
    assert "first" in text and "NaN" in text, text
    assert watched.state()["transport"] == "live"
    assert page.get_attribute("#state", "data-state") == "running"
    assert page.get_attribute("#fix", "data-applied") == "true", page.text_content("#fix")
    assert page.text_content("#uptime") not in ("", "—")
    assert int(page.text_content("#alerts-count") or 0) >= 1
    assert rule_states(page) <= {"pending", "firing"}
    assert page.eval_on_selector_all("#channels li", CHANNELS) == {
        "console": "false",
        "journal": "false",
    }
    time.sleep(3)  # the new alert's highlight fades; two or three more samples arrive
    assert watched.state()["points"] > points, "the charts' data stopped growing"
    for chart in ("host", "memory", "activity"):
        assert page.evaluate(LINE_PIXELS, chart) > 20, f"the {chart} chart has no line drawn"
    watched.screenshot(request, "dashboard.png")
    assert watched.errors == [], "console errors while the run was live"
    assert watched.strays == []
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in watched.requests)

    # The demo ends by itself; the page says the connection is gone and throws nothing.
    assert run.proc.wait(120) == 0, run.stderr()
    watched.wait("window.rlswarm.transport === 'lost'", 30)
    assert page.is_visible("#banner")
    assert "Connection lost" in (page.text_content("#banner") or "")
    assert page.text_content("#conn") == "disconnected"
    time.sleep(3)  # a few more retries against the closed port
    assert [e for e in watched.errors if not e.startswith(NETWORK_FAILURE)] == []
    assert watched.strays == []


QUIET_RULES = """\
signals:
  - name: step
    log: '^step \\d+'
rules:
  - id: child-quiet
    severity: warning
    absent: step
    for: 3s
    summary: "no step for {silent_for}"
    labels: {category: stall_no_progress}
  - id: markup
    severity: info
    log: '<img'
    summary: "markup in the output: {line}"
  - id: long-uptime
    severity: info
    metric: uptime_s >= 0
    for: 1h
    summary: "up for {uptime_s:.0f}s"
"""
HOOK_SECRET = "hunter2-hook-password"
CHANNELS = "items => Object.fromEntries(items.map(li => [li.dataset.channel, li.dataset.failing]))"


def channels_with_a_dead_hook() -> str:
    """The terminal, the journal, and a webhook on a loopback port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return (
        "channels:\n"
        "  - {name: console, url: 'console://'}\n"
        "  - {name: journal, url: 'jsonl://.rlswarm/alerts.jsonl'}\n"
        f"  - {{name: hook, url: 'json://bot:${{HOOK_SECRET}}@127.0.0.1:{port}/hook'}}\n"
    )


def rule_states(page: Any) -> set[str]:
    return set(
        page.eval_on_selector_all("#rules tr[data-rule]", "rs => rs.map(r => r.dataset.state)")
    )


# Prints markup (the page must show it as text), a step a few times, then goes quiet
# (the `child-quiet` rule fires 3 s later).
QUIET_CHILD = """\
import time
print("<img src=/pwned onerror=window.pwned=1> <b>bold</b>", flush=True)
for i in range(6):
    print(f"step {i}", flush=True)
    time.sleep(0.4)
time.sleep(600)
"""


def test_page_with_a_token_on_a_phone_polls_when_the_stream_fails(
    tmp_path: Path, runs: list[Run], browser: Any, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "quiet.yaml").write_text(QUIET_RULES)
    (tmp_path / "channels.yaml").write_text(channels_with_a_dead_hook())
    run = Run(
        tmp_path, "--rules", "quiet.yaml", "--dashboard-token", TOKEN, "--interval", "1s",
        "--", sys.executable, "-c", QUIET_CHILD, env={"HOOK_SECRET": HOOK_SECRET},
    )  # fmt: skip
    runs.append(run)
    url = run.url()
    watched = Watched(browser, 390, 844)
    page = watched.page
    page.route("**/api/events*", lambda route: route.abort())  # the stream fails at once
    page.goto(f"{url}?token={TOKEN}")

    watched.wait("window.rlswarm && window.rlswarm.updates >= 2", 30)
    assert watched.state()["transport"] == "polling"
    pending = page.wait_for_selector('#rules tr[data-rule="long-uptime"]', timeout=30_000)
    assert pending is not None and pending.get_attribute("data-state") == "pending"
    firing = page.wait_for_selector('#rules tr[data-rule="child-quiet"]', timeout=30_000)
    assert firing is not None and firing.get_attribute("data-state") == "firing"
    alert = page.wait_for_selector('#alerts li[data-rule="child-quiet"]', timeout=30_000)
    assert alert is not None and alert.get_attribute("data-reason") == "first"
    assert "no step for" in alert.inner_text()
    markup = page.wait_for_selector('#alerts li[data-rule="markup"]', timeout=30_000)
    assert markup is not None and "<img src=/pwned" in markup.inner_text()
    assert page.locator("#alerts img, #alerts b").count() == 0
    assert page.evaluate("() => window.pwned") is None
    hook = page.wait_for_selector(
        '#channels li[data-channel="hook"][data-failing="true"]', timeout=30_000
    )
    assert hook is not None
    assert hook.eval_on_selector(".chip", "c => c.textContent") == "failing"
    assert "error" in hook.eval_on_selector(".error", "e => e.textContent").lower()
    assert page.eval_on_selector_all("#channels li", CHANNELS)["journal"] == "false"
    assert int(page.get_attribute("#outbox", "data-pending") or 0) >= 1
    assert rule_states(page) == {"pending", "firing"}
    watched.wait("document.querySelector('#state').dataset.state === 'stalled'", 15)
    assert sys.executable in (page.text_content("#command") or "")
    first = watched.state()["points"]
    watched.wait(f"window.rlswarm.points > {first}", 15)
    assert watched.state()["transport"] == "polling"

    polls = [u for u in watched.requests if "/api/state" in u]
    assert polls and all(f"token={TOKEN}" in u for u in polls)
    assert all("token=" in u for u in watched.requests if "/static/" in u)
    for secret in (TOKEN, HOOK_SECRET):
        assert secret not in page.inner_text("body")
    assert HOOK_SECRET not in page.evaluate("() => JSON.stringify(window.rlswarm.snapshot)")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
    time.sleep(3)  # the new alert's highlight fades
    watched.screenshot(request, "dashboard-phone.png")

    refused_stream = [e for e in watched.errors if e.startswith(NETWORK_FAILURE)]
    assert [e for e in watched.errors if e not in refused_stream] == []
    assert watched.strays == []

    run.stop()
    watched.wait("window.rlswarm.transport === 'lost'", 30)
    assert page.is_visible("#banner")
    assert [e for e in watched.errors if not e.startswith(NETWORK_FAILURE)] == []


def test_page_shows_a_channel_that_could_not_be_built(
    tmp_path: Path, runs: list[Run], browser: Any, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "channels.yaml").write_text(
        "channels:\n  - name: console\n    url: console://\n"
        "  - name: phone\n    url: tgram://${TG_TOKEN_NOT_SET}/123\n"
    )
    run = Run(tmp_path, "--", sys.executable, "-c", "import time; time.sleep(600)")
    runs.append(run)
    watched = Watched(browser, 1280, 900)
    page = watched.page
    page.goto(run.url())
    phone = page.wait_for_selector(
        '#channels li[data-channel="phone"][data-broken="true"]', timeout=30_000
    )
    assert phone is not None
    assert phone.eval_on_selector(".chip", "c => c.textContent") == "broken"
    reason = phone.eval_on_selector(".error", "e => e.textContent")
    assert reason.startswith("not built: ${TG_TOKEN_NOT_SET} not set")
    console = page.eval_on_selector_all("#channels li", CHANNELS)["console"]
    assert console == "false"
    watched.screenshot(request, "dashboard-broken-channel.png")
    assert watched.errors == [] and watched.strays == []
