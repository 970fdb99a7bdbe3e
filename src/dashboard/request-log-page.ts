import type { CapturedBodiesTable } from "../store/schema.ts";
import { esc, fmtInt, fmtMs, fmtUsd, layout } from "./html.ts";
import { formatPageKey, logQueryString, type FilterParam, type ParsedLogQuery } from "./request-log-filters.ts";
import { CLIENT_COLUMN, OUTCOMES, type RequestDetail, type RequestPage, type RequestSummary } from "./request-log-queries.ts";

/**
 * The request log's pages (docs/dashboard.md#request-log), rendered on the server. Every value
 * from the ledger or a captured body — model names, error codes, ids, bodies — comes from
 * clients and upstreams, so each goes through `esc`, in text and in attributes alike.
 */

const LOG_STYLE = `
form.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:8px 12px;align-items:end}form.filters label{display:grid;gap:2px;font-size:12px;color:var(--muted)}
form.filters .actions{display:flex;gap:8px}.badge{display:inline-block;padding:0 6px;border-radius:8px;background:#e8ecfb;color:var(--accent);font-size:11px;margin-right:4px}
nav.pages{display:flex;gap:16px;margin-top:10px}pre.body{white-space:pre-wrap;overflow-wrap:anywhere;max-height:480px;overflow:auto;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:10px;font-size:12px}
table.fields td:first-child{color:var(--muted);width:220px}table.fields td{text-align:left;white-space:normal;overflow-wrap:anywhere}
`;

const when = (ts: number): string => new Date(ts).toISOString().slice(0, 23).replace("T", " ");

function logHeader(title: string): string {
  return `<header><h1>${esc(title)}</h1><nav class="muted"><a href="/dashboard" data-test="usage-link">Usage</a> · <a href="/dashboard/requests" data-test="requests-link">Request log</a></nav>
<form method="post" action="/dashboard/logout"><button class="secondary" type="submit">Sign out</button></form></header>`;
}

function input(name: FilterParam, label: string, values: ParsedLogQuery["values"], placeholder = "", disabled = false): string {
  return `<label>${esc(label)}<input name="${name}" value="${esc(values[name] ?? "")}" placeholder="${esc(placeholder)}"${disabled ? ' disabled title="The ledger has no client column yet."' : ""}></label>`;
}

function select(name: FilterParam, label: string, options: readonly string[], values: ParsedLogQuery["values"]): string {
  const current = values[name] ?? "";
  const opts = ["", ...options].map((o) => `<option value="${esc(o)}"${o === current ? " selected" : ""}>${esc(o || "any")}</option>`).join("");
  return `<label>${esc(label)}<select name="${name}">${opts}</select></label>`;
}

function filterForm(q: ParsedLogQuery, providers: readonly string[]): string {
  const v = q.values;
  return `<section><form class="filters" method="get" action="/dashboard/requests" data-test="request-filters">
${input("from", "From (UTC)", v, "YYYY-MM-DD or YYYY-MM-DDTHH:MM")}${input("to", "To (UTC, exclusive)", v, "YYYY-MM-DD or YYYY-MM-DDTHH:MM")}
${input("caller", "User (caller id)", v, "anonymous id")}${input("service_account", "Service account", v, "name")}${select("kind", "Caller kind", ["person", "service"], v)}
${input("model", "Model (answered or asked for)", v)}${select("provider", "Provider", providers, v)}${input("client", "Client", v, "", CLIENT_COLUMN === undefined)}
${select("outcome", "Outcome", OUTCOMES, v)}${input("status", "Status", v, "429, 4xx, 0")}${input("min_cost", "Min cost (USD)", v, "0.05")}
<div class="actions"><button type="submit">Apply</button><a href="/dashboard/requests" data-test="clear-filters">Clear</a></div>
</form></section>`;
}

