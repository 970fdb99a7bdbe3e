import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSettings } from "../../src/core/settings.ts";
import { startGateway, type GatewayOptions, type RunningGateway } from "../../src/adapters/node/server.ts";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { capturingLogger, CLIENT_TOKEN } from "./harness.ts";

/** A session token the fake does not check but that must never reach a client or a log either. */
export const AWS_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEFAKE-session-token-never-logged";

export interface CloudHarness {
  gateway: RunningGateway;
  fake: FakeUpstream;
  dir: string;
  /** Every log line the gateway wrote, as JSON text. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * A real gateway in front of the fake Bedrock and Vertex AI: Bedrock in the fake's region with
 * its AWS keys in the gateway's environment, Vertex with the fake's service-account key JSON in
 * GOOGLE_SERVICE_ACCOUNT_KEY. `env` overrides (a wrong secret, no key) go on top.
 */
export async function startCloudHarness(options: { env?: Record<string, string | undefined>; gateway?: Partial<GatewayOptions>; vertexLocation?: string; vertexKey?: (key: Record<string, string>) => Record<string, string> } = {}): Promise<CloudHarness> {
  const fake = await startFakeUpstream();
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-cloud-"));
  writeFileSync(
    join(dir, "gatehouse.yaml"),
    ["providers:", "  bedrock:", `    upstream: ${fake.url}`, `    region: ${fake.aws.region}`, "  vertex:", `    upstream: ${fake.url}`, `    project: ${fake.vertex.project}`, `    location: ${options.vertexLocation ?? "us-east5"}`, ""].join("\n"),
  );
  const env: Record<string, string | undefined> = {
    AWS_ACCESS_KEY_ID: fake.aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: fake.aws.secretAccessKey,
    AWS_SESSION_TOKEN: AWS_SESSION_TOKEN,
    GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify(options.vertexKey ? options.vertexKey(fake.vertex.serviceAccountKey) : fake.vertex.serviceAccountKey),
    GATEHOUSE_DEV_TOKEN: CLIENT_TOKEN,
    ...options.env,
  };
  const defined = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const settings = parseSettings(defined, { configDir: dir, dataDir: join(dir, "data"), port: 0 });
  const logs: string[] = [];
  const gateway = await startGateway({ settings, env: defined, logger: capturingLogger(logs), offline: true, ...options.gateway });
  return {
    gateway,
    fake,
    dir,
    logs,
    async close() {
      await gateway.close();
      await fake.close();
    },
  };
}
