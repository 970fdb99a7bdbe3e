import { execFile } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { cachedToken, jwtExpiry, MIN_REMAINING_MS, storeToken, tokenCacheFile } from "../../src/cli/token-cache.ts";

const BIN = new URL("../../bin/gatehouse.js", import.meta.url).pathname;
const run = promisify(execFile);

async function printToken(home: string, url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, "login", "--print-token", url], { env: { PATH: process.env["PATH"] ?? "", HOME: home } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const jwt = (exp: number) => `e30.${Buffer.from(JSON.stringify({ exp })).toString("base64url")}.sig`;

describe("gatehouse login --print-token (what Claude Code's apiKeyHelper and Codex's auth command run)", () => {
  it("prints the kept token for that gateway and nothing else; refuses with how to fix when there is none, it is for another gateway, or it expires within a minute", async () => {
    const home = mkdtempSync(join(tmpdir(), "gatehouse-print-token-"));
    const none = await printToken(home, "http://127.0.0.1:8787");
    expect(none).toMatchObject({ code: 1, stdout: "" });
    expect(none.stderr).toContain("no valid Gatehouse token for http://127.0.0.1:8787");
    expect(none.stderr).toContain("run `gatehouse login http://127.0.0.1:8787`");

    const file = tokenCacheFile({ HOME: home });
    expect(file).toBe(join(home, ".config", "gatehouse", "tokens.json"));
    const token = jwt(Math.floor(Date.now() / 1000) + 3600);
    storeToken("http://127.0.0.1:8787/", token, Date.now() + 3_600_000, file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await printToken(home, "http://127.0.0.1:8787")).toEqual({ code: 0, stdout: `${token}\n`, stderr: "" });
    expect((await printToken(home, "http://127.0.0.1:9999")).code).toBe(1);

    storeToken("http://127.0.0.1:8787", token, Date.now() + MIN_REMAINING_MS - 5_000, file);
    const expiring = await printToken(home, "http://127.0.0.1:8787/");
    expect(expiring).toMatchObject({ code: 1, stdout: "" });
  });

  it("reads a JWT's expiry without verifying it (the gateway verifies), and keeps one entry per gateway", () => {
    expect(jwtExpiry(jwt(1_900_000_000))).toBe(1_900_000_000_000);
    expect(jwtExpiry("not-a-jwt")).toBeUndefined();
    expect(jwtExpiry("a.bm90IGpzb24.c")).toBeUndefined();
    const file = join(mkdtempSync(join(tmpdir(), "gatehouse-cache-")), "tokens.json");
    storeToken("https://a.example.com", "token-a", Date.now() + 3_600_000, file);
    storeToken("https://b.example.com", "token-b", Date.now() + 3_600_000, file);
    expect(cachedToken("https://a.example.com", Date.now(), file)?.token).toBe("token-a");
    expect(cachedToken("https://b.example.com/", Date.now(), file)?.token).toBe("token-b");
    expect(cachedToken("https://a.example.com", Date.now() + 3_600_000, file)).toBeUndefined();
  });
});
