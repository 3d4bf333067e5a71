/* Live charts of the snapshot's series, drawn with the vendored uPlot.
 * Exposes window.RlswarmCharts = {create(host) -> {update(series)}}. No framework, no build step. */
(function () {
  "use strict";

  const AXIS = "#8b98a9";
  const GRID = "rgba(139, 152, 169, 0.14)";
  const HEIGHT = 170;

  /* One entry per chart: which series of the snapshot it draws, and how. */
  const CHARTS = [
    {
      id: "host", title: "Host", unit: "%", max: 100, digits: 0,
      series: [
        ["cpu_percent", "CPU", "#4cc2ff"],
        ["mem_percent", "Memory", "#b48cff"],
        ["swap_percent", "Swap", "#ff9f43"],
        ["disk_percent", "Disk", "#7bd88f"],
      ],
    },
    {
      id: "memory", title: "Training memory", unit: "GB", max: null, digits: 2,
      series: [
        ["proc_rss_gb", "Process RSS", "#4cc2ff"],
        ["accel_mem_gb", "Accelerator", "#ff6b8b"],
      ],
    },
    {
      id: "activity", title: "Training activity", unit: "s", max: null, digits: 0,
      note: "seconds since the last progress line",
      series: [["seconds_since_progress", "Since progress", "#ffd166"]],
    },
  ];

  function node(tag, cls, text) {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function clock(t) {
    return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
  }

  /* 24-hour tick labels; seconds only when ticks are less than a minute apart. */
  function tick(t, step) {
    const d = new Date(t * 1000);
    const two = function (n) { return String(n).padStart(2, "0"); };
    return two(d.getHours()) + ":" + two(d.getMinutes()) + (step < 60 ? ":" + two(d.getSeconds()) : "");
  }

  function format(value, spec) {
    if (value === null || value === undefined || !Number.isFinite(value)) return "—";
    return value.toFixed(spec.digits) + (spec.unit === "%" ? "%" : " " + spec.unit);
  }

  /* y from 0 to a round number above the data (at least 1), or the spec's fixed maximum. */
  function yRange(spec) {
    if (spec.max !== null) return [0, spec.max];
    return function (u, min, max) {
      const top = Number.isFinite(max) && max > 0 ? max * 1.15 : 1;
      const step = Math.pow(10, Math.floor(Math.log10(top)));
      return [0, Math.max(1, Math.ceil(top / step) * step)];
    };
  }

  function options(spec, width, onCursor) {
    return {
      width: width,
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: yRange(spec) } },
      axes: [
        {
          stroke: AXIS, space: 78, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 },
          values: function (u, ticks, axis, space, step) { return ticks.map(function (t) { return tick(t, step); }); },
        },
        {
          stroke: AXIS, size: 52, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 },
          values: function (u, ticks) {
            return ticks.map(function (v) { return spec.unit === "%" ? v + "%" : String(+v.toFixed(2)); });
          },
        },
      ],
      series: [{}].concat(spec.series.map(function (s) {
        return { label: s[1], stroke: s[2], width: 2, fill: s[2] + "1a", spanGaps: false, points: { show: false } };
      })),
      hooks: { setCursor: [function (u) { onCursor(u.cursor.idx); }] },
    };
  }

  /* A legend of our own: the latest value of each series, or the one under the cursor. */
  function buildLegend(spec, box) {
    const legend = node("div", "legend");
    const cells = spec.series.map(function (s) {
      const item = node("span", "legend-item");
      item.dataset.series = s[0];
      const mark = node("i", "mark");
      mark.style.background = s[2];
      const value = node("b", "value", "—");
      item.append(mark, node("span", "label", s[1]), value);
      legend.append(item);
      return value;
    });
    box.append(legend);
    cells.legend = legend;
    return cells;
  }

  function Chart(spec, host) {
    const box = node("figure", "chart");
    box.dataset.chart = spec.id;
    box.dataset.points = "0";
    const caption = node("figcaption", null, spec.title + " ");
    caption.append(node("span", "muted", spec.note ? "(" + spec.unit + ", " + spec.note + ")" : "(" + spec.unit + ")"));
    box.append(caption);
    const cells = buildLegend(spec, box);
    const plotBox = node("div", "plot");
    box.append(plotBox);
    host.append(box);

    let data = [[]].concat(spec.series.map(function () { return []; }));
    const when = node("span", "cursor-time muted");
    cells.legend.append(when);

    function showValues(idx) {
      const last = data[0].length - 1;
      const at = idx === null || idx === undefined || idx < 0 ? last : idx;
      spec.series.forEach(function (s, i) {
        cells[i].textContent = at >= 0 ? format(data[i + 1][at], spec) : "—";
      });
      when.textContent = at >= 0 && at !== last ? "at " + clock(data[0][at]) : "";
    }

    const plot = new uPlot(options(spec, Math.max(plotBox.clientWidth, 200), showValues), data, plotBox);
    new ResizeObserver(function () {
      const width = Math.max(plotBox.clientWidth, 200);
      if (Math.abs(width - plot.width) > 1) plot.setSize({ width: width, height: HEIGHT });
    }).observe(plotBox);

    this.update = function (series) {
      const t = series.t || [];
      data = [t].concat(spec.series.map(function (s) {
        const values = series[s[0]];
        return Array.isArray(values) && values.length === t.length ? values : t.map(function () { return null; });
      }));
      plot.setData(data);
      box.dataset.points = String(t.length);
      showValues(plot.cursor.idx);
    };
  }

  window.RlswarmCharts = {
    create: function (host) {
      const charts = CHARTS.map(function (spec) { return new Chart(spec, host); });
      let lastKey = "";
      return {
        /* Redraws only when the series moved on (new sample, or the window slid). */
        update: function (series) {
          const t = (series && series.t) || [];
          const key = t.length + ":" + (t.length ? t[t.length - 1] : "");
          if (key === lastKey) return t.length;
          lastKey = key;
          charts.forEach(function (c) { c.update(series || {}); });
          host.dataset.points = String(t.length);
          return t.length;
        },
      };
    },
  };
})();
