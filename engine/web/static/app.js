/* The dashboard page: follows /api/events (server-sent events), falls back to polling
 * /api/state every 2 s, and renders each snapshot. Server text is only ever set as text.
 * window.rlswarm exposes what the page has seen (for people at the console, and the tests). */
(function () {
  "use strict";

  const POLL_MS = 2000;        // polling period once the stream failed
  const LOST_MAX_MS = 10000;   // polling slows down to this while the server is unreachable
  // An open stream that delivers no state this long counts as broken (a proxy that buffers,
  // a half-open connection). The server sends when the state changes, i.e. at least with
  // every sample (--interval, 10 s by default); its keep-alive comments never reach scripts.
  const STALE_MS = 30000;
  const STREAM_RETRY_MS = 30000; // while polling works, try the stream again this often

  const token = new URLSearchParams(window.location.search).get("token");
  const view = (window.rlswarm = {
    transport: "connecting", updates: 0, points: 0, snapshot: null, lostSince: null, badPayloads: 0,
    statesSeen: [], // each training state shown, in order (a state is listed again after another)
  });

  function $(id) { return document.getElementById(id); }

  /* A relative API URL (works behind a path prefix) carrying the page's own token. */
  function apiUrl(path) {
    const url = new URL(path, window.location.href);
    url.search = "";
    if (token) url.searchParams.set("token", token);
    return url.toString();
  }

  /* Element with text children only (strings become text nodes) and data-* attributes. */
  function h(tag, attrs) {
    const el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      const v = attrs[k];
      if (v === null || v === undefined) return;
      if (k === "class") el.className = v;
      else if (k === "title") el.title = String(v);
      else el.setAttribute(k, String(v));
    });
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  function setText(id, text) {
    const el = $(id);
    const value = text === null || text === undefined || text === "" ? "—" : String(text);
    if (el.textContent !== value) el.textContent = value;
  }

  function duration(s) {
    if (s === null || s === undefined || !Number.isFinite(s)) return null;
    s = Math.max(0, Math.round(s));
    const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d) return d + "d " + hr + "h";
    if (hr) return hr + "h " + m + "m";
    if (m) return m + "m " + sec + "s";
    return sec + "s";
  }

  function clock(t) {
    if (!Number.isFinite(t)) return "—";
    const date = new Date(t * 1000);
    const time = date.toLocaleTimeString([], { hour12: false });
    return date.toDateString() === new Date().toDateString()
      ? time : date.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time;
  }

  function chip(kind, value) {
    return h("span", { class: "chip " + kind, "data-value": value }, value);
  }

  /* ---- rendering ---- */

  function renderHeader(s) {
    setText("node", [s.node, s.project && s.project !== s.node ? s.project : null].filter(Boolean).join(" · "));
    setText("mode", s.mode);
    setText("version", "rlswarm-rules " + (s.version || ""));
    setText("updated", "updated " + clock(s.now));
    document.title = (s.training && s.training.state ? s.training.state + " · " : "") + (s.node || "rlswarm-rules");
  }

  function renderTraining(tr) {
    const state = $("state");
    const name = tr.state || "unknown";
    if (view.statesSeen[view.statesSeen.length - 1] !== name) view.statesSeen.push(name);
    state.textContent = name;
    state.dataset.state = name;
    $("exit-code").textContent = tr.exit_code === null || tr.exit_code === undefined ? "" : "exit code " + tr.exit_code;
    setText("uptime", duration(tr.uptime_s));
    setText("restarts", tr.restarts);
    const since = duration(tr.seconds_since_progress);
    setText("last-progress", since === null ? "none yet" : since + " ago");
    setText("pid", tr.pid);
    const fix = tr.fix || {};
    const applied = fix.applied === true ? "applied" : fix.applied === false ? "not applied" : "not reported";
    setText("fix", applied);
    $("fix").dataset.applied = String(fix.applied === undefined ? null : fix.applied);
    $("fix-detail").textContent = fix.detail || "";
    $("command").textContent = tr.command ? "$ " + tr.command : "";
  }

  function renderRules(rules, now) {
    const rows = rules.map(function (r) {
      return h("tr", { "data-rule": r.id, "data-state": r.state, "data-severity": r.severity },
        h("td", { class: "rule mono" }, r.id),
        h("td", { "data-label": "severity" }, chip("sev", r.severity)),
        h("td", { "data-label": "state" }, chip("rule-state", r.state)),
        h("td", { "data-label": "for" }, duration(now - r.since) || "—"),
        h("td", { class: "summary" }, r.summary || ""));
    });
    $("rules").tBodies[0].replaceChildren.apply($("rules").tBodies[0], rows);
    $("rules").hidden = rows.length === 0;
    $("rules-empty").hidden = rows.length > 0;
    setText("rules-count", rows.length);
    $("rules-count").dataset.n = String(rows.length);
  }

  let shownAlerts = null; // ids of the alerts on screen (null before the first snapshot)
  let alertsKey = null;

  function renderAlerts(alerts) {
    const key = JSON.stringify(alerts);
    if (key === alertsKey) return;
    alertsKey = key;
    const before = shownAlerts;
    shownAlerts = new Set();
    const items = alerts.map(function (a) {
      const id = a.t + "|" + a.key + "|" + a.reason;
      const fresh = before !== null && !before.has(id);
      shownAlerts.add(id);
      return h("li", { class: fresh ? "fresh" : null, "data-rule": a.rule, "data-severity": a.severity, "data-reason": a.reason },
        h("div", { class: "alert-head" },
          h("time", { datetime: new Date(a.t * 1000).toISOString(), title: new Date(a.t * 1000).toString() }, clock(a.t)),
          chip("sev", a.severity),
          h("span", { class: "rule mono" }, a.rule),
          h("span", { class: "reason", title: "why it was sent" }, a.reason)),
        h("p", { class: "summary" }, a.summary || ""));
    });
    $("alerts").replaceChildren.apply($("alerts"), items);
    $("alerts-empty").hidden = items.length > 0;
    setText("alerts-count", items.length);
  }

  function renderOutbox(box) {
    const channels = box.channels || [];
    const pending = box.pending || 0;
    $("outbox").dataset.pending = String(pending);
    const failing = channels.filter(function (c) { return c.failing; }).length;
    const waiting = pending ? pending + " alert" + (pending === 1 ? "" : "s") + " waiting to be delivered."
      : channels.length ? "Nothing waiting: every alert was delivered." : "Nothing waiting.";
    $("outbox-summary").textContent = waiting + (failing ? " " + failing + " channel" + (failing === 1 ? "" : "s") + " failing." : "");
    $("outbox-summary").className = pending || failing ? "warn" : "empty";
    const items = channels.map(function (c) {
      return h("li", { "data-channel": c.name, "data-failing": String(!!c.failing), "data-broken": String(!!c.broken) },
        h("div", { class: "channel-head" },
          h("span", { class: "mono" }, c.name),
          chip("delivery", c.broken ? "broken" : c.failing ? "failing" : "ok"),
          h("span", { class: "muted" }, (c.pending || 0) + " pending")),
        c.last_error ? h("p", { class: "error mono small" }, c.last_error) : null);
    });
    $("channels").replaceChildren.apply($("channels"), items);
  }

  let charts = null;

  function render(s) {
    renderHeader(s);
    renderTraining(s.training || {});
    renderRules(s.rules || [], s.now);
    renderAlerts(s.alerts || []);
    renderOutbox(s.outbox || {});
    if (charts === null && window.uPlot) charts = window.RlswarmCharts.create($("chart-host"));
    if (charts !== null) view.points = charts.update(s.series || {});
  }

  /* Parses and renders one snapshot. Returns "ok", "waiting" (the server has no state yet:
   * {"error": "starting"}) or "bad" (not a snapshot). */
  function accept(text) {
    let snapshot = null;
    try {
      snapshot = JSON.parse(text);
    } catch (e) {
      snapshot = null;
    }
    if (snapshot && typeof snapshot.error === "string" && !snapshot.training) return "waiting";
    if (!snapshot || typeof snapshot !== "object" || typeof snapshot.training !== "object") {
      view.badPayloads += 1;
      return "bad";
    }
    view.snapshot = snapshot;
    view.updates += 1;
    render(snapshot);
    return "ok";
  }

  /* ---- connection ---- */

  const CONN_TEXT = { connecting: "connecting…", live: "live", polling: "live (polling every 2 s)" };

  function setConn(state, detail) {
    view.transport = state;
    document.body.dataset.conn = state;
    const conn = $("conn");
    conn.dataset.state = state;
    const banner = $("banner");
    if (state === "lost" || state === "denied") {
      if (view.lostSince === null) view.lostSince = Date.now() / 1000;
      conn.textContent = state === "denied" ? "not authorized" : "disconnected";
      banner.textContent = state === "denied"
        ? "The server refused the request (" + detail + "): open the page with ?token=YOUR_TOKEN in its address."
        : "Connection lost at " + clock(view.lostSince) + " (the run may have ended). Showing the last data received; retrying…";
      banner.hidden = false;
    } else {
      view.lostSince = null;
      conn.textContent = CONN_TEXT[state] || state;
      banner.hidden = true;
    }
  }

  let source = null;
  let staleTimer = null;
  let pollTimer = null;
  let lastStreamTry = 0;
  let lostDelay = POLL_MS;

  function startStream() {
    if (!window.EventSource) return startPolling();
    lastStreamTry = Date.now();
    source = new EventSource(apiUrl("api/events"));
    source.addEventListener("state", function (event) {
      if (accept(event.data) === "ok") setConn("live");
      armStale();
    });
    source.onerror = fallBack; // EventSource would retry silently; poll instead, visibly
    armStale();
  }

  function armStale() {
    clearTimeout(staleTimer);
    staleTimer = setTimeout(fallBack, STALE_MS);
  }

  function fallBack() {
    clearTimeout(staleTimer);
    if (source !== null) {
      source.close();
      source = null;
    }
    startPolling();
  }

  function startPolling() {
    if (pollTimer === null) poll();
  }

  function poll() {
    pollTimer = -1;
    fetch(apiUrl("api/state"), { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          setConn("denied", "HTTP " + response.status);
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (text) {
        if (text === null) return again(LOST_MAX_MS);
        const got = accept(text);
        if (got === "bad") throw new Error("not a snapshot");
        setConn(got === "ok" ? "polling" : "connecting");
        lostDelay = POLL_MS;
        if (window.EventSource && Date.now() - lastStreamTry > STREAM_RETRY_MS) {
          pollTimer = null;
          return startStream();
        }
        again(POLL_MS);
      })
      .catch(function () {
        setConn("lost");
        again(lostDelay);
        lostDelay = Math.min(lostDelay * 2, LOST_MAX_MS);
      });
  }

  function again(delay) {
    pollTimer = setTimeout(poll, delay);
  }

  startStream();
})();
