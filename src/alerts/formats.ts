import type { AlertWebhook } from "../config/policy-schema.ts";
import { ALERT_TITLES, type AlertEvent, type AlertValue } from "./events.ts";

/** The generic JSON body of a "signed" webhook (docs/governance.md#alerts). */
export function genericBody(event: AlertEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, created_at: new Date(event.createdAt).toISOString(), summary: event.summary, data: event.data });
}

/** Slack's escaping for mrkdwn and plain text: &, < and > (a caller-supplied model name must not become a link or a mention). */
function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function show(value: AlertValue): string {
  if (value === null) return "–";
  if (Array.isArray(value)) return value.join(", ") || "–";
  return String(value);
}

/** A Slack-compatible incoming-webhook message: `text` (notifications, clients without blocks) plus blocks. */
export function slackBody(event: AlertEvent): string {
  const fields = Object.entries(event.data)
    .filter(([, v]) => v !== null)
    .slice(0, 10)
    .map(([k, v]) => ({ type: "mrkdwn", text: `*${esc(k)}*\n${esc(show(v)).slice(0, 1900)}` }));
  const title = ALERT_TITLES[event.type];
  return JSON.stringify({
    text: `${title}: ${esc(event.summary)}`,
    blocks: [
      { type: "header", text: { type: "plain_text", text: `Gatehouse: ${title}` } },
      { type: "section", text: { type: "mrkdwn", text: esc(event.summary).slice(0, 2900) } },
      ...(fields.length > 0 ? [{ type: "section", fields }] : []),
      { type: "context", elements: [{ type: "mrkdwn", text: `${event.type} · ${esc(event.id)} · ${new Date(event.createdAt).toISOString()}` }] },
    ],
  });
}

export function bodyFor(format: AlertWebhook["format"], event: AlertEvent): string {
  return format === "slack" ? slackBody(event) : genericBody(event);
}
