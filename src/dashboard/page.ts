import type { Aggregate, Percentiles, Totals } from "./queries.ts";
import { monthEnd, type BurnDown, type DashboardReport } from "./report.ts";
import { daysOf } from "./range.ts";
import { esc, fmtCost, fmtInt, fmtMs, fmtPct, fmtRate, fmtUsd, jsonForScript, layout } from "./html.ts";
import { clientsSections, costHtml } from "./clients-page.ts";

const tokensOf = (t: Totals): number => t.inputTokens + t.outputTokens + t.cacheTokens;

function card(test: string, label: string, value: string, raw: number, sub = ""): string {
  return `<div class="card" data-test="${test}" data-value="${raw}"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${sub ? `<div class="sub">${esc(sub)}</div>` : ""}</div>`;
}

/**
 * A key cell that may be cut with an ellipsis (caller ids always, long model names on a
 * phone): the full text is its tooltip, and, as a phone has no hover, tapping (focusing) the
 * cell wraps it to show all of it.
 */
function keyCell(key: string, id: boolean): string {
  return `<td class="${id ? "key id" : "key"}" title="${esc(key)}" tabindex="0">${esc(key)}</td>`;
}

/** A cost's share of the total, or "–" when the cost is unknown (nothing in it had a price). */
function costShare(c: Totals, total: Totals): string {
  return c.unpricedRequests > 0 && c.costUsd === 0 ? "–" : fmtPct(c.costUsd, total.costUsd);
}

/** The token columns are left out on a phone (class "wide"), so Cost and Share stay in view. */
function aggregateTable(test: string, title: string, keyLabel: string, rows: Aggregate[], total: Totals, idColumn = false): string {
  const body = rows
    .map(
      (r) => `<tr data-key="${esc(r.key)}" data-requests="${r.requests}" data-tokens="${tokensOf(r)}" data-cost="${r.costUsd}">
${keyCell(r.key, idColumn)}<td>${fmtInt(r.requests)}</td><td class="wide">${fmtInt(r.inputTokens)}</td><td class="wide">${fmtInt(r.outputTokens)}</td><td class="wide">${fmtInt(r.cacheTokens)}</td><td data-col="cost">${costHtml(r)}</td><td data-col="share">${costShare(r, total)}</td></tr>`,
    )
    .join("");
  return `<section data-test="${test}"><h2>${esc(title)}</h2><table class="aggregate"><thead><tr><th>${esc(keyLabel)}</th><th>Requests</th><th class="wide">Input</th><th class="wide">Output</th><th class="wide">Cache</th><th data-col="cost">Cost</th><th data-col="share">Share</th></tr></thead>
<tbody>${body || `<tr><td colspan="7" class="muted">No requests in this range.</td></tr>`}</tbody></table></section>`;
}

function percentileRow(label: string, test: string, p: Percentiles): string {
  return `<tr data-test="${test}" data-p50="${p.p50 ?? ""}" data-p90="${p.p90 ?? ""}" data-p99="${p.p99 ?? ""}"><td>${esc(label)}</td><td>${fmtMs(p.p50)}</td><td>${fmtMs(p.p90)}</td><td>${fmtMs(p.p99)}</td><td>${fmtInt(p.count)}</td></tr>`;
}

function mcpSection(r: DashboardReport): string {
  const toolRows = r.mcp.tools
    .map(
      (t) =>
        `<tr data-test="mcp-tool" data-key="${esc(`${t.server}_${t.tool}`)}" data-calls="${t.calls}" data-failed="${t.failed}" data-denied="${t.denied}">${keyCell(`${t.server}_${t.tool}`, false)}<td>${fmtInt(t.calls)}</td><td>${fmtInt(t.failed)}</td><td>${fmtInt(t.denied)}</td><td>${fmtMs(t.avgMs)}</td></tr>`,
    )
    .join("");
  const recentRows = r.mcp.recent
    .map(
      (e) =>
        `<tr data-test="mcp-call" data-outcome="${esc(e.outcome)}"><td class="when">${esc(new Date(e.ts).toISOString().slice(0, 19).replace("T", " "))}</td><td class="key id caller wide" title="${esc(e.callerId)}" tabindex="0">${esc(e.callerId)}</td><td class="key" title="${esc(`${e.serverId}_${e.tool}${e.via === "codemode" ? " (code mode)" : ""}`)}" tabindex="0">${esc(`${e.serverId}_${e.tool}`)}${e.via === "codemode" ? ' <span class="muted">(code mode)</span>' : ""}</td><td>${esc(e.outcome)}</td><td>${fmtMs(e.durationMs)}</td></tr>`,
    )
    .join("");
  return `<div class="grid2">
<section data-test="mcp-tools"><h2>MCP tool calls</h2>
${toolRows ? `<table><thead><tr><th>Tool</th><th>Calls</th><th>Failed</th><th>Denied</th><th>Avg</th></tr></thead><tbody>${toolRows}</tbody></table>` : `<p class="muted">No MCP tool calls in this range.</p>`}</section>
<section data-test="mcp-recent"><h2>Latest MCP calls (audit log)</h2>
${recentRows ? `<table><thead><tr><th>When (UTC)</th><th class="wide">Caller</th><th>Tool</th><th>Outcome</th><th>Duration</th></tr></thead><tbody>${recentRows}</tbody></table>` : `<p class="muted">No MCP tool calls in this range.</p>`}</section>
</div>`;
}

