import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "gatehouse-serve-summary-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Starts `gatehouse serve`, returns everything it printed up to the end of its start-up summary, then stops it. */
async function startupOutput(args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--data-dir", join(work, `data-${Math.random()}`), ...args], {
    env: { ...process.env, GATEHOUSE_CATALOG_REFRESH_MS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const done = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString("utf8");
      if (out.includes("Dev token")) resolve();
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`serve exited with ${code} before its summary:\n${out}`)));
  });
  try {
    await done;
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  return out;
}

describe("gatehouse serve start-up summary (a real process)", { timeout: 120_000 }, () => {
  it("without --config warns that no providers are configured and names the fix", async () => {
    const out = await startupOutput([], {});
    expect(out).toContain("config     none (no --config, no GATEHOUSE_CONFIG)");
    expect(out).toContain("warning: No providers are configured");
    expect(out).toContain("gatehouse serve --config examples/config");
    expect(out).toMatch(/dashboard {2}http:\/\/127\.0\.0\.1:\d+\/dashboard/);
    expect(out).toMatch(/OpenCode {3}http:\/\/127\.0\.0\.1:\d+\/\.well-known\/opencode/);
  });

  it("lists providers with key found or missing by variable name, and never prints a key", async () => {
    const dir = mkdtempSync(join(work, "config-"));
    writeFileSync(join(dir, "gatehouse.yaml"), "providers:\n  openai:\n    apiKeyEnv: TEAM_OPENAI_KEY\n  anthropic: {}\n");
    const key = "sk-proj-summary-test-key-9f8e7d6c5b4a";
    const out = await startupOutput(["--config", dir], { TEAM_OPENAI_KEY: key, ANTHROPIC_API_KEY: "", GATEHOUSE_LOG_LEVEL: "debug" });
    expect(out).toContain(`config     ${dir} (2 providers`);
    expect(out).toMatch(/openai .* key TEAM_OPENAI_KEY: found/);
    expect(out).toMatch(/anthropic .* key ANTHROPIC_API_KEY: MISSING/);
    expect(out).toContain("warning: anthropic: no key in ANTHROPIC_API_KEY");
    expect(out).not.toContain(key);
  });
});
