import { join } from "node:path";
import type { OrgConfig, ProviderId } from "../../config/index.ts";
import type { SecretSource } from "../../core/deps.ts";
import type { Settings } from "../../core/settings.ts";
import { configuredPublicUrl } from "../../core/public-url.ts";
import { defaultDashboardPolicy } from "../../config/index.ts";
import { providerById } from "../../providers/index.ts";
import { sqliteFile } from "./store.ts";

/** What `gatehouse serve` knows once it listens; the summary reads nothing else. */
export interface StartupFacts {
  /** The address it listens on, e.g. http://127.0.0.1:8787. */
  url: string;
  settings: Settings;
  config: OrgConfig;
  secrets: SecretSource;
  devToken?: string;
}

export interface ProviderStatus {
  id: ProviderId;
  route: string;
  /** Where requests go, or undefined when the provider has no upstream (compat without one). */
  upstream: string | undefined;
  keyEnv: string;
  key: "found" | "missing" | "optional";
}

/** Each configured provider: its route, upstream and whether its key is present. Names the key's variable, never the key. */
export function providerStatuses(config: OrgConfig, secrets: SecretSource): ProviderStatus[] {
  return (Object.keys(config.providers) as ProviderId[]).map((id) => {
    const descriptor = providerById(id);
    const entry = config.providers[id];
    const keyEnv = entry?.apiKeyEnv ?? descriptor.defaultApiKeyEnv;
    const present = Boolean(secrets.get(keyEnv));
    return { id, route: descriptor.routePrefix, upstream: entry?.upstream ?? descriptor.defaultUpstream, keyEnv, key: present ? "found" : descriptor.keyOptional ? "optional" : "missing" };
  });
}

/** The URL people open: the public URL when set, else the listening one with a wildcard bind shown as loopback. */
export function browsableUrl(url: string, settings: Settings): string {
  const configured = configuredPublicUrl(settings);
  if (configured) return configured;
  return url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:");
}

/** A PostgreSQL URL without its user and password. */
function describeDatabase(databaseUrl: string): string {
  try {
    const parsed = new URL(databaseUrl);
    return `PostgreSQL ${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}${parsed.pathname} (DATABASE_URL)`;
  } catch (err) {
    return `PostgreSQL (DATABASE_URL: ${err instanceof Error ? err.name : "unparseable"})`;
  }
}

function describeAuth(settings: Settings): string {
  switch (settings.authMode) {
    case "dev":
      return `dev: the token below, or \`gatehouse token issue\` (it is also in ${join(settings.dataDir, "dev-token")})`;
    case "jwt":
      return `jwt: tokens from the identity-aware proxy, keys from ${settings.jwtJwksUrl ?? "(GATEHOUSE_JWT_JWKS_URL unset)"}`;
    case "oidc":
      return `oidc: \`gatehouse login\` signs in at ${settings.oidcIssuer ?? "(GATEHOUSE_OIDC_ISSUER unset)"}`;
  }
}

function describeCatalog(settings: Settings): string {
  if (settings.catalogRefreshMs === 0) return "bundled models.dev snapshot (refresh off: GATEHOUSE_CATALOG_REFRESH_MS=0)";
  const minutes = Math.round(settings.catalogRefreshMs / 60_000);
  return `bundled snapshot, refreshed from ${settings.catalogUrl} every ${minutes >= 1 ? `${minutes} min` : `${settings.catalogRefreshMs} ms`}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The lines `gatehouse serve` prints once it listens: where it is, what it serves, what is
 * missing and how to fix it. Keys are named by their variable; no secret is ever printed
 * except the dev token, which exists to be pasted.
 */
export function startupSummary(facts: StartupFacts): string {
  const { settings, config } = facts;
  const base = browsableUrl(facts.url, settings);
  const lines: string[] = [];
  const warnings: string[] = [];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(10)} ${text}`);

  lines.push(`Gatehouse is listening on ${facts.url}`);
  if (settings.configDir) {
    row(
      "config",
      `${settings.configDir} (${plural(Object.keys(config.providers).length, "provider")}, ${plural(Object.keys(config.agent).length, "agent")}, ${plural(Object.keys(config.command).length, "command")}, ${plural(Object.keys(config.mcp).length, "MCP server")})`,
    );
  } else {
    row("config", "none (no --config, no GATEHOUSE_CONFIG)");
  }
  row("store", settings.databaseUrl ? describeDatabase(settings.databaseUrl) : `SQLite ${sqliteFile(settings)}`);
  row("auth", describeAuth(settings));

  const statuses = providerStatuses(config, facts.secrets);
  if (statuses.length === 0) {
    warnings.push(
      settings.configDir
        ? `${settings.configDir}/gatehouse.yaml configures no providers: every model request is refused (503 not_configured). Add a providers: section (docs/config.md).`
        : "No providers are configured: every model request is refused (503 not_configured). Start with a config directory: `gatehouse serve --config examples/config` (or set GATEHOUSE_CONFIG); `gatehouse config validate <dir>` checks one.",
    );
  }
  const width = Math.max(0, ...statuses.map((s) => s.id.length));
  statuses.forEach((s, i) => {
    const target = s.upstream ? new URL(s.upstream).host : "no upstream";
    const key = s.key === "found" ? `key ${s.keyEnv}: found` : s.key === "optional" ? `key ${s.keyEnv}: not set (optional)` : `key ${s.keyEnv}: MISSING`;
    row(i === 0 ? "providers" : "", `${s.id.padEnd(width)}  ${base}${s.route} → ${target}  ${key}`);
    if (s.key === "missing") warnings.push(`${s.id}: no key in ${s.keyEnv}; its requests get 503 until you put the key in the gateway's environment (${s.keyEnv}=…) or in GATEHOUSE_SECRETS_FILE.`);
    if (!s.upstream) warnings.push(`${s.id}: no upstream; set providers.${s.id}.upstream to the server's base URL, e.g. http://127.0.0.1:11434/v1.`);
  });
  const admins = config.policy?.dashboard.adminGroups ?? defaultDashboardPolicy.adminGroups;
  const adminToken = `gatehouse token issue --email you@example.com --group ${admins[0] ?? "admin"}`;
  row("dashboard", `${base}/dashboard  (for groups ${admins.join(", ")}: ${settings.authMode === "dev" ? "the dev token, or " : ""}${settings.authMode === "jwt" ? "a proxy token whose groups claim holds one" : adminToken})`);
  row("OpenCode", `${base}/.well-known/opencode  (opencode auth login ${base})`);
  row("catalog", describeCatalog(settings));
  for (const warning of warnings) lines.push(`warning: ${warning}`);
  if (facts.devToken) lines.push(`Dev token (send as Authorization: Bearer, x-api-key or cf-access-token; opens the dashboard): ${facts.devToken}`);
  return `\n${lines.join("\n")}\n\n`;
}