function exportLinks(r: DashboardReport): string {
  const q = `from=${r.range.from}&to=${r.range.to}`;
  return ["day", "provider", "model", "team", "caller", "client", "session"].map((by) => `<a href="/dashboard/export.csv?${q}&by=${by}" data-test="export-${by}" download>${by}</a>`).join(" · ");
}

/** Service accounts' spend, apart from people's: named (their id is the cell's tooltip), never mixed into the people's top list. */
function serviceAccountTable(r: DashboardReport, total: Totals): string {
  const rows = r.serviceAccountSpenders
    .map(
      (a) =>
        `<tr data-key="${esc(a.key)}" data-name="${esc(a.name)}" data-requests="${a.requests}" data-cost="${a.costUsd}"><td class="key" title="${esc(a.name)}" tabindex="0">${esc(a.name)}</td><td>${fmtInt(a.requests)}</td><td class="wide">${fmtInt(tokensOf(a))}</td><td data-col="cost">${costHtml(a)}</td><td data-col="share">${costShare(a, total)}</td></tr>`,
    )
    .join("");
  return `<section data-test="service-account-spenders" style="margin-top:18px"><h2>Top spenders: service accounts</h2><table class="aggregate"><thead><tr><th>Service account</th><th>Requests</th><th class="wide">Tokens</th><th data-col="cost">Cost</th><th data-col="share">Share</th></tr></thead>
<tbody>${rows || `<tr><td colspan="5" class="muted">No service account requests in this range.</td></tr>`}</tbody></table></section>`;
}

/** Shown above the charts while they cannot show a trend: one bar is a fact, not a trend. */
export function chartHint(r: Pick<DashboardReport, "daysWithTraffic">): string | undefined {
  if (r.daysWithTraffic === 0) return "No requests in this range yet: the charts fill in once traffic goes through the gateway.";
  if (r.daysWithTraffic === 1) return "Not enough data yet: one day of traffic in this range. Trends show from the second day.";
  return undefined;
}

function paceBasis(daysElapsed: number): string {
  return daysElapsed === 1 ? "from today alone, a rough guess" : `spend so far over ${daysElapsed} days`;
}

/** Why the limit shown is not the configured one (an override or reset), under the amount. */
function limitNote(note: string | undefined): string {
  return note === undefined ? "" : `<br><span class="muted" data-test="limit-note">${esc(note)}</span>`;
}

/** The month's end at the month-to-date pace, in words: "runs out on 03-24" or "$12.50 left". */
function paceText(b: BurnDown): string {
  if (b.spentUsd >= b.limitUsd) return "used up";
  if (b.runsOutOn) return `runs out ${esc(b.runsOutOn.slice(5))}`;
  return `${fmtUsd(b.projectedLeftUsd)} left`;
}

