"""The dashboard's HTTP server: aiohttp in a daemon thread with its own event loop.

Serves the page (engine/web/static/), `/api/state`, `/api/events` (server-sent
events) and `/metrics`. It only reads `Latest.view`, which the pipeline thread
replaces whole, so a slow or stuck client never holds up evaluation or the
training. With a token, every request needs `Authorization: Bearer TOKEN` (the scheme
in any case, as HTTP has it) or `?token=TOKEN`. Every response carries a strict
Content-Security-Policy: the page's own files only, its two inline scripts by their
hashes, nothing from elsewhere, no framing.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import hmac
import re
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from engine.errors import DashboardError
from engine.web import metrics
from engine.web.publish import Latest

STATIC = Path(__file__).resolve().parent / "static"
STREAM_EVERY_S = 1.0  # an unchanged state is not sent again; a changed one at most this often
KEEP_ALIVE_S = 15.0
POLL_S = 0.1
START_TIMEOUT_S = 10.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PLACEHOLDER = b"""<!doctype html><meta charset="utf-8"><title>rlswarm-rules</title>
<h1>rlswarm-rules</h1><p>The dashboard page is not installed; the API works:
<a href="api/state">/api/state</a>, <a href="metrics">/metrics</a>.</p><pre id="s"></pre>
<script>const q = location.search;
setInterval(async () => { const r = await fetch("api/state" + q);
document.getElementById("s").textContent = JSON.stringify(await r.json(), null, 1); }, 2000);
</script>
"""


_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def content_security_policy(page: bytes) -> str:
    """The policy for `page`: scripts from this origin and the page's inline ones (by their
    SHA-256), styles, images and connections from this origin only, nothing else."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        "default-src 'none'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def page() -> bytes:
    """The page served at `/`: index.html, or a placeholder when it is not installed."""
    index = STATIC / "index.html"
    return index.read_bytes() if index.is_file() else PLACEHOLDER


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class Dashboard:
    def __init__(self, latest: Latest, host: str, port: int, token: str | None = None) -> None:
        self.latest = latest
        self.host, self.port, self.token = host, port, token or None
        self.registry = metrics.registry(lambda: latest.view)
        self.page = page()
        self.policy = content_security_policy(self.page)
        self._thread = threading.Thread(target=self._serve, name="dashboard", daemon=True)
        self._ready = threading.Event()
        self._error: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # --- from the main thread -------------------------------------------------------------

    def start(self) -> str:
        """Serve in the background; returns the URL. Raises DashboardError when it cannot."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise DashboardError("the server did not start in time")
        if self._error is not None:
            raise DashboardError(self._error)
        return url_of(self.host, self.port)

    def stop(self, patience: float = 3.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop has just ended
                pass
        self._thread.join(patience)

    # --- the server's thread --------------------------------------------------------------

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except Exception as exc:
            self._error = self._error or f"{type(exc).__name__}: {exc}"
        finally:
            if not self._ready.is_set():
                self._error = self._error or "the server ended before it started"
                self._ready.set()
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, shutdown_timeout=1.0)
            await site.start()
            self.port = int(runner.addresses[0][1])
        except OSError as exc:
            taken = exc.errno == errno.EADDRINUSE
            self._error = "the port is taken" if taken else (exc.strerror or str(exc))
            await runner.cleanup()
            return
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.on_response_prepare.append(self._headers)
        app.router.add_get("/", self.index)
        app.router.add_get("/api/state", self.state)
        app.router.add_get("/api/events", self.events)
        app.router.add_get("/metrics", self.metrics)
        if STATIC.is_dir():
            app.router.add_static("/static/", STATIC)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.token is not None and not self._authorized(request):
            return web.json_response(
                {"error": "a token is required: Authorization: Bearer TOKEN, or ?token=TOKEN"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="rlswarm-rules"'},
            )
        return await handler(request)

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """On every response, before it is sent: the policy, no sniffing, no referrer (a
        ?token=), no cache."""
        response.headers["Content-Security-Policy"] = self.policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")

    def _authorized(self, request: web.Request) -> bool:
        assert self.token is not None
        given = request.query.get("token", "")
        scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer":
            given = credentials.strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    # --- handlers -------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The page read at start, so that the policy's hashes are those of what is served."""
        return web.Response(body=self.page, content_type="text/html", charset="utf-8")

    async def state(self, request: web.Request) -> web.StreamResponse:
        view = self.latest.view
        body = view.body if view is not None else b'{"error": "starting"}'
        return web.Response(body=body, content_type="application/json", status=200)

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        body = metrics.render(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        try:
            await self._stream(response)
        except ConnectionError:  # the client went away
            pass
        return response

    async def _stream(self, response: web.StreamResponse) -> None:
        loop = asyncio.get_running_loop()
        sent_seq = sent_news = -1
        sent_at = quiet_since = loop.time()
        await response.write(b"retry: 2000\n\n")
        assert self._stop is not None
        while not self._stop.is_set():
            view, now = self.latest.view, loop.time()
            due = now - sent_at >= STREAM_EVERY_S
            if view is not None and view.seq != sent_seq and (due or view.news_seq != sent_news):
                await response.write(b"event: state\ndata: " + view.body + b"\n\n")
                sent_seq, sent_news, sent_at, quiet_since = view.seq, view.news_seq, now, now
            elif now - quiet_since >= KEEP_ALIVE_S:
                await response.write(b": keep-alive\n\n")
                quiet_since = now
            await asyncio.sleep(POLL_S)
