import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, devCallerId, startHarness, type Harness } from "../gateway/harness.ts";

const bin = join(new URL("../..", import.meta.url).pathname, "bin/gatehouse.js");
const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(900) }], max_tokens: 1000 };
const bytes = new TextEncoder().encode(JSON.stringify(body)).byteLength;
const perRequest = (bytes + 1000) / 1e6;

let h: Harness;
let dataDir: string;
beforeAll(async () => {
  h = await startHarness({}, {}, ["  openai/gpt-4o-mini: { input: 1, output: 1 }", "policy:", "  groups:", "    dev:", '      models: ["openai/*"]', `      budget: { perUser: { dailyUsd: ${(2 * perRequest * 1.0000001).toFixed(9)} } }`]);
  h.fake.setDefault({ usage: { input: bytes, output: 1000 } });
  dataDir = join(h.dir, "data");
}, 60_000);
afterAll(async () => {
  await h?.close();
});

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: Record<string, string | undefined> = { ...process.env, GATEHOUSE_LOG_LEVEL: "warn" };
  delete env["DATABASE_URL"];
  const r = spawnSync(process.execPath, [bin, "budget", ...args], { env, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const send = () => fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` }, body: JSON.stringify(body) });
/** One retry when the pooled connection was closed by the server while idle (a CLI run takes seconds: the keep-alive race). */
const post = () => send().catch((err: unknown) => (err instanceof TypeError ? send() : Promise.reject(err instanceof Error ? err : new Error(String(err)))));

async function statusOf(): Promise<number> {
  const res = await post();
  await res.arrayBuffer();
  return res.status;
}

/** Polls until a request gets `status`; returns the milliseconds it took (the bound is OVERRIDE_POLL_MS, 2 s). */
async function msUntil(status: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const res = await post();
    await res.arrayBuffer();
    if (res.status === status) return Date.now() - started;
    if (Date.now() - started > 30_000) throw new Error(`still ${res.status} after 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("gatehouse budget (a real CLI process against a running gateway's store)", { timeout: 180_000 }, () => {
  it("override, list, revoke and reset apply to the running gateway within the poll bound", async () => {
    for (let i = 0; i < 2; i++) expect(await statusOf()).toBe(200);
    expect(await statusOf()).toBe(429);

    const override = cli("override", "--user", "dev@localhost", "--add-usd", String(perRequest * 1.5), "--reason", "demo day", "-d", dataDir);
    expect(override.stderr).toBe("");
    expect(override.status).toBe(0);
    const id = /override ([0-9a-f-]{36})/.exec(override.stdout)?.[1] ?? "";
    const callerId = await devCallerId(h);
    expect(override.stdout).toContain(`raised user:${callerId}'s daily budget by $${(perRequest * 1.5).toFixed(2)} until `);
    const applied = await msUntil(200);
    console.log(`override applied by the running gateway after ${applied} ms (bound: 2000 ms poll)`);
    expect(applied).toBeLessThan(10_000);

    const list = cli("list", "--user", "dev@localhost", "-d", dataDir);
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toMatch(/raise\s+\$0\.00\s+\S+\s+\S+\s+active\s+demo day\s+cli:/);

    expect(cli("revoke", id, "-d", dataDir).status).toBe(0);
    await msUntil(429);
    expect(cli("list", "--all", "-d", dataDir).stdout).toMatch(/revoked/);

    const reset = cli("reset", "--caller-id", callerId, "--reason", "billed twice", "-d", dataDir);
    expect(reset.status).toBe(0);
    expect(reset.stdout).toMatch(/reset user:.*'s daily budget for \d{4}-\d{2}-\d{2}/);
    await msUntil(200);
  });

  it("needs the store: a wrong data directory is refused and nothing is created", () => {
    const wrong = join(mkdtempSync(join(tmpdir(), "gatehouse-nostore-")), "data");
    const r = cli("override", "--group", "dev", "--add-usd", "5", "--reason", "x", "-d", wrong);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no Gatehouse database at/);
    expect(existsSync(wrong)).toBe(false);
  });

  it("refuses unclear input with what to fix, and documents itself in --help", () => {
    expect(cli("override", "--group", "dev", "--reason", "x", "-d", dataDir).stderr).toMatch(/exactly one of --add-usd \(raise\) and --cap-usd/);
    expect(cli("override", "--group", "dev", "--user", "a@b.c", "--add-usd", "1", "--reason", "x", "-d", dataDir).stderr).toMatch(/exactly one budget owner/);
    expect(cli("override", "--group", "dev", "--add-usd", "1", "--until", "2001-01-01", "--reason", "x", "-d", dataDir).stderr).toMatch(/not in the future/);
    expect(cli("override", "--group", "dev", "--add-usd", "-3", "--reason", "x", "-d", dataDir).stderr).toMatch(/--add-usd must be a positive amount/);
    const help = cli("override", "--help");
    expect(help.status).toBe(0);
    for (const flag of ["--user", "--caller-id", "--service-account", "--group", "--period", "--add-usd", "--cap-usd", "--until", "--for", "--reason"]) expect(help.stdout).toContain(flag);
  });
});