/** The dashboard: figures are rendered on the server; the one script only draws charts from the embedded data. */
export function dashboardPage(r: DashboardReport): string {
  const t = r.totals;
  const o = r.outcomes;
  const denials = Object.values(o.denials).reduce((a, b) => a + b, 0);
  const frontierTokens = tokensOf(r.classes.frontier);
  const openTokens = tokensOf(r.classes.openWeight);
  const allTokens = frontierTokens + openTokens;
  // Per-day charts start at the first day with traffic: on day one a 30-day axis would be 29
  // empty slots and a sliver at the end.
  const firstTraffic = r.days.findIndex((d) => d.requests > 0);
  const chartData = {
    days: firstTraffic > 0 ? r.days.slice(firstTraffic) : r.days,
    monthDays: daysOf({ from: `${r.month}-01`, to: monthEnd(`${r.month}-01`) }),
    burnDown: r.burnDown.map((b) => ({ group: b.group, limit: b.limitUsd, remaining: b.remaining, projection: b.projection })),
  };
  const withPct = (value: string, pct: string) => `${value} <span class="pct">(${pct})</span>`;
  const classRow = (label: string, test: string, c: Totals) =>
    `<tr data-test="${test}" data-requests="${c.requests}" data-tokens="${tokensOf(c)}" data-cost="${c.costUsd}"><td>${label}</td><td>${withPct(fmtInt(c.requests), fmtPct(c.requests, t.requests))}</td><td>${withPct(fmtInt(tokensOf(c)), fmtPct(tokensOf(c), allTokens))}</td><td>${withPct(costHtml(c), costShare(c, t))}</td></tr>`;
  const outcomeRows = [
    ...Object.entries(o.denials).map(([code, n]) => `<tr data-test="denial-${esc(code)}" data-value="${n}"><td>denied: ${esc(code)}</td><td>${fmtInt(n)}</td><td>${fmtPct(n, o.total)}</td></tr>`),
    ...Object.entries(o.rejected).map(([code, n]) => `<tr data-test="rejected-${esc(code)}" data-value="${n}"><td>rejected: ${esc(code)}</td><td>${fmtInt(n)}</td><td>${fmtPct(n, o.total)}</td></tr>`),
  ].join("");
  const burnRows = r.burnDown
    .map(
      (b) =>
        `<tr data-test="burn-${esc(b.group)}" data-spent="${b.spentUsd}" data-limit="${b.limitUsd}" data-projected-left="${b.projectedLeftUsd}" data-runs-out="${b.runsOutOn ?? ""}">${keyCell(b.group, false)}<td class="wide">${fmtUsd(b.limitUsd)}${limitNote(b.note)}</td><td>${fmtUsd(b.spentUsd)}</td><td>${fmtUsd(b.limitUsd - b.spentUsd)}</td><td>${fmtPct(b.spentUsd, b.limitUsd)}</td><td data-col="pace">${paceText(b)}</td></tr>`,
    )
    .join("");
  const userRows = r.userBurn
    .map(
      (u) =>
        `<tr data-test="user-burn" data-key="${esc(u.callerId)}" data-spent="${u.spentUsd}"${u.serviceAccount !== undefined ? ' data-kind="service"' : ""}>${u.serviceAccount !== undefined ? `<td class="key" title="${esc(`service account ${u.serviceAccount}`)}" tabindex="0"><span class="muted">service account</span> ${esc(u.serviceAccount)}</td>` : keyCell(u.callerId, true)}<td>${fmtUsd(u.limitUsd)}${limitNote(u.note)}</td><td>${fmtUsd(u.spentUsd)}</td><td>${fmtPct(u.spentUsd, u.limitUsd)}</td></tr>`,
    )
    .join("");
  const hint = chartHint(r);

  const body = `<header>
<h1>Gatehouse usage</h1>
<form class="inline" method="get" action="/dashboard" data-test="range-form">
<label>From <input type="date" name="from" value="${esc(r.range.from)}" required></label>
<label>To <input type="date" name="to" value="${esc(r.range.to)}" required></label>
<button type="submit">Apply</button>
</form>
<div class="muted">CSV by ${exportLinks(r)} · <a href="/dashboard/requests" data-test="requests-link">Request log</a> · <a href="/dashboard/audit" data-test="admin-audit-link">Admin audit log</a></div>
<form method="post" action="/dashboard/logout"><button class="secondary" type="submit">Sign out</button></form>
</header>
<main>
<div class="cards">
${card("total-requests", "Requests", fmtInt(t.requests), t.requests, `${r.range.from} → ${r.range.to}`)}
${card("total-tokens", "Tokens", fmtInt(tokensOf(t)), tokensOf(t), `${fmtInt(t.inputTokens)} in · ${fmtInt(t.outputTokens)} out · ${fmtInt(t.cacheTokens)} cache`)}
${card("total-cost", "Cost", fmtCost(t), t.costUsd, [t.estimatedUsd > 0 ? `of which ${fmtUsd(t.estimatedUsd)} estimated (usage never sent)` : "", t.unpricedRequests > 0 ? `+ ${fmtInt(t.unpricedRequests)} unpriced requests: their cost is unknown and not in the total (price them under pricing: in gatehouse.yaml)` : ""].filter(Boolean).join("; "))}
${card("cache-hit-rate", "Prompt-cache hit rate", fmtRate(r.clients.cacheTotal.cacheHitRate), r.clients.cacheTotal.cacheHitRate ?? 0, `${fmtInt(r.clients.cacheTotal.cacheReadTokens)} of ${fmtInt(r.clients.cacheTotal.allInputTokens)} input tokens read from cache`)}
${card("frontier-share", "Frontier / open-weight", `${fmtPct(frontierTokens, allTokens)} / ${fmtPct(openTokens, allTokens)}`, allTokens === 0 ? 0 : frontierTokens / allTokens, "share of tokens")}
${card("error-rate", "Error rate", fmtPct(o.errors, o.forwarded), o.forwarded === 0 ? 0 : o.errors / o.forwarded, `${fmtInt(o.errors)} of ${fmtInt(o.forwarded)} forwarded`)}
${card("denial-rate", "Denial rate", fmtPct(denials, o.total), o.total === 0 ? 0 : denials / o.total, `${fmtInt(denials)} refused by policy`)}
</div>
${hint ? `<p class="hint" data-test="chart-hint" role="note">${esc(hint)}</p>` : ""}
<div class="grid3">
<section><h2>Cost per day</h2><div class="chart"><canvas id="chart-cost" aria-label="Cost per day, frontier and open-weight"></canvas></div></section>
<section><h2>Requests per day</h2><div class="chart"><canvas id="chart-requests" aria-label="Requests per day"></canvas></div></section>
<section><h2>Tokens per day</h2><div class="chart"><canvas id="chart-tokens" aria-label="Tokens per day: input, output, cache"></canvas></div></section>
</div>
<div class="grid2">
<section data-test="classes"><h2>Frontier vs open-weight</h2><table><thead><tr><th>Class</th><th>Requests</th><th>Tokens</th><th>Cost</th></tr></thead><tbody>
${classRow("Frontier", "class-frontier", r.classes.frontier)}${classRow("Open-weight", "class-open-weight", r.classes.openWeight)}</tbody></table>
<p class="muted">Open-weight = the OpenAI-compatible route (<code>/compat</code>); every other route is a frontier provider.</p></section>
${aggregateTable("providers", "By provider", "Provider", r.providers, t)}
</div>
<div class="grid2">
${aggregateTable("models", "By model (top 15)", "Model", r.models, t)}
${aggregateTable("teams", "By team (top 15)", "Team", r.teams, t)}
</div>
<div class="grid2">
<div>
${aggregateTable("spenders", "Top spenders: people (anonymous ids)", "Person", r.spenders, t, true)}
${serviceAccountTable(r, t)}
</div>
<section data-test="latency"><h2>Latency</h2><table><thead><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>Requests</th></tr></thead><tbody>
${percentileRow("Whole request", "latency-duration", r.latency.duration)}${percentileRow("Time to first byte", "latency-ttfb", r.latency.ttfb)}</tbody></table>
<h2 style="margin-top:16px">Errors and denials</h2><table><thead><tr><th>Outcome</th><th>Requests</th><th>Share of all</th></tr></thead><tbody>
<tr data-test="errors" data-value="${o.errors}"><td>upstream errors</td><td>${fmtInt(o.errors)}</td><td>${fmtPct(o.errors, o.total)}</td></tr>${outcomeRows}</tbody></table></section>
</div>
<div class="grid2">
<section data-test="burn-down"><h2>Budget burn-down, ${esc(r.month)}</h2>
${r.burnDown.length > 0 ? `<div class="chart"><canvas id="chart-burn" aria-label="Remaining group budgets this month"></canvas></div><p class="muted">Solid: money left at the end of each day so far. Dashed: where this month's pace (${esc(paceBasis(r.monthDaysElapsed))}) leads by the month's end.</p>` : `<p class="muted">No group has a monthly budget (policy.groups.&lt;g&gt;.budget.group.monthlyUsd).</p>`}
${burnRows ? `<table><thead><tr><th>Group</th><th class="wide">Budget</th><th>Spent</th><th>Left</th><th>Burned</th><th data-col="pace">At this pace</th></tr></thead><tbody>${burnRows}</tbody></table>` : ""}</section>
<section data-test="user-burn-table"><h2>Users closest to their monthly budget</h2>
${userRows ? `<table><thead><tr><th>Caller</th><th>Budget</th><th>Spent</th><th>Burned</th></tr></thead><tbody>${userRows}</tbody></table>` : `<p class="muted">No per-user monthly budgets in use.</p>`}</section>
</div>
${clientsSections(r.clients, t.costUsd)}
${mcpSection(r)}
<script type="application/json" id="chart-data">${jsonForScript(chartData)}</script>
</main>`;
  return layout("Gatehouse usage", body, ["/dashboard/assets/chart.umd.js", "/dashboard/assets/dashboard.js"]);
}
