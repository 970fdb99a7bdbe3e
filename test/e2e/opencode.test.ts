import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPAT_KEY, KEYS, opencodeEnv, runOpencode, startE2eGateway, type E2eGateway } from "./opencode-harness.ts";

let h: E2eGateway;
let home: string;
let project: string;
let env: Record<string, string>;

beforeAll(async () => {
  h = await startE2eGateway();
  home = mkdtempSync(join(tmpdir(), "opencode-home-"));
  project = join(home, "project");
  mkdirSync(project, { recursive: true });
  env = opencodeEnv(home);
}, 60_000);
afterAll(async () => {
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
          await page.waitForSelector("#done", { timeout: 15_000 });
        } catch (err) {
          throw new Error(`sign-in did not finish at ${page.url()}:\n${(await page.content()).slice(0, 2000)}`, { cause: err });
        }
      }
      const result = await login;
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
  }, 60_000);
});
