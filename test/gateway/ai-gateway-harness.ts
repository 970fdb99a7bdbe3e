import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSettings } from "../../src/core/settings.ts";
import { startGateway, type RunningGateway } from "../../src/adapters/node/server.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { startFakeAiGateway, type FakeAiGateway } from "../fake-upstream/ai-gateway.ts";
import { capturingLogger, CLIENT_TOKEN, KEYS } from "./harness.ts";

export const ACCOUNT_ID = "0123456789abcdef0123456789abcdef";
export const GATEWAY_ID = "gatehouse-test";
/** The AI Gateway token: a secret that must reach the fake gateway and nothing else. */
export const AIG_TOKEN = "cfaig_fake-gateway-token-NEVER-LEAKED-5555";

export interface AiGatewayHarness {
  gateway: RunningGateway;
  /** The fake providers behind the fake AI Gateway. */
  providers: FakeUpstream;
  aig: FakeAiGateway;
  dir: string;
  logs: string[];
  close(): Promise<void>;
}

/**
 * A real gateway whose anthropic, openai, google-ai-studio, groq and compat routes go via a
 * fake Cloudflare AI Gateway in front of the fake providers. OpenAI and Groq use the keys the
 * AI Gateway stores (BYOK: the gateway has no OpenAI or Groq key at all); Anthropic, Google and
 * compat (Workers AI) have their keys injected by Gatehouse.
 */
export async function startAiGatewayHarness(options: { env?: Record<string, string | undefined>; cache?: boolean; extraConfig?: readonly string[]; anthropicExtra?: readonly string[] } = {}): Promise<AiGatewayHarness> {
  const providers = await startFakeUpstream({ keys: KEYS });
  const aig = await startFakeAiGateway({ providersUrl: providers.url, accountId: ACCOUNT_ID, gatewayId: GATEWAY_ID, token: AIG_TOKEN, storedKeys: { openai: KEYS.openai, groq: KEYS.groq }, cache: options.cache ?? false });
  const via = (byok: boolean) => `    via: { cloudflareAiGateway: { accountId: "${ACCOUNT_ID}", gatewayId: ${GATEWAY_ID}, tokenEnv: CF_AIG_TOKEN, byok: ${byok}, baseUrl: "${aig.baseUrl}" } }`;
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-aig-"));
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    [
      "providers:",
      "  anthropic:",
      via(false),
      ...(options.anthropicExtra ?? []),
      "  openai:",
      via(true),
      "  google-ai-studio:",
      via(false),
      "  groq:",
      via(true),
      "  compat:",
      via(false),
      "    apiKeyEnv: COMPAT_KEY",
      "    catalogProvider: cloudflare-workers-ai",
      ...(options.extraConfig ?? []),
      "",
    ].join("\n"),
  );
  // No OPENAI_API_KEY or GROQ_API_KEY: with BYOK the gateway needs none.
  const env: Record<string, string | undefined> = { ANTHROPIC_API_KEY: KEYS.anthropic, GEMINI_API_KEY: KEYS.google, COMPAT_KEY: KEYS.openai, CF_AIG_TOKEN: AIG_TOKEN, GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN, ...options.env };
  const defined = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const settings = parseSettings(defined, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  const logs: string[] = [];
  const gateway = await startGateway({ settings, env: defined, logger: capturingLogger(logs), offline: true });
  return {
    gateway,
    providers,
    aig,
    dir,
    logs,
    async close() {
      await gateway.close();
      await aig.close();
      await providers.close();
    },
  };
}
