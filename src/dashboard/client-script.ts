/**
 * The dashboard's only script: draws the charts from the JSON the server embedded. Served
 * as a file (not inline) so the page can forbid inline scripts in its CSP.
 */
export const DASHBOARD_SCRIPT = `"use strict";
(function () {
  var el = document.getElementById("chart-data");
  if (!el || typeof Chart === "undefined") return;
  var data = JSON.parse(el.textContent || "{}");
  var days = data.days.map(function (d) { return d.day; });
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  new Chart(document.getElementById("chart-cost"), {
    type: "bar",
    data: { labels: days, datasets: [
      { label: "Frontier USD", data: data.days.map(function (d) { return d.frontierUsd; }), backgroundColor: "#3559e0", stack: "cost" },
      { label: "Open-weight USD", data: data.days.map(function (d) { return d.openWeightUsd; }), backgroundColor: "#20a386", stack: "cost" }
    ] },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
  });
  new Chart(document.getElementById("chart-volume"), {
    type: "line",
    data: { labels: days, datasets: [
      { label: "Requests", data: data.days.map(function (d) { return d.requests; }), borderColor: "#b4441b", yAxisID: "y" },
      { label: "Tokens", data: data.days.map(function (d) { return d.tokens; }), borderColor: "#6b3fd4", yAxisID: "y1" }
    ] },
    options: { scales: { y: { beginAtZero: true, position: "left" }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } }
  });
  var burn = document.getElementById("chart-burn");
  if (burn && data.burnDown.length > 0) {
    var palette = ["#3559e0", "#20a386", "#b4441b", "#6b3fd4", "#c28a00"];
    new Chart(burn, {
      type: "line",
      data: { labels: data.burnDown[0].remaining.map(function (p) { return p.day; }), datasets: data.burnDown.slice(0, 5).map(function (b, i) {
        return { label: b.group + " (of $" + b.limit + ")", data: b.remaining.map(function (p) { return p.usd; }), borderColor: palette[i % palette.length] };
      }) },
      options: { scales: { y: { title: { display: true, text: "USD left" } } } }
    });
  }
  window.__gatehouseChartsReady = true;
})();
`;
