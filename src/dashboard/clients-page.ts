import type { ClientsReport, ClientUsage, SessionUsage } from "./clients.ts";
import { esc, fmtInt, fmtPct, fmtRate, fmtUsd } from "./html.ts";

/**
 * The dashboard's per-client, per-session and prompt-cache sections (data in clients.ts).
 * Every value from the ledger (client names, session ids, models, caller ids) goes through
 * `esc`: they come from clients.
 */

function key(value: string, id: boolean, extra = ""): string {
  return `<td class="${id ? "key id" : "key"}${extra}" title="${esc(value)}" tabindex="0">${esc(value)}</td>`;
}

/**
 * fmtCost as HTML: the "+ N unpriced" part in its own span, which a phone puts on a line of
 * its own (class "pct"), so the Cost column stays narrow. The text is fmtCost's.
 */
export function costHtml(c: { costUsd: number; unpricedRequests: number }): string {
  if (c.unpricedRequests === 0) return esc(fmtUsd(c.costUsd));
  if (c.costUsd === 0) return "unpriced";
  return `${esc(fmtUsd(c.costUsd))}<span class="pct"> + ${fmtInt(c.unpricedRequests)} unpriced</span>`;
}

/** A cost share, or "–" for a group whose cost is unknown (all unpriced). */
function share(u: ClientUsage, totalUsd: number): string {
  return u.unpricedRequests > 0 && u.costUsd === 0 ? "–" : fmtPct(u.costUsd, totalUsd);
}

const data = (u: ClientUsage) => `data-key="${esc(u.key)}" data-requests="${u.requests}" data-cost="${u.costUsd}" data-unpriced="${u.unpricedRequests}" data-cache-hit="${u.cacheHitRate ?? ""}"`;

function clientTable(rows: ClientUsage[], totalUsd: number): string {
  const body = rows
    .map(
      (c) =>
        `<tr data-test="client" ${data(c)}>${key(c.key, false)}<td>${fmtInt(c.requests)}</td><td class="wide">${fmtInt(c.inputTokens + c.cacheReadTokens + c.cacheWriteTokens)}</td><td class="wide">${fmtInt(c.outputTokens)}</td><td data-col="cost">${costHtml(c)}</td><td data-col="share">${share(c, totalUsd)}</td><td data-col="cache-hit" class="wide">${fmtRate(c.cacheHitRate)}</td></tr>`,
    )
    .join("");
  return `<section data-test="clients"><h2>By client</h2><table class="aggregate"><thead><tr><th>Client</th><th>Requests</th><th class="wide">Input</th><th class="wide">Output</th><th data-col="cost">Cost</th><th data-col="share">Share</th><th data-col="cache-hit" class="wide">Cache hit</th></tr></thead>
<tbody>${body || `<tr><td colspan="7" class="muted">No requests in this range.</td></tr>`}</tbody></table>
<p class="muted">From each request's user agent: opencode, claude-code, codex, gemini-cli, sdk (the official OpenAI, Anthropic and Google SDKs), other. Input includes cache reads and writes.</p></section>`;
}

/** The session's top model, "+N" when it used more; the tooltip is the whole text, as for every cut cell. */
function modelCell(s: SessionUsage): string {
  const more = s.otherModels > 0 ? ` +${fmtInt(s.otherModels)}` : "";
  return `<td class="key" title="${esc(s.model + more)}" tabindex="0">${esc(s.model)}${more ? `<span class="muted">${esc(more)}</span>` : ""}</td>`;
}

function sessionTable(rows: SessionUsage[]): string {
  const body = rows
    .map(
      (s) =>
        `<tr data-test="session" ${data(s)} data-caller="${esc(s.callerId)}" data-client="${esc(s.client)}" data-model="${esc(s.model)}">${key(s.key, true)}${key(s.callerId, true, " caller wide")}${key(s.client, false)}${modelCell(s)}<td>${fmtInt(s.requests)}</td><td class="wide">${fmtInt(s.inputTokens + s.cacheReadTokens + s.cacheWriteTokens + s.outputTokens)}</td><td data-col="cost">${costHtml(s)}</td></tr>`,
    )
    .join("");
  return `<section data-test="sessions"><h2>Most expensive sessions (top 10)</h2>
${body ? `<table><thead><tr><th>Session</th><th class="wide">User</th><th>Client</th><th>Model</th><th>Requests</th><th class="wide">Tokens</th><th data-col="cost">Cost</th></tr></thead><tbody>${body}</tbody></table>` : `<p class="muted">No request in this range sent a session id (x-claude-code-session-id, x-session-id, Codex's session_id).</p>`}
</section>`;
}

function cacheTable(test: string, title: string, keyLabel: string, rows: ClientUsage[], id: boolean): string {
  const body = rows
    .map((c) => `<tr data-test="${test}-row" ${data(c)}>${key(c.key, id)}<td>${fmtInt(c.inputTokens + c.cacheReadTokens + c.cacheWriteTokens)}</td><td class="wide">${fmtInt(c.cacheReadTokens)}</td><td data-col="cache-hit">${fmtRate(c.cacheHitRate)}</td></tr>`)
    .join("");
  return `<div data-test="${test}"><h3>${esc(title)}</h3>${body ? `<table><thead><tr><th>${esc(keyLabel)}</th><th>Input</th><th class="wide">Cache read</th><th data-col="cache-hit">Hit rate</th></tr></thead><tbody>${body}</tbody></table>` : `<p class="muted">No input tokens in this range.</p>`}</div>`;
}

/** The sections, in page order: clients and sessions side by side, then the cache hit rates. */
export function clientsSections(r: ClientsReport, totalUsd: number): string {
  return `<div class="grid2">
${clientTable(r.clients, totalUsd)}
${sessionTable(r.sessions)}
</div>
<section data-test="cache"><h2>Prompt-cache hit rate</h2>
<p class="muted">Cache-read tokens / all input tokens (uncached input + cache reads + cache writes), the same for every provider (docs/usage-and-pricing.md, "Prompt-cache hit rate"). The groups with the most input first.</p>
<div class="grid3">
${cacheTable("cache-models", "By model", "Model", r.cache.models, false)}
${cacheTable("cache-clients", "By client", "Client", r.cache.clients, false)}
${cacheTable("cache-users", "By user (anonymous ids)", "Caller", r.cache.users, true)}
</div></section>`;
}
