import type { DiscoveryDocument } from "./discovery.ts";

/** The clouds Claude Code reaches the gateway through in its own Bedrock or Vertex mode. */
export type ClaudeCloud = "bedrock" | "vertex";

/** What `gatehouse setup claude-code --bedrock|--vertex` writes, read from the gateway's discovery. */
export interface ClaudeCloudRoute {
  cloud: ClaudeCloud;
  /** ANTHROPIC_BEDROCK_BASE_URL (`<gateway>/bedrock`) or ANTHROPIC_VERTEX_BASE_URL (`<gateway>/vertex/v1`). */
  baseUrl: string;
  /** AWS_REGION (the gateway's Bedrock region) or CLOUD_ML_REGION (the location of the served Vertex path). */
  region: string;
  /** ANTHROPIC_MODEL in the cloud's spelling; undefined leaves Claude Code's own default. */
  model: string | undefined;
  /** ANTHROPIC_SMALL_FAST_MODEL in the cloud's spelling; undefined leaves Claude Code's own default. */
  smallModel: string | undefined;
}

/** Discovery names providers by their OpenCode ids. */
const OPENCODE_ID: Record<ClaudeCloud, string> = { bedrock: "amazon-bedrock", vertex: "google-vertex" };

/**
 * A Claude model id in the cloud's own spelling: Bedrock's `anthropic.claude-…` (or an
 * inference profile, `us.anthropic.claude-…`), Vertex's `claude-…@<version>`.
 */
export function isCloudClaudeModel(cloud: ClaudeCloud, model: string): boolean {
  return cloud === "bedrock" ? /^([a-z-]+\.)?anthropic\.claude-/.test(model) : /^claude-[^@/]+@[^@/]+$/.test(model);
}

/**
 * The gateway's route for Claude Code in that cloud's mode, or undefined when the gateway does
 * not serve the cloud. Models: the org's default (small: its `small_model`) when it is a Claude
 * model of this cloud, else the first such model the gateway's whitelist names (small: the
 * first Haiku there), else none (Claude Code keeps its own default for the cloud).
 */
export function claudeCloudRoute(document: DiscoveryDocument, cloud: ClaudeCloud, gateway: string): ClaudeCloudRoute | undefined {
  const id = OPENCODE_ID[cloud];
  const provider = document.config.provider[id];
  if (!provider) return undefined;
  const { baseURL, region, location } = provider.options;
  let served: { baseUrl: string; region: string | undefined };
  if (cloud === "bedrock") served = { baseUrl: baseURL.replace(/\/+$/, ""), region };
  // OpenCode's Vertex base URL goes down to the Gemini publisher; Claude Code appends projects/… itself.
  else served = { baseUrl: baseURL.replace(/\/projects\/.*$/, ""), region: location ?? "global" };
  if (served.region === undefined) throw new Error(`${gateway}'s discovery does not say which AWS region its Bedrock route uses (a gateway older than this CLI): upgrade the gateway, or set AWS_REGION yourself.`);
  const claude = (provider.whitelist ?? []).filter((m) => isCloudClaudeModel(cloud, m));
  const orgDefault = (ref: string | undefined) => {
    if (ref === undefined || !ref.startsWith(`${id}/`)) return undefined;
    const model = ref.slice(id.length + 1);
    return isCloudClaudeModel(cloud, model) ? model : undefined;
  };
  return {
    cloud,
    baseUrl: served.baseUrl,
    region: served.region,
    model: orgDefault(document.config.model) ?? claude[0],
    smallModel: orgDefault(document.config.small_model) ?? claude.find((m) => m.includes("haiku")),
  };
}
