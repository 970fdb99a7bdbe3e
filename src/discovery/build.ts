import { opencodeProviderId, servedOpencodeConfigSchema, type OpencodeModel, type OrgConfig, type ProviderId, type ServedOpencodeConfig } from "../config/index.ts";
import type { Settings } from "../core/settings.ts";
import { isProviderId, providerById } from "../providers/index.ts";
import type { CatalogModelInfo, ModelLister } from "./catalog-port.ts";

/** What `GET /.well-known/opencode` returns, as OpenCode reads it. */
export interface WellKnownOpencode {
  auth: { command: string[]; env: string };
  config: ServedOpencodeConfig;
}

export function loginCommand(settings: Pick<Settings, "loginCommand" | "authMode">, baseUrl: string): string[] {
  const argv = settings.loginCommand ? parseArgv(settings.loginCommand) : settings.authMode === "jwt" ? ["cloudflared", "access", "login", "--no-verbose", "--auto-close", "{baseURL}"] : ["gatehouse", "login", "{baseURL}"];
  return argv.map((arg) => arg.replaceAll("{baseURL}", baseUrl));
}

function parseArgv(text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error('GATEHOUSE_LOGIN_COMMAND must be a JSON array of strings, e.g. ["gatehouse","login","{baseURL}"].', { cause: err });
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((v): v is string => typeof v === "string")) throw new Error("GATEHOUSE_LOGIN_COMMAND must be a non-empty JSON array of strings.");
  return value;
}

/**
 * Builds the discovery document: providers point back at this gateway with an empty apiKey
 * and the token in `cf-access-token` (OpenCode fills `{env:…}` from the stored token; it does
 * not attach it by itself); models come from the catalog plus config; agents, commands,
 * permissions are shared defaults (local config still wins on the client); MCP is one
 * remote entry for the gateway's portal. Never includes a provider key.
 */
export function buildWellKnown(config: OrgConfig, settings: Pick<Settings, "loginCommand" | "authMode" | "tokenEnv">, baseUrl: string, catalog: ModelLister): WellKnownOpencode {
  const tokenHeaders = { "cf-access-token": `{env:${settings.tokenEnv}}` };
  const provider: ServedOpencodeConfig["provider"] = {};
  for (const [id, upstream] of Object.entries(config.providers) as [ProviderId, NonNullable<OrgConfig["providers"][ProviderId]>][]) {
    const descriptor = providerById(id);
    // Via AI Gateway, a provider whose client API AI Gateway does not serve is left out: every request of that config would be refused.
    if (upstream.via?.cloudflareAiGateway && descriptor.aiGateway?.servesClientApi === false) continue;
    const catalogId = upstream.catalogProvider ?? descriptor.defaultCatalogProvider;
    const servesModel = descriptor.opencode.servesModel;
    const listed = catalogId ? catalog.listModels(catalogId) : [];
    // Azure: OpenCode names a deployment, so the served models are the declared deployments, each described as the model it serves.
    const offered = descriptor.modelIsDeployment ? deploymentModels(listed, upstream.deployments ?? {}) : servesModel ? listed.filter((m) => servesModel(m.id)) : listed;
    const models = servedModels(offered, upstream.models ?? {}, upstream.whitelist);
    const zdrOptions = descriptor.opencode.zdrModelOptions;
    if (zdrOptions && upstream.zeroDataRetention) {
      for (const model of Object.values(models)) model.options = { ...model.options, ...zdrOptions };
    }
    const name = upstream.name ?? descriptor.opencode.defaultName;
    provider[opencodeProviderId(id)] = {
      ...(descriptor.opencode.npm ? { npm: descriptor.opencode.npm } : {}),
      ...(name ? { name } : {}),
      ...(upstream.whitelist ? { whitelist: [...upstream.whitelist] } : {}),
      ...(Object.keys(models).length ? { models } : {}),
      options: {
        baseURL: `${baseUrl}${descriptor.opencode.basePath ?? descriptor.clientBasePath}`,
        apiKey: descriptor.opencode.apiKeyPlaceholder === "gatehouse" ? "gatehouse" : "",
        headers: { ...tokenHeaders },
        ...descriptor.opencode.options,
        // A cloud route's AWS region (not a secret): clients that name it (Claude Code's AWS_REGION) get the gateway's.
        ...(descriptor.cloudUpstream && upstream.region ? { region: upstream.region } : {}),
      },
    };
  }
  const served: ServedOpencodeConfig = {
    $schema: "https://opencode.ai/config.json",
    provider,
    ...(config.model ? { model: opencodeRef(config.model) } : {}),
    ...(config.small_model ? { small_model: opencodeRef(config.small_model) } : {}),
    ...(Object.keys(config.agent).length ? { agent: withOpencodeModels(config.agent) } : {}),
    ...(Object.keys(config.command).length ? { command: withOpencodeModels(config.command) } : {}),
    ...(config.permission !== undefined ? { permission: config.permission } : {}),
    ...(config.instructions ? { instructions: config.instructions } : {}),
    ...(Object.keys(config.mcp).length ? { mcp: { gatehouse: { type: "remote" as const, url: `${baseUrl}/mcp`, headers: { ...tokenHeaders }, oauth: false as const } } } : {}),
  };
  const filled = fillBaseUrl(served, baseUrl);
  return { auth: { command: loginCommand(settings, baseUrl), env: settings.tokenEnv }, config: servedOpencodeConfigSchema.parse(filled) };
}

function servedModels(fromCatalog: readonly CatalogModelInfo[], fromConfig: Record<string, OpencodeModel>, whitelist: readonly string[] | undefined): Record<string, OpencodeModel> {
  const allowed = whitelist ? new Set(whitelist) : undefined;
  const models: Record<string, OpencodeModel> = {};
  for (const m of fromCatalog) {
    if (allowed && !allowed.has(m.id)) continue;
    const entry: OpencodeModel = {};
    if (m.name) entry.name = m.name;
    if (m.limit?.context && m.limit.output) entry.limit = { context: m.limit.context, output: m.limit.output };
    models[m.id] = entry;
  }
  for (const [id, m] of Object.entries(fromConfig)) models[id] = { ...models[id], ...structuredClone(m) };
  return models;
}

/** Each declared deployment as a model of its own id, with the catalog's name and limits of the model it serves. */
function deploymentModels(listed: readonly CatalogModelInfo[], deployments: Readonly<Record<string, string>>): CatalogModelInfo[] {
  return Object.entries(deployments).map(([deployment, model]) => {
    const info = listed.find((m) => m.id === model);
    return { ...info, id: deployment, name: `${info?.name ?? model} (${deployment})` };
  });
}

/** `{baseURL}` anywhere in a served string (instructions URLs, command templates) becomes the gateway origin. */
function fillBaseUrl<T>(value: T, baseUrl: string): T {
  if (typeof value === "string") return value.replaceAll("{baseURL}", baseUrl) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => fillBaseUrl(v, baseUrl)) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fillBaseUrl(v, baseUrl);
    return out as T;
  }
  return value;
}

/** A gateway model ref (`google-ai-studio/gemini-2.5-pro`) as OpenCode names it (`google/gemini-2.5-pro`). */
function opencodeRef(ref: string): string {
  const slash = ref.indexOf("/");
  const id = ref.slice(0, slash);
  return isProviderId(id) ? `${opencodeProviderId(id)}${ref.slice(slash)}` : ref;
}

function withOpencodeModels<T extends { model?: string | undefined }>(entries: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [name, entry] of Object.entries(entries)) out[name] = entry.model ? { ...entry, model: opencodeRef(entry.model) } : entry;
  return out;
}
