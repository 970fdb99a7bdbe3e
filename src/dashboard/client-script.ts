/**
 * The dashboard's only script: draws the charts from the JSON the server embedded. Served
 * as a file (not inline) so the page can forbid inline scripts in its CSP.
 *
 * Bars, not lines, for per-day figures: on day one a line of one point is invisible, a bar is
 * not. Requests and tokens get a chart each: on two auto-scaled axes of one chart their lines
 * lie exactly on top of each other whenever tokens per request is steady.
 */
export const DASHBOARD_SCRIPT = `"use strict";
(function () {
  var el = document.getElementById("chart-data");
  if (!el || typeof Chart === "undefined") return;
  var data = JSON.parse(el.textContent || "{}");
  var days = data.days.map(function (d) { return d.day; });
  var compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
  // The same rule as the server's fmtUsd: cents from $1 up, three significant digits below.
  function usd(n) {
    var abs = Math.abs(n), sign = n < 0 ? "-" : "";
    if (abs === 0) return "$0.00";
    if (abs < 0.000001) return sign + "<$0.000001";
    var decimals = abs >= 1 ? 2 : Math.min(6, Math.max(2, 2 - Math.floor(Math.log10(abs))));
    return sign + "$" + abs.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: decimals });
  }
  function usdTick(v) { return Math.abs(v) >= 1000 ? "$" + compact.format(v) : usd(v); }
  function usdTooltip(ctx) { return ctx.dataset.label + ": " + usd(ctx.parsed.y); }
  function intTooltip(ctx) { return ctx.dataset.label + ": " + Math.round(ctx.parsed.y).toLocaleString("en-US"); }
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var bar = { maxBarThickness: 48, minBarLength: 0 };
  function barChart(id, datasets, yTick, tooltip) {
    return new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: days, datasets: datasets.map(function (d) { return Object.assign({}, bar, d); }) },
      options: {
        scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { callback: yTick } } },
        plugins: { tooltip: { callbacks: { label: tooltip } } }
      }
    });
  }
  barChart("chart-cost", [
    { label: "Frontier", data: data.days.map(function (d) { return d.frontierUsd; }), backgroundColor: "#3559e0" },
    { label: "Open-weight", data: data.days.map(function (d) { return d.openWeightUsd; }), backgroundColor: "#20a386" }
  ], usdTick, usdTooltip);
  barChart("chart-requests", [
    { label: "Requests", data: data.days.map(function (d) { return d.requests; }), backgroundColor: "#b4441b" }
  ], function (v) { return compact.format(v); }, intTooltip);
  barChart("chart-tokens", [
    { label: "Input", data: data.days.map(function (d) { return d.inputTokens; }), backgroundColor: "#6b3fd4" },
    { label: "Output", data: data.days.map(function (d) { return d.outputTokens; }), backgroundColor: "#c28a00" },
    { label: "Cache", data: data.days.map(function (d) { return d.cacheTokens; }), backgroundColor: "#9aa3b5" }
  ], function (v) { return compact.format(v); }, intTooltip);

  // Burn-down over the whole month: what is left so far (solid, with points, so day one is a
  // visible point) and where the month-to-date pace leads (dashed), against a zero line.
  var burn = document.getElementById("chart-burn");
  if (burn && data.burnDown.length > 0) {
    var palette = ["#3559e0", "#20a386", "#b4441b", "#6b3fd4", "#c28a00"];
    var monthDays = data.monthDays;
    var at = function (points) {
      var byDay = {};
      points.forEach(function (p) { byDay[p.day] = p.usd; });
      return monthDays.map(function (d) { return d in byDay ? byDay[d] : null; });
    };
    var datasets = [];
    data.burnDown.slice(0, 5).forEach(function (b, i) {
      var color = palette[i % palette.length];
      datasets.push({ label: b.group + " left (of " + usd(b.limit) + ")", data: at(b.remaining), borderColor: color, backgroundColor: color, pointRadius: 4, spanGaps: false });
      datasets.push({ label: b.group + " at this pace", data: at(b.projection), borderColor: color, borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5, spanGaps: false });
    });
    new Chart(burn, {
      type: "line",
      data: { labels: monthDays, datasets: datasets },
      options: {
        scales: {
          x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { suggestedMin: 0, suggestedMax: data.burnDown.reduce(function (m, b) { return Math.max(m, b.limit); }, 0), title: { display: true, text: "USD left" }, ticks: { callback: usdTick },
               grid: { color: function (ctx) { return ctx.tick && ctx.tick.value === 0 ? "#1d2433" : "rgba(0,0,0,0.1)"; } } }
        },
        plugins: {
          tooltip: { callbacks: { label: usdTooltip } },
          legend: { labels: { filter: function (item) { return !/ at this pace$/.test(item.text); } } }
        }
      }
    });
  }
  window.__gatehouseChartsReady = true;
})();
`;
