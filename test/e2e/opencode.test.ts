import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snapshotCost } from "../gateway/harness.ts";
import { COMPAT_KEY, KEYS, opencodeEnv, runOpencode, startE2eGateway, type E2eGateway } from "./opencode-harness.ts";

let h: E2eGateway;
let home: string;
let project: string;
let env: Record<string, string>;
const timings: string[] = [];

beforeAll(async () => {
  h = await startE2eGateway();
  home = mkdtempSync(join(tmpdir(), "opencode-home-"));
  project = join(home, "project");
  mkdirSync(project, { recursive: true });
  env = opencodeEnv(home);
}, 60_000);
afterAll(async () => {
  process.stderr.write(`opencode e2e timings:\n  ${timings.join("\n  ")}\n`);
  await h?.close();
});

describe("OpenCode against Gatehouse (real client, real OIDC IdP, headless Chromium)", () => {
  it("opencode auth login runs gatehouse login; the browser signs in at the IdP; the token is stored", async () => {
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      // playwright gives every launch a fresh temporary profile (it refuses --user-data-dir here).
    });
    try {
      let signIn: Promise<void> | undefined;
      let output = "";
      const loginStarted = performance.now();
      const login = runOpencode(["auth", "login", h.gateway.url], env, project, (text) => {
        output += text;
        const link = /(http:\/\/\S+\/auth\/device\/verify\?user_code=\S+)/.exec(output)?.[1];
        if (link && !signIn) signIn = browse(link);
      });
      async function browse(link: string): Promise<void> {
        const page = await browser.newPage();
        await page.goto(link);
        await page.click("#approve");
        // oidc-provider's dev interactions: login form, then consent.
        await page.fill("input[name=login]", "Alice@Example.com");
        await page.fill("input[name=password]", "any");
        await page.click("button[type=submit]");
        await page.click("button[type=submit]");
        try {
          await page.waitForSelector("#done", { timeout: 30_000 });
        } catch (err) {
          throw new Error(`sign-in did not finish at ${page.url()}:\n${(await page.content()).slice(0, 2000)}`, { cause: err });
        }
      }
      const result = await login;
      timings.push(`auth login (incl. browser sign-in): ${Math.round(performance.now() - loginStarted)} ms`);
      expect(signIn, `the verification link was never printed:\n${output}`).toBeDefined();
      await signIn;
      expect(result.code, result.stdout + result.stderr).toBe(0);
    } finally {
      await browser.close();
    }
    const auth = JSON.parse(readFileSync(join(home, ".local/share/opencode/auth.json"), "utf8")) as Record<string, { type: string; key: string; token: string }>;
    const entry = Object.values(auth)[0];
    expect(entry).toMatchObject({ type: "wellknown", key: "GATEHOUSE_TOKEN" });
    expect(entry?.token.split(".")).toHaveLength(3);
  }, 120_000);

  const CLIENT_CREDENTIALS = ["cf-access-token", "cf-access-jwt-assertion"];

  async function callerId(): Promise<string> {
    const row = await h.gateway.deps.db.selectFrom("identities").select("id").where("email", "=", "alice@example.com").executeTakeFirstOrThrow();
    return row.id;
  }

  async function run(args: string[], behaviour: Parameters<typeof h.fake.setDefault>[0]): Promise<{ stdout: string; requests: typeof h.fake.requests }> {
    h.fake.reset();
    h.fake.setDefault(behaviour);
    const started = performance.now();
    const result = await runOpencode(["run", "--title", "e2e", ...args], env, project);
    expect(result.code, `opencode ${args.join(" ")}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
    timings.push(`${args.join(" ")}: ${Math.round(performance.now() - started)} ms`);
    return { stdout: result.stdout, requests: [...h.fake.requests] };
  }

  function assertForwardedSafely(requests: typeof h.fake.requests, realKey: string, keyHeader: string) {
    const token = (Object.values(JSON.parse(readFileSync(join(home, ".local/share/opencode/auth.json"), "utf8")) as Record<string, { token: string }>)[0] as { token: string }).token;
    expect(requests.length).toBeGreaterThan(0);
    for (const req of requests) {
      for (const name of CLIENT_CREDENTIALS) expect(req.headers[name]).toBeUndefined();
      expect(JSON.stringify(req.headers)).not.toContain(token.slice(-40));
      expect(req.bodyText).not.toContain(token.slice(-40));
      const sent = keyHeader === "authorization" ? req.headers["authorization"] : req.headers[keyHeader];
      expect(sent).toBe(keyHeader === "authorization" ? `Bearer ${realKey}` : realKey);
    }
  }

  async function ledgerFor(provider: string) {
    await h.gateway.ledger.flush();
    return h.gateway.deps.db.selectFrom("ledger").selectAll().where("provider", "=", provider).orderBy("ts").execute();
  }

  const cases = [
    { provider: "compat", model: "compat/local-llama", key: COMPAT_KEY, keyHeader: "authorization", path: "/v1/chat/completions", price: { input: 0.5, output: 1.5 } },
    { provider: "anthropic", model: "anthropic/claude-sonnet-4-5", key: KEYS.anthropic, keyHeader: "x-api-key", path: "/v1/messages", price: undefined },
    { provider: "openai", model: "openai/gpt-5", key: KEYS.openai, keyHeader: "authorization", path: "/v1/responses", price: undefined },
    { provider: "google-ai-studio", model: "google/gemini-2.5-flash", key: KEYS.google, keyHeader: "x-goog-api-key", path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent", price: undefined },
  ] as const;

  for (const c of cases) {
    it(`opencode run -m ${c.model}: answer printed, real key injected, token never forwarded, ledger row under the anonymous id`, async () => {
      const answer = `Gatehouse answer via ${c.provider} 42`;
      const { stdout, requests } = await run(["-m", c.model, "say hi"], { text: answer, usage: { input: 1200, output: 345 } });
      expect(stdout).toContain(answer);
      const upstream = requests.filter((r) => r.path === c.path);
      expect(upstream.length, requests.map((r) => r.path).join(", ")).toBeGreaterThan(0);
      assertForwardedSafely(requests, c.key, c.keyHeader);
      const id = await callerId();
      const body = JSON.parse(upstream[0]?.bodyText ?? "{}") as Record<string, unknown>;
      if (c.provider === "anthropic") expect((body["metadata"] as { user_id?: string } | undefined)?.user_id).toBe(id);
      if (c.provider === "openai") expect(body["store"]).toBe(false);
      const rows = await ledgerFor(c.provider);
      expect(rows.length).toBeGreaterThan(0);
      const row = rows[rows.length - 1];
      const modelId = c.model.slice(c.model.indexOf("/") + 1);
      expect(row).toMatchObject({ caller_id: id, team: "platform", model: modelId, input_tokens: 1200, output_tokens: 345, status: 200, outcome: "completed" });
      const price = c.price ?? snapshotCost(c.provider === "google-ai-studio" ? "google" : c.provider, modelId);
      expect(row?.cost_usd).toBeCloseTo((1200 * price.input + 345 * price.output) / 1e6, 9);
    }, 120_000);
  }

  it("a custom agent from agents/pirate.md carries its prompt to the model", async () => {
    const { stdout, requests } = await run(["--agent", "pirate", "hello"], { text: "Arr, ahoy!", usage: { input: 10, output: 3 } });
    expect(stdout).toContain("Arr, ahoy!");
    const chat = requests.filter((r) => r.path === "/v1/chat/completions");
    expect(chat.some((r) => r.bodyText.includes("PIRATE-AGENT-7"))).toBe(true);
  }, 120_000);

  it("a command from commands/haiku.md expands its template with the arguments", async () => {
    const { stdout, requests } = await run(["--command", "haiku", "gateways"], { text: "Autumn moonlight", usage: { input: 10, output: 3 } });
    expect(stdout).toContain("Autumn moonlight");
    const chat = requests.filter((r) => r.path === "/v1/chat/completions");
    expect(chat.some((r) => r.bodyText.includes("HAIKU-COMMAND-9: write a haiku about gateways"))).toBe(true);
  }, 120_000);
});
