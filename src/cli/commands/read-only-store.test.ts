import { existsSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { openStore } from "../../adapters/node/server.ts";
import { parseSettings } from "../../core/settings.ts";
import { ledgerRow } from "../../../test/support/policy.ts";
import { main } from "../main.ts";

/** Runs `gatehouse …` in this process; returns what it printed and its exit code. */
async function gatehouse(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  process.exitCode = 0;
  try {
    await main(["node", "gatehouse", ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout, stderr, code };
}

const root = mkdtempSync(join(tmpdir(), "gatehouse-readonly-"));
const savedDatabaseUrl = process.env["DATABASE_URL"];
const realDir = join(root, "real");

beforeAll(async () => {
  delete process.env["DATABASE_URL"];
  const db = await openStore(parseSettings({}, { dataDir: realDir }));
  await db
    .insertInto("ledger")
    .values([
      ledgerRow({ ts: Date.parse("2026-11-02T10:00:00Z"), day: "2026-11-02", team: null, provider: "openai", model: "gpt-5", input_tokens: 100, output_tokens: 20, cost_usd: 0.0042 }),
      ledgerRow({ ts: Date.parse("2026-11-03T10:00:00Z"), day: "2026-11-03", team: "eng", provider: "anthropic", model: '=HYPERLINK("http://x")', input_tokens: 10, cost_usd: 5000 }),
    ])
    .execute();
  await db.destroy();
});

afterAll(() => {
  if (savedDatabaseUrl !== undefined) process.env["DATABASE_URL"] = savedDatabaseUrl;
});

afterEach(() => {
  process.exitCode = 0;
});

// Commands that read the store (identity resolve and token revoke append a row, to an existing store).
const READ_ONLY: Array<{ name: string; args: string[] }> = [
  { name: "usage", args: ["usage"] },
  { name: "usage --format csv", args: ["usage", "--format", "csv", "--by", "team"] },
  { name: "mcp audit", args: ["mcp", "audit"] },
  { name: "identity resolve", args: ["identity", "resolve", "c0ffee00-0000-4000-8000-000000000000", "--reason", "test"] },
  { name: "identity audit", args: ["identity", "audit"] },
  { name: "token list", args: ["token", "list"] },
  { name: "token revoke", args: ["token", "revoke", "some-jti"] },
];

describe("read-only commands never create a database", { timeout: 30_000 }, () => {
  for (const command of READ_ONLY) {
    it(`${command.name} with a mistyped --data-dir fails, names the path and the fix, creates nothing`, async () => {
      const typo = join(root, `typo-${command.name.replace(/\W+/g, "-")}`);
      const run = await gatehouse(...command.args, "--data-dir", typo);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`no Gatehouse database at ${join(typo, "gatehouse.db")}`);
      expect(run.stderr).toContain("--data-dir");
      expect(run.stderr).toContain("GATEHOUSE_DATA_DIR");
      expect(run.stdout).not.toContain("No usage recorded");
      expect(existsSync(typo)).toBe(false);
    });
  }

  it("an existing directory without the database file is not given one either", async () => {
    const run = await gatehouse("usage", "--data-dir", root);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no Gatehouse database at ${join(root, "gatehouse.db")}`);
    expect(readdirSync(root).filter((f) => f.startsWith("gatehouse.db"))).toEqual([]);
  });

  it("a directory in the database file's place is refused", async () => {
    const odd = join(root, "odd");
    mkdirSync(join(odd, "gatehouse.db"), { recursive: true });
    const run = await gatehouse("usage", "--data-dir", odd);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`not a database file: ${join(odd, "gatehouse.db")}`);
  });

  it("the real data directory still answers", async () => {
    const run = await gatehouse("usage", "--by", "team", "--data-dir", realDir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\(no team\)\s+1\s+100\s+20\s/m);
    expect(run.stdout).toContain("Total cost: $5,000.00 over 2 requests");
  });
});

describe("usage dates", () => {
  it.each([
    [["--since", "2026-13-01"], '--since must be a UTC day as YYYY-MM-DD (e.g. 2026-11-01), got "2026-13-01"'],
    [["--since", "2026-02-30"], '--since must be a UTC day as YYYY-MM-DD (e.g. 2026-11-01), got "2026-02-30"'],
    [["--until", "2026-11-1"], '--until must be a UTC day as YYYY-MM-DD (e.g. 2026-11-01), got "2026-11-1"'],
    [["--since", "2026-11-05", "--until", "2026-11-01"], "--until 2026-11-01 is before --since 2026-11-05"],
  ])("%j is refused before the store is opened", async (flags, message) => {
    const run = await gatehouse("usage", ...flags, "--data-dir", realDir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe("");
  });

  it("one day (--since = --until) is a valid range", async () => {
    const run = await gatehouse("usage", "--since", "2026-11-02", "--until", "2026-11-02", "--by", "model", "--format", "csv", "--data-dir", realDir);
    expect(run.code).toBe(0);
    // The CSV's columns: the original ones in their places, cache_hit_rate and unpriced_requests appended.
    expect(run.stdout).toBe("model,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd,errors,cache_hit_rate,unpriced_requests\r\ngpt-5,1,100,20,0,0,0,0.004200,0,0.0000,0\r\n");
  });

  it("mcp audit --since says the format, and does not roll 2026-02-30 into March", async () => {
    for (const since of ["2026-13-01", "2026-02-30", "yesterday"]) {
      const run = await gatehouse("mcp", "audit", "--since", since, "--data-dir", realDir);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`--since must be an ISO 8601 day or time (e.g. 2026-11-01 or 2026-11-01T09:00Z), got "${since}"`);
    }
    expect((await gatehouse("mcp", "audit", "--since", "2026-11-01T09:00Z", "--data-dir", realDir)).code).toBe(0);
  });

  it("identity resolve marks --reason as required in --help", async () => {
    const run = await gatehouse("identity", "resolve", "--help");
    expect(run.stdout).toMatch(/--reason <text>\s+required:/);
  });
});
