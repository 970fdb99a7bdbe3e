import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Authenticator, HeaderReader } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { parseSettings } from "../../src/core/settings.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { KEYS } from "./harness.ts";
import { AWS_SESSION_TOKEN } from "./bedrock-vertex-harness.ts";

/** Callers by gateway token: one who may use every route, one who may use only Anthropic direct. */
export const CALLERS = {
  everywhere: { token: "tok-cross-everywhere-0000", caller: { id: "c0550000-0000-4000-8000-000000000001", email: undefined, groups: ["eng"], team: "eng", tokenId: undefined } },
  directOnly: { token: "tok-cross-direct-only-000", caller: { id: "c0550000-0000-4000-8000-000000000002", email: undefined, groups: ["direct"], team: "direct", tokenId: undefined } },
  /** Reads /metrics (the default admin group). */
  admin: { token: "tok-cross-admin-000000000", caller: { id: "c0550000-0000-4000-8000-000000000003", email: undefined, groups: ["admin"], team: "platform", tokenId: undefined } },
} satisfies Record<string, { token: string; caller: Caller }>;

const authenticator: Authenticator = {
  async authenticate(headers: HeaderReader) {
    const token = extractClientToken(headers);
    const entry = Object.values(CALLERS).find((c) => c.token === token);
    if (!entry) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    return entry.caller;
  },
};

export interface CrossHarness {
  gateway: RunningGateway;
  /** The same as `anthropic` (the shared helpers read a harness's `fake`). */
  fake: FakeUpstream;
  dir: string;
  /** Anthropic's and OpenAI's direct APIs (and the Gemini API, for the route that must never cross). */
  anthropic: FakeUpstream;
  /** Bedrock, Vertex AI and Azure OpenAI (a different host from the direct APIs': a credential sent to the wrong one shows). */
  cloud: FakeUpstream;
  /** Applies a policy (and provider overrides) the way a config reload does. */
  setPolicy(policy: unknown, providers?: Record<string, Record<string, unknown>>): void;
  close(): Promise<void>;
}

/**
 * A real gateway with Anthropic direct on one fake and Bedrock and Vertex AI on another, each
 * with its own credentials: the Anthropic key in ANTHROPIC_API_KEY, AWS keys for SigV4, the
 * Vertex service-account key JSON.
 */
export async function startCrossHarness(): Promise<CrossHarness> {
  const anthropic = await startFakeUpstream({ keys: KEYS });
  const cloud = await startFakeUpstream({ keys: KEYS });
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-cross-"));
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    [
      "providers:",
      "  anthropic:",
      `    upstream: ${anthropic.url}`,
      "  google-ai-studio:",
      `    upstream: ${anthropic.url}/v1beta`,
      "  openai:",
      `    upstream: ${anthropic.url}/v1`,
      "  azure-openai:",
      `    upstream: ${cloud.url}`,
      "    deployments:",
      "      reasoner: gpt-5-mini",
      "  bedrock:",
      `    upstream: ${cloud.url}`,
      `    region: ${cloud.aws.region}`,
      "  vertex:",
      `    upstream: ${cloud.url}`,
      `    project: ${cloud.vertex.project}`,
      "    location: us-east5",
      "",
    ].join("\n"),
  );
  const env: Record<string, string> = {
    ANTHROPIC_API_KEY: KEYS.anthropic,
    GEMINI_API_KEY: KEYS.google,
    OPENAI_API_KEY: KEYS.openai,
    AZURE_OPENAI_API_KEY: cloud.keys.azure,
    AWS_ACCESS_KEY_ID: cloud.aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: cloud.aws.secretAccessKey,
    AWS_SESSION_TOKEN: AWS_SESSION_TOKEN,
    GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify(cloud.vertex.serviceAccountKey),
  };
  const settings = parseSettings(env, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  const gateway = await startGateway({ settings, env, logger: silentLogger, offline: true, authenticator });
  return {
    gateway,
    fake: anthropic,
    dir,
    anthropic,
    cloud,
    setPolicy(policy, providers = {}) {
      const current = gateway.deps.config.current();
      const merged: Record<string, unknown> = { ...current.providers };
      for (const [id, extra] of Object.entries(providers)) merged[id] = { ...(current.providers as Record<string, object>)[id], ...extra };
      gateway.deps.config.replace(orgConfigSchema.parse({ providers: merged, pricing: current.pricing, policy }));
    },
    async close() {
      await gateway.close();
      await anthropic.close();
      await cloud.close();
    },
  };
}