/** A person's anonymous id, or a service account's name with its label (service accounts are never mistaken for people). */
function callerCell(callerId: string, serviceAccount: string | null): string {
  if (serviceAccount !== null) return `<td class="key" title="${esc(callerId)}" tabindex="0" data-kind="service"><span class="badge">service account</span>${esc(serviceAccount)}</td>`;
  return `<td class="key id" title="${esc(callerId)}" tabindex="0" data-kind="person">${esc(callerId)}</td>`;
}

function modelText(r: Pick<RequestSummary, "model" | "requestedModel">): string {
  return r.requestedModel !== null && r.requestedModel !== r.model ? `${r.requestedModel} → ${r.model}` : r.model;
}

function costText(costUsd: number, unpriced: boolean): string {
  return unpriced ? "unpriced" : fmtUsd(costUsd);
}

function requestRow(r: RequestSummary): string {
  const href = `/dashboard/requests/${encodeURIComponent(r.requestId)}`;
  return `<tr data-test="request-row" data-id="${esc(r.requestId)}" data-ts="${r.ts}" data-cost="${r.costUsd}">
<td class="when"><a href="${esc(href)}" data-test="request-link">${esc(when(r.ts))}</a></td>${callerCell(r.callerId, r.serviceAccount)}<td class="wide">${esc(r.provider)}</td><td class="key" title="${esc(modelText(r))}" tabindex="0">${esc(modelText(r))}</td><td class="wide">${esc(r.client ?? "–")}</td>
<td data-col="status">${esc(r.status)}</td><td class="wide">${esc(r.outcome)}${r.errorCode ? ` <span class="muted">${esc(r.errorCode)}</span>` : ""}</td><td class="wide">${fmtInt(r.inputTokens)} / ${fmtInt(r.outputTokens)}</td><td data-col="cost">${esc(costText(r.costUsd, r.unpriced))}</td><td class="wide">${fmtMs(r.durationMs)}</td></tr>`;
}

export function requestLogPage(q: ParsedLogQuery, page: RequestPage, providers: readonly string[]): string {
  const rows = page.rows.map(requestRow).join("");
  const older = page.next ? `<a href="${esc(`/dashboard/requests${logQueryString(q.values, { after: formatPageKey(page.next), ...(q.limit !== 50 ? { limit: String(q.limit) } : {}) })}`)}" data-test="older">Older →</a>` : "";
  const newest = q.after ? `<a href="${esc(`/dashboard/requests${logQueryString(q.values)}`)}" data-test="newest">← Newest</a>` : "";
  const body = `${logHeader("Request log")}
<main>
${filterForm(q, providers)}
<section data-test="request-list"><h2>Requests, newest first</h2>
<table><thead><tr><th>When (UTC)</th><th>Caller</th><th class="wide">Provider</th><th>Model</th><th class="wide">Client</th><th data-col="status">Status</th><th class="wide">Outcome</th><th class="wide">Tokens in / out</th><th data-col="cost">Cost</th><th class="wide">Duration</th></tr></thead>
<tbody>${rows || `<tr><td colspan="10" class="muted" data-test="no-requests">No requests match these filters.</td></tr>`}</tbody></table>
<nav class="pages">${newest}${older}</nav></section>
</main>`;
  return layout("Gatehouse · request log", `<style>${LOG_STYLE}</style>${body}`);
}

/** What each refusal code means, for the detail view's denial reason. */
const REFUSALS: Record<string, string> = {
  budget_exceeded: "refused: a budget (the caller's, its group's or its service account's) is used up",
  rate_limited: "refused: a rate limit (requests or tokens per minute) was reached",
  forbidden: "refused by policy: the model, route or endpoint is not allowed for the caller (or zero data retention forbids it)",
  unauthenticated: "refused: no valid gateway token",
  bad_request: "refused: the request was malformed",
  payload_too_large: "refused: the body was larger than the gateway takes",
  not_configured: "refused: the provider is not configured on this gateway",
  store_unavailable: "refused: the gateway's store could not be reached (budgets cannot be checked)",
  method_not_allowed: "refused: the method is not forwarded",
  not_found: "refused: no such endpoint",
};

