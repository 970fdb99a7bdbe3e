/**
 * The strongest check that the fake is indistinguishable from the real APIs: the real
 * OpenCode client (its bundled AI SDK providers) talks to it directly for each wire format
 * and prints the streamed answer.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "./index.ts";

const opencode = new URL("../../node_modules/opencode-linux-x64/bin/opencode", import.meta.url).pathname;

let fake: FakeUpstream;
let home: string;
beforeAll(async () => {
  fake = await startFakeUpstream();
  fake.setDefault({ text: "PONG from the fake upstream", chunks: 4 });
  home = mkdtempSync(join(tmpdir(), "fake-upstream-opencode-"));
});
afterAll(async () => {
  await fake.close();
  rmSync(home, { recursive: true, force: true });
});

/** Runs `opencode run -m <model>` in its own isolated, offline home and project. */
async function runOpenCode(model: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = join(home, model.replace("/", "-"));
  const project = join(base, "project");
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, "opencode.json"),
    JSON.stringify({
      $schema: "https://opencode.ai/config.json",
      provider: {
        anthropic: { options: { baseURL: `${fake.url}/v1`, apiKey: fake.keys.anthropic } },
        openai: { options: { baseURL: `${fake.url}/v1`, apiKey: fake.keys.openai } },
        google: { options: { baseURL: `${fake.url}/v1beta`, apiKey: fake.keys.google } },
        compat: { npm: "@ai-sdk/openai-compatible", name: "Compat", options: { baseURL: `${fake.url}/v1`, apiKey: fake.keys.openai }, models: { "local-llama": { name: "Local Llama" } } },
      },
    }),
  );
  const env = {
    PATH: process.env["PATH"] ?? "",
    HOME: base,
    PWD: project,
    XDG_CONFIG_HOME: join(base, ".config"),
    XDG_DATA_HOME: join(base, ".local/share"),
    XDG_CACHE_HOME: join(base, ".cache"),
    XDG_STATE_HOME: join(base, ".local/state"),
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DISABLE_SHARE: "1",
    npm_config_offline: "true",
  };
  const child = spawn(opencode, ["run", "-m", model, "say hi"], { cwd: project, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, stdout, stderr };
}

describe.skipIf(!existsSync(opencode))("the real OpenCode client against the fake", () => {
  it("streams an answer over Anthropic Messages, OpenAI Responses, Gemini SSE and OpenAI-compatible Chat", async () => {
    const models = ["anthropic/claude-sonnet-4-5", "openai/gpt-4.1-mini", "google/gemini-2.5-flash", "compat/local-llama"];
    const runs = await Promise.all(models.map((model) => runOpenCode(model)));
    runs.forEach((run, i) => {
      expect({ model: models[i], code: run.code, stderrTail: run.code === 0 ? "" : run.stderr.slice(-2000) }).toEqual({ model: models[i], code: 0, stderrTail: "" });
      expect(run.stdout).toContain("PONG from the fake upstream");
    });
    const paths = new Set(fake.requests.map((r) => `${r.path}${r.search}`));
    expect(paths).toContain("/v1/messages");
    expect(paths).toContain("/v1/responses");
    expect(paths).toContain("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    expect(paths).toContain("/v1/chat/completions");
    // Every request was streamed and authenticated with the provider's own key header.
    for (const request of fake.requests) {
      expect(request.bodyText.includes('"stream":true') || request.path.endsWith(":streamGenerateContent")).toBe(true);
      const key = request.headers["x-api-key"] ?? request.headers["x-goog-api-key"] ?? request.headers["authorization"];
      expect(key).toMatch(/fake-(anthropic|google|openai)-key$/);
    }
  }, 180_000);
});
