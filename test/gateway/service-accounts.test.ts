import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileConfigOrThrow } from "../../src/config/index.ts";
import { ServiceAccounts } from "../../src/identity/index.ts";
import { systemClock } from "../../src/core/clock.ts";
import { ledgerRows, startHarness, type Harness } from "./harness.ts";

/**
 * Service-account keys against a real gateway (real SQLite, node:http, the wire-exact fake
 * providers): spend is attributed to the account, a scope refuses in the provider's own error
 * shape before anything is forwarded, rotation over HTTP, metrics:read, the account's own limit.
 */
const POLL_MS = 100;
const POLICY = `
policy:
  groups:
    eng:
      models: ["openai/*", "anthropic/*"]
    admin:
      models: ["*/*"]
`;

let h: Harness;
let accounts: ServiceAccounts;
const chat = (model: string) => JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] });
const callOpenAi = (key: string, model = "gpt-4o-mini") => fetch(`${h.gateway.url}/openai/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: chat(model) });
const scopes = { routes: ["openai"], models: ["openai/gpt-4o-mini*"] };

beforeAll(async () => {
  h = await startHarness({}, { GATEHOUSE_REVOCATION_POLL_MS: String(POLL_MS) });
  const yaml = readFileSync(join(h.dir, "gatehouse.yaml"), "utf8");
  h.gateway.deps.config.replace(compileConfigOrThrow([{ path: "gatehouse.yaml", text: `${yaml}${POLICY}` }]));
  accounts = new ServiceAccounts(h.gateway.deps.db, systemClock);
}, 60_000);
afterAll(() => h.close());

describe("service-account keys through the gateway", () => {
  it("a key calls a model in its scope; the ledger attributes the spend to the account and its group", async () => {
    const { account, key } = await accounts.create({ name: "ci-reviewer", ownerGroup: "eng", scopes, createdBy: "test" });
    const res = await callOpenAi(key.key);
    expect(res.status).toBe(200);
    await res.text();
    const rows = (await ledgerRows(h)).filter((r) => r.caller_id === account.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ caller_id: account.id, team: "eng", model: "gpt-4o-mini", status: 200 });
    // The key never reaches the provider.
    const forwarded = h.fake.requests.at(-1);
    expect(JSON.stringify(forwarded?.headers)).not.toContain(key.key);
  });

  it("a model or route outside the scope is refused in the provider's error shape, before anything is forwarded", async () => {
    const { key } = await accounts.create({ name: "narrow-bot", ownerGroup: "eng", scopes, createdBy: "test" });
    const before = h.fake.requests.length;
    const wrongModel = await callOpenAi(key.key, "gpt-4o");
    expect(wrongModel.status).toBe(403);
    const openAiError = (await wrongModel.json()) as { error: { message: string; type: string; code: string } };
    expect(openAiError.error.code).toBe("forbidden");
    expect(openAiError.error.message).toContain("Model openai/gpt-4o is outside service account narrow-bot's scope");

    const anthropic = await fetch(`${h.gateway.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key.key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(anthropic.status).toBe(403);
    const anthropicError = (await anthropic.json()) as { type: string; error: { type: string; message: string } };
    expect(anthropicError.type).toBe("error");
    expect(anthropicError.error.message).toContain("may not call");
    expect(h.fake.requests.length).toBe(before);
  });

  it("rotation over HTTP: both keys work during rollover; after revoke the old one is refused, the new one still works", async () => {
    const { key: oldKey } = await accounts.create({ name: "rotating", ownerGroup: "eng", scopes, createdBy: "test" });
    expect((await callOpenAi(oldKey.key)).status).toBe(200);
    const newKey = await accounts.addKey("rotating");
    expect((await callOpenAi(oldKey.key)).status).toBe(200);
    expect((await callOpenAi(newKey.key)).status).toBe(200);
    await accounts.revokeKey("rotating", oldKey.record.id, "rotated");
    // The bound is POLL_MS; wait on the outcome with a generous deadline that ends early.
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await callOpenAi(oldKey.key)).status;
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(401);
    expect((await callOpenAi(newKey.key)).status).toBe(200);
  });

  it("/metrics needs the metrics:read scope; an account owned by an admin group is no admin", async () => {
    const { key: scraper } = await accounts.create({ name: "prometheus", ownerGroup: "eng", scopes: { routes: ["openai"], metricsRead: true }, createdBy: "test" });
    const { key: adminOwned } = await accounts.create({ name: "admin-owned", ownerGroup: "admin", scopes: { routes: ["*"], models: ["*"] }, createdBy: "test" });
    const metrics = await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${scraper.key}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("# TYPE");
    const refused = await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${adminOwned.key}` } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("lacks the metrics:read scope");
    const dashboard = await fetch(`${h.gateway.url}/dashboard`, { headers: { authorization: `Bearer ${adminOwned.key}`, accept: "application/json" } });
    expect(dashboard.status).toBe(403);
  });

  it("the account's own rate limit applies to it alone", async () => {
    const { key } = await accounts.create({ name: "limited", ownerGroup: "eng", scopes, limits: { requestsPerMinute: 1 }, createdBy: "test" });
    const { key: sibling } = await accounts.create({ name: "sibling", ownerGroup: "eng", scopes, createdBy: "test" });
    expect((await callOpenAi(key.key)).status).toBe(200);
    const second = await callOpenAi(key.key);
    expect(second.status).toBe(429);
    expect(((await second.json()) as { error: { message: string } }).error.message).toContain("service account limited's requests per minute");
    expect((await callOpenAi(sibling.key)).status).toBe(200);
  });
});

describe("gatehouse service-account (the CLI, a real process on the running gateway's store)", { timeout: 120_000 }, () => {
  const bin = new URL("../../bin/gatehouse.js", import.meta.url).pathname;
  // Asynchronous: the gateway runs in this process, and a blocked event loop (spawnSync) outlives
  // the keep-alive timeout on a loaded machine, so the next request met a socket closed under it.
  const cli = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [bin, "service-account", ...args, "--data-dir", join(h.dir, "data")], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: h.dir } }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      });
    });

  it("create → the key works; key add → both work; key revoke → the old one is refused, the new one works", async () => {
    const created = await cli("create", "cli-bot", "--group", "eng", "--route", "openai", "--model", "openai/gpt-4o-mini*", "--rpm", "100", "--key-ttl", "90d");
    expect(created.code, created.stderr).toBe(0);
    const first = created.stdout.trim();
    expect(first).toMatch(/^ghsa_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain("not shown again");
    expect((await callOpenAi(first)).status).toBe(200);

    const added = await cli("key", "add", "cli-bot");
    expect(added.code, added.stderr).toBe(0);
    const second = added.stdout.trim();
    expect((await callOpenAi(first)).status).toBe(200);
    expect((await callOpenAi(second)).status).toBe(200);

    const listed = await cli("key", "list", "cli-bot");
    expect(listed.stdout).not.toContain(first);
    const firstId =
      listed.stdout
        .split("\n")
        .find((line) => line.includes(first.slice(0, 11)))
        ?.split(/\s+/)[0] ?? "";
    expect((await cli("key", "revoke", "cli-bot", firstId, "--reason", "rotated")).code).toBe(0);
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await callOpenAi(first)).status) !== 401) await new Promise((r) => setTimeout(r, 20));
    expect(status).toBe(401);
    expect((await callOpenAi(second)).status).toBe(200);
    const accountsList = await cli("list");
    expect(accountsList.stdout).toMatch(/cli-bot .* eng .* openai .* requestsPerMinute=100 .* 1\s*$/m);
  });

  it("bad input is refused with an error saying how to fix it; every command has --help", async () => {
    const typo = await cli("create", "typo", "--group", "eng", "--route", "opneai");
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("a route is a provider id");
    expect((await cli("create", "bad-scope", "--group", "eng", "--route", "openai", "--scope", "superuser")).stderr).toContain("the extra scopes are metrics:read and admin");
    expect((await cli("create", "bad-ttl", "--group", "eng", "--route", "openai", "--key-ttl", "soon")).stderr).toContain("--key-ttl must be a duration such as 90d");
    expect((await cli("key", "revoke", "nobody", "x")).stderr).toContain("No service account named nobody");
    for (const args of [["--help"], ["create", "--help"], ["list", "--help"], ["disable", "--help"], ["key", "--help"], ["key", "add", "--help"], ["key", "list", "--help"], ["key", "revoke", "--help"], ["key", "rollover", "--help"]]) {
      const help = await cli(...args);
      expect(help.code, args.join(" ")).toBe(0);
      expect(help.stdout).toContain("Usage: gatehouse service-account");
    }
  });
});

describe("gatehouse token revoke (jwt-mode revocation rows, a real process)", { timeout: 60_000 }, () => {
  const bin = new URL("../../bin/gatehouse.js", import.meta.url).pathname;
  const token = (...args: string[]) => spawnSync(process.execPath, [bin, "token", "revoke", ...args, "--data-dir", join(h.dir, "data")], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: h.dir } });

  it("records revocations by sub, email and jti in the shared store; refuses ambiguous input", async () => {
    expect(token("--sub", "idp|alice").status).toBe(0);
    expect(token("--email", "Bob@Example.com").stdout).toContain("every other token of that email");
    expect(token("iap-jti-1").stdout).toContain("refused as a jwt-mode token id");
    const rows = await h.gateway.deps.db.selectFrom("identity_revocations").select(["kind", "value"]).execute();
    expect(rows).toEqual(
      expect.arrayContaining([
        { kind: "sub", value: "idp|alice" },
        { kind: "email", value: "bob@example.com" },
        { kind: "jti", value: "iap-jti-1" },
      ]),
    );
    const both = token("--sub", "x", "--email", "y@example.com");
    expect(both.status).not.toBe(0);
    expect(both.stderr).toContain("exactly one of a token id, --email, --sub or --group");
  });
});
