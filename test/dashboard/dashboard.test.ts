import { readFileSync } from "node:fs";
import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator, HeaderReader } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";
import { checkLayout } from "./layout.ts";
import { seedLedger } from "./seed.ts";

const ADMIN = "tok-dashboard-admin-0000";
const USER = "tok-dashboard-user-00000";
const PEOPLE: Record<string, Caller> = {
  [ADMIN]: { id: "ad000000-0000-4000-8000-0000000000ad", email: undefined, groups: ["platform-admins"], team: "platform", tokenId: undefined },
  [USER]: { id: "05e40000-0000-4000-8000-000000000001", email: undefined, groups: ["eng"], team: "eng", tokenId: undefined },
};
const authenticator: Authenticator = {
  async authenticate(headers: HeaderReader) {
    const caller = PEOPLE[extractClientToken(headers) ?? ""];
    if (!caller) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    return caller;
  },
};

const today = new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.parse(`${today}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
const FROM = daysAgo(13);

let h: Harness;
let browser: Browser;
let sqlite: Sqlite.Database;

beforeAll(async () => {
  h = await startHarness({ authenticator });
  const current = h.gateway.deps.config.current();
  h.gateway.deps.config.replace(
    orgConfigSchema.parse({
      providers: current.providers,
      pricing: current.pricing,
      policy: {
        groups: {
          eng: { models: ["*/*"], budget: { perUser: { monthlyUsd: 5 }, group: { monthlyUsd: 40 } } },
          data: { models: ["*/*"], budget: { group: { monthlyUsd: 25 } } },
          design: { models: ["*/*"] },
        },
        dashboard: { adminGroups: ["platform-admins"] },
      },
    }),
  );
  await seedLedger(h.gateway.deps.db, today, 14, 600);
  sqlite = new Sqlite(join(h.dir, "data", "gatehouse.db"), { readonly: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  sqlite?.close();
  await h?.close();
});

/** The ledger's own figures, computed here with plain SQL independently of the dashboard's queries. */
function ledger(from: string, to: string) {
  const one = <T>(q: string, ...args: unknown[]) => sqlite.prepare(q).get(from, to, ...args) as T;
  const all = <T>(q: string, ...args: unknown[]) => sqlite.prepare(q).all(from, to, ...args) as T[];
  const where = "where day >= ? and day <= ?";
  const totals = one<{ n: number; tokens: number; cost: number }>(`select count(*) n, sum(input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens) tokens, sum(cost_usd) cost from ledger ${where}`);
  const models = all<{ model: string; n: number; cost: number }>(`select model, count(*) n, sum(cost_usd) cost from ledger ${where} group by model`);
  const compat = one<{ n: number; cost: number }>(`select count(*) n, coalesce(sum(cost_usd), 0) cost from ledger ${where} and provider = 'compat'`);
  const top = all<{ caller_id: string; cost: number }>(`select caller_id, sum(cost_usd) cost from ledger ${where} group by caller_id order by cost desc limit 10`);
  const durations = all<{ d: number }>(`select duration_ms d from ledger ${where} and outcome <> 'not_forwarded' order by d`).map((r) => r.d);
  const denials = all<{ code: string; n: number }>(`select error_code code, count(*) n from ledger ${where} and outcome = 'not_forwarded' and error_code in ('rate_limited','budget_exceeded','forbidden') group by error_code`);
  const rank = (p: number) => durations[Math.ceil((p / 100) * durations.length) - 1];
  return { totals, models, compat, top, p50: rank(50), p90: rank(90), p99: rank(99), denials };
}

async function attr(page: Page, selector: string, name: string): Promise<number> {
  return Number(await page.locator(selector).first().getAttribute(name));
}

// Headless Chromium: generous per-test time on a loaded 2-core machine.
describe("usage dashboard in headless Chromium", { timeout: 120_000 }, () => {
  it("signs in an admin, shows the ledger's figures, filters by date, exports CSV", async () => {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const scriptErrors: string[] = [];
    page.on("pageerror", (e) => scriptErrors.push(e.message));
    page.on("requestfailed", (r) => scriptErrors.push(`request failed: ${r.url()}`));

    // Not signed in: the login form.
    await page.goto(`${h.gateway.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");

    // A valid token of a non-admin is refused with a message.
    await page.fill('input[name="token"]', USER);
    await page.click('button[type="submit"]');
    await expect(page.locator('[data-test="login-error"]').textContent()).resolves.toContain("not for a dashboard admin");

    await page.fill('input[name="token"]', ADMIN);
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/dashboard$/);
    const cookie = (await context.cookies()).find((c) => c.name === "gatehouse_token");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/dashboard" });

    // The range filter.
    await page.fill('input[name="from"]', FROM);
    await page.fill('input[name="to"]', today);
    await page.click('[data-test="range-form"] button');
    await page.waitForURL(/from=/);
    await page.waitForFunction(() => (window as unknown as { __gatehouseChartsReady?: boolean }).__gatehouseChartsReady === true);

    const want = ledger(FROM, today);
    expect(want.totals.n).toBe(600);
    expect(await attr(page, '[data-test="total-requests"]', "data-value")).toBe(want.totals.n);
    expect(await attr(page, '[data-test="total-tokens"]', "data-value")).toBe(want.totals.tokens);
    expect(await attr(page, '[data-test="total-cost"]', "data-value")).toBeCloseTo(want.totals.cost, 9);
    const costText = await page.locator('[data-test="total-cost"] .value').textContent();
    // Dollars and cents above $1 ("$5,000.00", not "$5,000.0000").
    expect(want.totals.cost).toBeGreaterThan(1);
    expect(costText).toBe(`$${want.totals.cost.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);

    for (const m of want.models) {
      const row = page.locator(`[data-test="models"] tr[data-key="${m.model}"]`);
      expect(Number(await row.getAttribute("data-requests"))).toBe(m.n);
      expect(Number(await row.getAttribute("data-cost"))).toBeCloseTo(m.cost, 9);
    }
    expect(await attr(page, '[data-test="class-open-weight"]', "data-requests")).toBe(want.compat.n);
    expect(await attr(page, '[data-test="class-open-weight"]', "data-cost")).toBeCloseTo(want.compat.cost, 9);
    expect(await attr(page, '[data-test="class-frontier"]', "data-requests")).toBe(want.totals.n - want.compat.n);

    const spenders = await page.locator('[data-test="spenders"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key")));
    expect(spenders).toEqual(want.top.map((t) => t.caller_id));

    const latency = page.locator('[data-test="latency-duration"]');
    expect(Number(await latency.getAttribute("data-p50"))).toBe(want.p50);
    expect(Number(await latency.getAttribute("data-p90"))).toBe(want.p90);
    expect(Number(await latency.getAttribute("data-p99"))).toBe(want.p99);
    for (const d of want.denials) expect(await attr(page, `[data-test="denial-${d.code}"]`, "data-value")).toBe(d.n);

    // Budget burn-down for the groups with a monthly budget, from caller_groups membership.
    const monthStart = `${today.slice(0, 7)}-01`;
    const engSpent = (sqlite.prepare("select coalesce(sum(l.cost_usd),0) c from ledger l join caller_groups g on g.caller_id = l.caller_id where g.group_name = 'eng' and l.day >= ? and l.day <= ?").get(monthStart, today) as { c: number }).c;
    expect(await attr(page, '[data-test="burn-eng"]', "data-spent")).toBeCloseTo(engSpent, 9);
    expect(await page.locator("canvas").count()).toBe(4);
    // Two weeks of traffic: no "not enough data" hint.
    expect(await page.locator('[data-test="chart-hint"]').count()).toBe(0);

    // Desktop layout: nothing scrolls sideways; caller ids are cut, and each cut one has its full id as tooltip.
    const desktop = await checkLayout(page);
    expect(desktop.problems).toEqual([]);
    expect(desktop.width).toBe(1400);
    expect(desktop.costColumns).toBe(12);
    expect(desktop.cutCells).toBeGreaterThan(0);
    const cutId = page.locator('[data-test="spenders"] td.id').first();
    expect(await cutId.getAttribute("title")).toBe(await cutId.textContent());
    expect(await cutId.evaluate((td) => td.scrollWidth > td.clientWidth)).toBe(true);

    expect(scriptErrors).toEqual([]);
    // The README's picture is refreshed on request only, so a test run leaves the tree clean.
    const shot = await page.screenshot({ fullPage: true, ...(process.env["UPDATE_SCREENSHOTS"] === "1" ? { path: join(import.meta.dirname, "../../docs/images/dashboard.png") } : {}) });
    expect(shot.byteLength).toBeGreaterThan(10_000);

    // CSV by model equals the ledger.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-test="export-model"]')]);
    const csv = readFileSync(await download.path(), "utf8")
      .trim()
      .split("\r\n");
    expect(csv[0]).toBe("model,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd,errors,cache_hit_rate,unpriced_requests");
    const byModel = new Map(
      csv
        .slice(1)
        .map((line) => line.split(","))
        .map((cells) => [cells[0], cells]),
    );
    expect(byModel.size).toBe(want.models.length);
    for (const m of want.models) {
      expect(Number(byModel.get(m.model)?.[1])).toBe(m.n);
      expect(Number(byModel.get(m.model)?.[7])).toBeCloseTo(m.cost, 6);
    }

    // A narrower range shows only its days.
    await page.goto(`${h.gateway.url}/dashboard?from=${today}&to=${today}`);
    expect(await attr(page, '[data-test="total-requests"]', "data-value")).toBe(ledger(today, today).totals.n);

    // Sign out clears the session.
    await page.click('form[action="/dashboard/logout"] button');
    await page.waitForURL(/\/dashboard\/login$/);
    await page.goto(`${h.gateway.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    await context.close();
  });

  it("fits a 390 px phone: no sideways scroll, Cost and Share in view, cut ids with tooltips", async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await context.addCookies([{ name: "gatehouse_token", value: ADMIN, url: `${h.gateway.url}/dashboard` }]);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const scriptErrors: string[] = [];
    page.on("pageerror", (e) => scriptErrors.push(e.message));
    await page.goto(`${h.gateway.url}/dashboard?from=${FROM}&to=${today}`);
    await page.waitForFunction(() => (window as unknown as { __gatehouseChartsReady?: boolean }).__gatehouseChartsReady === true);
    expect(await page.evaluate(() => window.innerWidth)).toBe(390);
    const phone = await checkLayout(page);
    expect(phone.problems).toEqual([]);
    expect(phone.width).toBe(390);
    expect(phone.costColumns).toBe(12);
    // Every aggregate table still shows Cost and Share figures, not only their headers.
    for (const table of ["providers", "models", "teams", "spenders"]) {
      const cost = page.locator(`[data-test="${table}"] tbody tr`).first().locator('td[data-col="cost"]');
      expect(await cost.isVisible()).toBe(true);
      expect(await cost.textContent()).toMatch(/^\$/);
    }
    expect(scriptErrors).toEqual([]);
    const shot = await page.screenshot({ fullPage: true, scale: "css", ...(process.env["UPDATE_SCREENSHOTS"] === "1" ? { path: join(import.meta.dirname, "../../docs/images/dashboard-phone.png") } : {}) });
    expect(shot.byteLength).toBeGreaterThan(10_000);
    await context.close();
  });

  it("refuses API callers without an admin token, and bad ranges with a clear error", async () => {
    const anonymous = await fetch(`${h.gateway.url}/dashboard/export.csv`);
    expect(anonymous.status).toBe(401);
    const user = await fetch(`${h.gateway.url}/dashboard/export.csv`, { headers: { authorization: `Bearer ${USER}` } });
    expect(user.status).toBe(403);
    const bad = await fetch(`${h.gateway.url}/dashboard?from=2026-02-30`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('"from" must be a date');
    const badBy = await fetch(`${h.gateway.url}/dashboard/export.csv?by=email`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(badBy.status).toBe(400);
  });
});
