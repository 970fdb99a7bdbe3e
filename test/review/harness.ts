// Test support: wires a real review run to the fake model server.
import { systemClock } from "../../src/core/clock.ts";
import { reviewConfigSchema, type ReviewConfig } from "../../src/review/config.ts";
import { GatewayTransport } from "../../src/review/model/gateway.ts";
import { FakeModelServer, type ScriptEntry } from "./fake-model.ts";
import { listen, type RunningServer } from "./serve.ts";

export const gatewayToken = "gh_test_gateway_token_123";

export interface ModelHarness {
  fake: FakeModelServer;
  server: RunningServer;
  transport: GatewayTransport;
  config(overrides?: Omit<Partial<ReviewConfig>, "models"> & { models?: Partial<ReviewConfig["models"]> }): ReviewConfig;
  close(): Promise<void>;
}

export async function startModelHarness(script: ScriptEntry[]): Promise<ModelHarness> {
  const fake = new FakeModelServer({ token: gatewayToken, script });
  const server = await listen(fake.app.fetch);
  const transport = new GatewayTransport({ baseUrl: server.url, token: gatewayToken });
  return {
    fake,
    server,
    transport,
    config(overrides = {}) {
      const { models, ...rest } = overrides;
      return reviewConfigSchema.parse({
        gateway: { url: server.url },
        ...rest,
        models: { specialist: ["anthropic/claude-sonnet-4-5", "openai/gpt-5-mini"], ...models },
      });
    },
    close: () => server.close(),
  };
}

export const clock = systemClock;