/** One labelled value: `html` is already escaped markup, `raw` the value as stored (for data-value). */
function field(name: string, label: string, html: string, raw: string | number | null): string {
  return `<tr data-field="${esc(name)}" data-value="${esc(raw ?? "")}"><td>${esc(label)}</td><td>${html}</td></tr>`;
}

const num = (v: string | number | null | undefined): number => Number(v ?? 0);
const text = (v: string | number | null | undefined): string | null => (v === null || v === undefined ? null : String(v));

/** Ledger columns the detail view shows by name; any other column (a newer one) is listed under "More". */
const SHOWN = new Set([
  "request_id",
  "ts",
  "day",
  "caller_id",
  "team",
  "provider",
  "model",
  "endpoint",
  "streamed",
  "status",
  "outcome",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_5m_tokens",
  "cache_write_1h_tokens",
  "reasoning_tokens",
  "cost_usd",
  "unpriced",
  "upstream_latency_ms",
  "ttfb_ms",
  "duration_ms",
  "error_code",
  "requested_model",
  "attempts",
  "estimated",
  "client",
  "client_version",
  "session_id",
]);

function bodyBlock(test: string, title: string, body: string | null, bytes: number, truncated: number, note: string | null): string {
  const meta = `${fmtInt(bytes)} bytes${truncated ? `, <strong data-test="${test}-truncated">truncated</strong> (the first part is kept)` : ""}`;
  let shown = body;
  if (body !== null) {
    try {
      shown = JSON.stringify(JSON.parse(body) as unknown, null, 2);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  return `<div data-test="${test}" data-truncated="${truncated}"><h2>${esc(title)} <span class="muted">(${meta})</span></h2>${shown !== null ? `<pre class="body" data-test="${test}-text">${esc(shown)}</pre>` : `<p class="muted">${esc(note ?? "not kept")}</p>`}</div>`;
}

function bodiesSection(bodies: CapturedBodiesTable | undefined): string {
  if (!bodies)
    return `<section data-test="bodies-none"><h2>Bodies</h2><p class="muted">No bodies were captured for this request: body capture is off unless the org config turns it on (<code>bodyCapture</code>, see docs/dashboard.md), zero data retention requests and refused requests are never captured, and captured bodies are deleted after the retention period.</p></section>`;
  return `<section data-test="bodies" data-redactions="${num(bodies.redactions)}"><p class="muted">Captured bodies, redacted for keys and secrets (${fmtInt(num(bodies.redactions))} values replaced by [REDACTED]).</p>
${bodyBlock("request-body", "Request body", bodies.request_body, num(bodies.request_bytes), num(bodies.request_truncated), bodies.request_note)}
${bodyBlock("response-body", "Response body", bodies.response_body, num(bodies.response_bytes), num(bodies.response_truncated), bodies.response_note)}</section>`;
}

export function requestDetailPage(d: RequestDetail): string {
  const r = d.row;
  const model = String(r["model"] ?? "");
  const requested = text(r["requested_model"]);
  const attempts = num(r["attempts"]);
  const outcome = String(r["outcome"] ?? "");
  const errorCode = text(r["error_code"]);
  const unpriced = num(r["unpriced"]) === 1;
  const fallback = requested !== null && requested !== model;
  const caller = d.serviceAccount !== null ? `<span class="badge">service account</span>${esc(d.serviceAccount)} <span class="muted">(${esc(String(r["caller_id"]))})</span>` : `${esc(String(r["caller_id"]))} <span class="muted">(person, anonymous id)</span>`;
  const ms = (v: string | number | null | undefined) => (v === null || v === undefined ? "–" : fmtMs(Number(v)));
  const rows = [
    field("request_id", "Request id", esc(String(r["request_id"])), String(r["request_id"])),
    field("ts", "When (UTC)", esc(when(num(r["ts"]))), num(r["ts"])),
    field("caller", d.serviceAccount !== null ? "Service account" : "Person", caller, String(r["caller_id"])),
    field("team", "Team", esc(text(r["team"]) ?? "(no team)"), text(r["team"])),
    field("provider", "Provider", esc(String(r["provider"])), String(r["provider"])),
    field("endpoint", "Endpoint", esc(String(r["endpoint"])), String(r["endpoint"])),
    field("streamed", "Streamed", num(r["streamed"]) === 1 ? "yes" : "no", num(r["streamed"])),
    field("model", "Model (answered)", esc(model), model),
    field("requested_model", "Model asked for", esc(requested ?? "–"), requested),
    field("attempts", "Attempts", `${fmtInt(attempts)}${fallback ? ` — <strong data-test="fallback">fallback</strong>: asked for ${esc(requested ?? "")}, answered by ${esc(model)}` : attempts > 1 ? " (the earlier attempts failed)" : ""}`, attempts),
    field(
      "client",
      "Client",
      r["client"] === null || r["client"] === undefined ? `<span class="muted">(not recorded)</span>` : `${esc(String(r["client"]))}${text(r["client_version"]) !== null ? ` ${esc(String(r["client_version"]))}` : ""}`,
      text(r["client"]),
    ),
    field("client_version", "Client version", esc(text(r["client_version"]) ?? "–"), text(r["client_version"])),
    field("session_id", "Client session", esc(text(r["session_id"]) ?? "–"), text(r["session_id"])),
    field("status", "Status", esc(num(r["status"])), num(r["status"])),
    field("outcome", "Outcome", esc(outcome), outcome),
  ];
  if (errorCode !== null) {
    if (outcome === "not_forwarded") rows.push(field("denial_reason", "Denial reason", `${esc(errorCode)} <span class="muted">— ${esc(REFUSALS[errorCode] ?? "refused before it was forwarded")}</span>`, errorCode));
    else rows.push(field("upstream_error", "Upstream error code", esc(errorCode), errorCode));
  }
  const tokens = [
    ["input_tokens", "Input"],
    ["output_tokens", "Output"],
    ["cache_read_tokens", "Cache read"],
    ["cache_write_5m_tokens", "Cache write (5 min)"],
    ["cache_write_1h_tokens", "Cache write (1 h)"],
    ["reasoning_tokens", "Reasoning"],
  ] as const;
  const tokenRows = tokens.map(([col, label]) => field(col, `${label} tokens`, fmtInt(num(r[col])), num(r[col]))).join("");
  const money = [
    field("cost_usd", "Cost", unpriced ? `<span data-test="unpriced">unpriced</span> <span class="muted">(the model has no price in the catalog or pricing:)</span>` : esc(fmtUsd(num(r["cost_usd"]))), unpriced ? "unpriced" : num(r["cost_usd"])),
    field("estimated", "Usage", num(r["estimated"]) === 1 ? "estimated by the gateway (the provider's usage never arrived)" : "as the provider reported it", num(r["estimated"])),
    field("upstream_latency_ms", "Latency (upstream headers)", ms(r["upstream_latency_ms"]), text(r["upstream_latency_ms"])),
    field("ttfb_ms", "Time to first byte", ms(r["ttfb_ms"]), text(r["ttfb_ms"])),
    field("duration_ms", "Duration", ms(r["duration_ms"]), text(r["duration_ms"])),
  ].join("");
  const more = Object.entries(r)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => field(k, k, esc(v ?? "–"), v))
    .join("");
  const body = `${logHeader("Request")}
<main>
<p><a href="/dashboard/requests" data-test="back">← Request log</a></p>
<div class="grid2">
<section data-test="request-detail"><h2>Request</h2><table class="fields"><tbody>${rows.join("")}</tbody></table></section>
<section data-test="request-usage"><h2>Tokens, cost and timing</h2><table class="fields"><tbody>${tokenRows}${money}</tbody></table>
${more ? `<h2 style="margin-top:16px">More</h2><table class="fields" data-test="request-more"><tbody>${more}</tbody></table>` : ""}</section>
</div>
${bodiesSection(d.bodies)}
</main>`;
  return layout("Gatehouse · request", `<style>${LOG_STYLE}</style>${body}`);
}
