import type { Kysely } from "kysely";
import { AdminAuditLog, type AdminAuditEntry, type AdminOutcome } from "../identity/index.ts";
import type { Clock } from "../core/clock.ts";
import type { Database } from "../store/index.ts";
import { esc, layout } from "./html.ts";

const OUTCOMES: readonly AdminOutcome[] = ["started", "ok", "failed", "denied"];
const PAGE_ROWS = 200;
/** This page's own table: text columns, left-aligned and wrapping (the shared style is for figures). */
const PAGE_STYLE = "<style>table.audit td,table.audit th{text-align:left}table.audit td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:10em}table.audit td.detail{font-size:12px;color:var(--muted)}</style>";

export interface AdminAuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  outcome?: AdminOutcome | undefined;
}

/** The page's filters from its query string; an unknown outcome is no filter rather than an error page. */
export function adminAuditFilter(query: Record<string, string | undefined>): AdminAuditFilter {
  const text = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim());
  const outcome = OUTCOMES.find((o) => o === query["outcome"]);
  return { actor: text(query["actor"]), action: text(query["action"]), outcome };
}

/** `/dashboard/audit`: the admin audit log (API and CLI), newest first, with the same filters as GET /admin/v1/audit. */
export async function adminAuditPage(db: Kysely<Database>, clock: Clock, filter: AdminAuditFilter): Promise<string> {
  const entries = await new AdminAuditLog(db, clock).list({ actorId: filter.actor, action: filter.action, outcome: filter.outcome, limit: PAGE_ROWS });
  const rows = entries.map(row).join("");
  const options = ["", ...OUTCOMES].map((o) => `<option value="${o}"${o === (filter.outcome ?? "") ? " selected" : ""}>${o === "" ? "any outcome" : o}</option>`).join("");
  const body = `${PAGE_STYLE}<header>
<h1>Admin audit log</h1>
<form class="inline" method="get" action="/dashboard/audit" data-test="audit-filter">
<label>Actor id <input name="actor" value="${esc(filter.actor ?? "")}"></label>
<label>Action <input name="action" value="${esc(filter.action ?? "")}" placeholder="key.revoke"></label>
<label>Outcome <select name="outcome">${options}</select></label>
<button type="submit">Apply</button>
</form>
<div class="muted"><a href="/dashboard">Usage</a> · also as JSON: <code>GET /admin/v1/audit</code></div>
<form method="post" action="/dashboard/logout"><button class="secondary" type="submit">Sign out</button></form>
</header>
<main>
<section data-test="admin-audit"><h2>${entries.length === PAGE_ROWS ? `The latest ${PAGE_ROWS} admin actions` : "Admin actions, newest first"}</h2>
${
  rows
    ? `<table class="audit"><thead><tr><th>When (UTC)</th><th>Actor</th><th>Action</th><th>Target</th><th>Outcome</th><th class="wide">Via</th><th class="wide">From</th><th class="wide">Detail</th></tr></thead><tbody>${rows}</tbody></table>`
    : `<p class="muted" data-test="audit-empty">No admin actions${filter.actor || filter.action || filter.outcome ? " match these filters" : " yet"}.</p>`
}
</section>
</main>`;
  return layout("Gatehouse admin audit log", body);
}

function row(e: AdminAuditEntry): string {
  const when = new Date(e.ts).toISOString().slice(0, 19).replace("T", " ");
  const from = [e.ip, e.userAgent].filter((v): v is string => Boolean(v)).join(" · ");
  const detail = Object.entries(e.detail)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
  return `<tr data-test="audit-entry" data-id="${esc(e.id)}" data-action="${esc(e.action)}" data-outcome="${esc(e.outcome)}" data-actor="${esc(e.actor.id)}"><td class="when">${esc(when)}</td><td title="${esc(`${e.actor.kind} ${e.actor.id}`)}">${esc(e.actor.name)}</td><td>${esc(e.action)}</td><td class="wrap">${esc(e.target)}</td><td>${esc(e.outcome)}</td><td class="wide">${esc(e.via)}</td><td class="wide wrap">${esc(from)}</td><td class="wide wrap detail">${esc(detail)}</td></tr>`;
}
