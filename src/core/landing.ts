import { GatewayError, errorBody, type ErrorBody } from "./errors.ts";

/** A mounted route as Hono lists it (`app.routes`). */
export interface MountedRoute {
  method: string;
  path: string;
}

/** One entry point of the gateway: a path (or prefix) and what it is for. */
export interface RouteEntry {
  path: string;
  description: string;
}

// What each entry point is for, by its first path segment. A route mounted without an entry
// here is still listed, with no description: the list is read from the app, not written twice.
const descriptions: ReadonlyArray<[string, string]> = [
  ["/anthropic", "Anthropic Messages API (Claude Code, Anthropic SDKs): base URL {origin}/anthropic"],
  ["/openai", "OpenAI API (chat completions, responses, embeddings): base URL {origin}/openai/v1"],
  ["/google-ai-studio", "Google Gemini API: base URL {origin}/google-ai-studio"],
  ["/compat", "OpenAI-compatible open-weight models: base URL {origin}/compat/v1"],
  ["/.well-known/opencode", "OpenCode one-URL setup: opencode auth login {origin}"],
  ["/dashboard", "usage dashboard (dashboard admins)"],
  ["/mcp", "MCP server portal"],
  ["/.well-known/oauth-protected-resource", "OAuth metadata of the MCP portal (RFC 9728)"],
  ["/auth", "sign-in for `gatehouse login` (device flow)"],
  ["/metrics", "Prometheus metrics"],
  ["/healthz", "liveness check"],
  ["/readyz", "readiness check"],
];

function groupOf(path: string): string {
  const parts = path.split("/").filter(Boolean);
  if (parts.length === 0) return "/";
  return parts[0] === ".well-known" && parts[1] ? `/.well-known/${parts[1]}` : `/${parts[0]}`;
}

/** The gateway's entry points, one per first path segment, described ones first; `/` and the catch-all middleware left out. */
export function routeDirectory(routes: readonly MountedRoute[]): RouteEntry[] {
  const shortest = new Map<string, string>();
  for (const route of routes) {
    const path = route.path.endsWith("/*") ? route.path.slice(0, -2) : route.path;
    if (path === "" || path === "*" || path === "/" || path.includes(":")) continue;
    const group = groupOf(path);
    const seen = shortest.get(group);
    if (seen === undefined || path.length < seen.length) shortest.set(group, path);
  }
  const rank = (group: string) => {
    const i = descriptions.findIndex(([g]) => g === group);
    return i < 0 ? descriptions.length : i;
  };
  return [...shortest].sort(([a], [b]) => rank(a) - rank(b)).map(([group, path]) => ({ path: group.startsWith("/.well-known/") ? path : group, description: descriptions.find(([g]) => g === group)?.[1] ?? "" }));
}

/**
 * Where a request to a path without a prefix was probably meant to go: an SDK pointed at the
 * gateway's root instead of a provider's prefix. Only mounted prefixes are suggested.
 */
export function routeHint(path: string, directory: readonly RouteEntry[]): string | undefined {
  const has = (prefix: string) => directory.some((e) => e.path === prefix || e.path.startsWith(`${prefix}/`));
  const rest = path.replace(/^\/v1(?=\/|$)/, "");
  if (/^\/v1\/messages(\/|$)/.test(path) && has("/anthropic")) return `For the Anthropic API use /anthropic${path} (base URL {origin}/anthropic).`;
  if (/^\/v1beta(\/|$)/.test(path) && has("/google-ai-studio")) return `For the Gemini API use /google-ai-studio${path} (base URL {origin}/google-ai-studio).`;
  if (/^\/(v1\/)?(chat\/completions|completions|responses|embeddings|models)(\/|$)/.test(path)) {
    const options = [has("/openai") ? `/openai/v1${rest} for OpenAI (base URL {origin}/openai/v1)` : "", has("/compat") ? `/compat/v1${rest} for an OpenAI-compatible server (base URL {origin}/compat/v1)` : ""].filter(Boolean);
    if (options.length > 0) return `Each provider has its own prefix: use ${options.join(", or ")}.`;
  }
  return undefined;
}

/** Whether a path is one an OpenAI SDK would call: its client then gets the OpenAI error shape it can read. */
export function isOpenAiStylePath(path: string): boolean {
  return /^\/(v1|chat|completions|responses|embeddings|models)(\/|$)/.test(path);
}

/** The gateway's own error shape, or the provider's for the paths its SDKs call (OpenAI's, Anthropic's for /v1/messages). */
export type NotFoundBody = ErrorBody | { error: { message: string; type: string; param: null; code: string } } | { type: "error"; error: { type: string; message: string } };

/** The 404 for an unknown route: what was asked, the likely right path, every entry point. */
export function notFoundBody(method: string, path: string, origin: string, directory: readonly RouteEntry[], requestId: string): NotFoundBody {
  const hint = routeHint(path, directory)?.replaceAll("{origin}", origin);
  const message = `No route for ${method} ${path}.${hint ? ` ${hint}` : ""} Routes: ${directory.map((e) => e.path).join(", ")}; GET / describes them.`;
  const error = new GatewayError("not_found", message);
  // The shape the calling SDK reads: Anthropic's for its Messages path, OpenAI's for the others.
  if (/^\/v1\/messages(\/|$)/.test(path)) return { type: "error", error: { type: "not_found_error", message } };
  if (isOpenAiStylePath(path)) return { error: { message, type: "invalid_request_error", param: null, code: "not_found" } };
  return errorBody(error, requestId);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** GET /: what this is, its entry points, links to the dashboard and the OpenCode setup document. */
export function landingPage(origin: string, directory: readonly RouteEntry[]): string {
  const rows = directory.map((e) => `<tr><td><code>${escapeHtml(e.path)}</code></td><td>${escapeHtml(e.description.replaceAll("{origin}", origin))}</td></tr>`).join("\n");
  const has = (prefix: string) => directory.some((e) => e.path === prefix);
  const links = [has("/dashboard") ? `<a href="/dashboard">Usage dashboard</a>` : "", has("/.well-known/opencode") ? `<a href="/.well-known/opencode">/.well-known/opencode</a> (OpenCode: <code>opencode auth login ${escapeHtml(origin)}</code>)` : ""].filter(
    Boolean,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Gatehouse</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:40px auto;padding:0 16px;color:#1d2430}code{font-size:13px}table{border-collapse:collapse;width:100%}td{padding:6px 8px;border-top:1px solid #e3e6ea;vertical-align:top}td:first-child{white-space:nowrap}</style></head>
<body><main>
<h1>Gatehouse</h1>
<p>An AI gateway: coding tools and SDKs call it instead of the model providers. It checks who is calling, adds the provider key server-side, streams the answer back and records tokens and cost.</p>
${links.length > 0 ? `<p>${links.join(" · ")}</p>` : ""}
<h2>Routes</h2>
<table>
${rows}
</table>
<p>Send your gateway token where the provider key would go (<code>Authorization: Bearer</code>, <code>x-api-key</code> or <code>cf-access-token</code>).</p>
</main></body></html>
`;
}
