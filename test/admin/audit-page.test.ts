import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminHarness, type AdminHarness } from "./support.ts";

/**
 * The dashboard's admin audit page (/dashboard/audit) in headless Chromium: reached from the
 * dashboard's header, its rows and filters match plain SQL over admin_audit, and it shows no key.
 */
let h: AdminHarness;
let browser: Browser;
let admin: string;
let user: string;
const keys: string[] = [];

beforeAll(async () => {
  h = await startAdminHarness();
  admin = await h.token("root@example.com", ["admin"]);
  user = await h.token("mallory@example.com", ["eng"]);
  const created = await h.api("POST", "/admin/v1/service-accounts", { token: admin, body: { name: "page-bot", ownerGroup: "eng", scopes: { routes: ["openai"] } } });
  const first = created.body["key"] as { key: string; record: { id: string } };
  keys.push(first.key);
  keys.push(((await h.api("POST", "/admin/v1/service-accounts/page-bot/keys", { token: admin, body: {} })).body as { key: string }).key);
  await h.api("POST", `/admin/v1/service-accounts/page-bot/keys/${first.record.id}/revoke`, { token: admin, body: { reason: "rotated" } });
  await h.api("POST", "/admin/v1/service-accounts/page-bot/keys/nope/revoke", { token: admin, body: {} });
  await h.api("GET", "/admin/v1/service-accounts", { token: user });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe("the dashboard's admin audit page", () => {
  it("lists the log as SQL has it, filters by outcome and action, never shows a key, and is for admins only", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${h.gateway.url}/dashboard/audit`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    await page.fill('input[name="token"]', admin);
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/dashboard$/);
    await page.click('[data-test="admin-audit-link"]');
    await page.waitForURL(/\/dashboard\/audit$/);

    const db = h.gateway.deps.db;
    const all = await db.selectFrom("admin_audit").select(["id", "action", "outcome"]).orderBy("ts", "desc").orderBy("id", "desc").execute();
    const shown = await page.locator('[data-test="audit-entry"]').evaluateAll((rows) => rows.map((r) => ({ id: r.getAttribute("data-id"), action: r.getAttribute("data-action"), outcome: r.getAttribute("data-outcome") })));
    expect(shown).toEqual(all);
    expect(shown.map((r) => `${r.action} ${r.outcome}`)).toEqual(expect.arrayContaining(["service_account.create ok", "key.create ok", "key.revoke ok", "key.revoke failed", "listServiceAccounts denied"]));
    const html = await page.content();
    for (const key of keys) expect(html).not.toContain(key.slice(11));
    expect(html).toContain("mallory@example.com");

    await page.selectOption('select[name="outcome"]', "denied");
    await page.click('[data-test="audit-filter"] button[type="submit"]');
    await page.waitForURL(/outcome=denied/);
    const denied = await page.locator('[data-test="audit-entry"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")));
    expect(denied).toEqual(all.filter((r) => r.outcome === "denied").map((r) => r.id));

    await page.goto(`${h.gateway.url}/dashboard/audit?action=key.revoke&outcome=`);
    const revokes = await page.locator('[data-test="audit-entry"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")));
    expect(revokes).toEqual(all.filter((r) => r.action === "key.revoke").map((r) => r.id));
    expect(revokes).toHaveLength(2);
    await page.goto(`${h.gateway.url}/dashboard/audit?action=nothing.like.this`);
    await expect(page.locator('[data-test="audit-empty"]').textContent()).resolves.toContain("match these filters");

    // A person outside the admin groups gets the dashboard's refusal, not the log.
    const other = await browser.newContext();
    const refused = await other.request.get(`${h.gateway.url}/dashboard/audit`, { headers: { authorization: `Bearer ${user}` }, maxRedirects: 0 });
    expect(refused.status()).toBe(403);
    expect(await refused.text()).not.toContain("page-bot");
    await other.close();
    await context.close();
  });
});
