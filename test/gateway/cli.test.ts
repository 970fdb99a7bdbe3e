import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream } from "../fake-upstream/index.ts";
import type { FakeUpstream } from "../fake-upstream/types.ts";
import { KEYS } from "./harness.ts";

const root = new URL("../..", import.meta.url).pathname;
const bin = join(root, "bin/gatehouse.js");
let fake: FakeUpstream;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: KEYS });
});
afterAll(async () => {
  await fake.close();
});

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-cli-"));
  writeFileSync(join(dir, "gatehouse.yaml"), `providers:\n  openai:\n    upstream: ${fake.url}/v1\n`);
  return dir;
}

// Real `gatehouse serve` processes (node + tsx start, SQLite): generous per-test time on a loaded 2-core machine.
describe("gatehouse serve (a real process)", { timeout: 120_000 }, () => {
  it("serves, and on SIGTERM flushes every ledger row before exiting; `gatehouse usage` reports them", async () => {
    const dir = configDir();
    const dataDir = join(dir, "data");
    const token = "gh_cli_test_token_0123456789";
    const child = spawn(process.execPath, [bin, "serve", "--config", dir, "--port", "0", "--data-dir", dataDir], {
      env: { ...process.env, OPENAI_API_KEY: KEYS.openai, GATEHOUSE_DEV_TOKEN: token, GATEHOUSE_CATALOG_REFRESH_MS: "0", GATEHOUSE_LEDGER_FLUSH_MS: "600000", GATEHOUSE_LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stderr });
      lines.on("line", (line) => {
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m?.[1]) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    });
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);

    const usage = spawnSync(process.execPath, [bin, "usage", "--by", "provider,model", "--format", "json", "--data-dir", dataDir], { encoding: "utf8" });
    expect(usage.status).toBe(0);
    const rows = JSON.parse(usage.stdout) as Array<{ keys: { provider: string; model: string }; requests: number; costUsd: number }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ keys: { provider: "openai", model: "gpt-5" }, requests: 12 });
    expect(rows[0]?.costUsd).toBeGreaterThan(0);

    const table = spawnSync(process.execPath, [bin, "usage", "--by", "day", "--data-dir", dataDir], { encoding: "utf8" });
    expect(table.stdout).toMatch(/day\s+requests/);
    expect(table.stdout).toMatch(/Total cost: \$[\d,]+\.\d+ over 12 requests/);
  });

  it("refuses dev auth on a non-loopback address, naming the fix", () => {
    const dir = configDir();
    const run = spawnSync(process.execPath, [bin, "serve", "--config", dir, "--host", "0.0.0.0", "--port", "0", "--data-dir", join(dir, "data")], { encoding: "utf8", env: { ...process.env, GATEHOUSE_CATALOG_REFRESH_MS: "0" }, timeout: 60_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Dev auth mode is refused on a non-loopback address");
  });

  it("reports invalid settings and config with the variable, file and field named", () => {
    const bad = spawnSync(process.execPath, [bin, "serve", "--port", "99999"], { encoding: "utf8", timeout: 60_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--port");
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-cli-"));
    writeFileSync(join(dir, "gatehouse.yaml"), "providers:\n  openai:\n    upstream: not-a-url\n");
    const badConfig = spawnSync(process.execPath, [bin, "serve", "--config", dir, "--port", "0", "--data-dir", join(dir, "data")], { encoding: "utf8", timeout: 60_000 });
    expect(badConfig.status).toBe(1);
    expect(badConfig.stderr).toContain("gatehouse.yaml");
    expect(badConfig.stderr).toContain("providers.openai.upstream");
  });

  it("a port already in use is a clear start error, and the process exits", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const dir = configDir();
      const run = spawnSync(process.execPath, [bin, "serve", "--config", dir, "--port", String(port), "--data-dir", join(dir, "data")], { encoding: "utf8", env: { ...process.env, GATEHOUSE_CATALOG_REFRESH_MS: "0" }, timeout: 60_000 });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`Cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      blocker.close();
    }
  });

  it("has --help for serve and usage", () => {
    for (const command of ["serve", "usage"]) {
      const help = spawnSync(process.execPath, [bin, command, "--help"], { encoding: "utf8" });
      expect(help.status).toBe(0);
      expect(help.stdout).toContain(`Usage: gatehouse ${command}`);
    }
  });
});
