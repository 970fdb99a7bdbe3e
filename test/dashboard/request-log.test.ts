import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator, HeaderReader } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import { ledgerRow } from "../support/policy.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";
import { checkLayout } from "./layout.ts";
import { CALLERS, seedLedger } from "./seed.ts";
import { FALLBACK_ID, HOSTILE, HOSTILE_ID, SAME_TS_COUNT, SERVICE_ACCOUNTS, UNPRICED_ID, seedRequestLog } from "./request-log-seed.ts";

// The request log in headless Chromium against a seeded ledger: each filter's rows, page by
// page through the "Older" links, equal plain SQL over the same SQLite file; the detail view
// equals the row; hostile values stay text; paging is stable while new rows arrive.

const ADMIN = "tok-requestlog-admin-000";
const USER = "tok-requestlog-user-0000";
const PEOPLE: Record<string, Caller> = {
  [ADMIN]: { id: "ad000000-0000-4000-8000-0000000000ad", email: undefined, groups: ["platform-admins"], team: "platform", tokenId: undefined },
  [USER]: { id: CALLERS[0] ?? "", email: undefined, groups: ["eng"], team: "eng", tokenId: undefined },
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

let h: Harness;
let browser: Browser;
let context: BrowserContext;
let sqlite: Sqlite.Database;

beforeAll(async () => {
  h = await startHarness({ authenticator });
  const current = h.gateway.deps.config.current();
  h.gateway.deps.config.replace(orgConfigSchema.parse({ providers: current.providers, pricing: current.pricing, policy: { groups: { eng: { models: ["*/*"] } }, dashboard: { adminGroups: ["platform-admins"] } } }));
  await seedLedger(h.gateway.deps.db, today, 14, 600);
  await seedRequestLog(h.gateway.deps.db, today);
  sqlite = new Sqlite(join(h.dir, "data", "gatehouse.db"), { readonly: true });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addCookies([{ name: "gatehouse_token", value: ADMIN, url: `${h.gateway.url}/dashboard` }]);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  sqlite?.close();
  await h?.close();
});

/** The ledger's request ids for a WHERE clause, newest first: written here, independently of the dashboard's queries. */
function expectedIds(where: string, ...args: unknown[]): string[] {
  const rows = sqlite.prepare(`select l.request_id id from ledger l left join service_accounts sa on sa.id = l.caller_id where ${where} order by l.ts desc, l.request_id desc`).all(...args) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

async function idsOnPage(page: Page): Promise<string[]> {
  return page.locator('tr[data-test="request-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id") ?? ""));
}

/** Every row of the listing, following "Older →" to the end; `between` runs after each page. */
async function allPages(page: Page, between?: (pageNumber: number) => Promise<void>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  for (;;) {
    ids.push(...(await idsOnPage(page)));
    pages++;
    await between?.(pages);
    const older = page.locator('a[data-test="older"]');
    if ((await older.count()) === 0) return { ids, pages };
    await Promise.all([page.waitForURL(/after=/), older.click()]);
  }
}

const ms = (day: string, time = "00:00:00") => Date.parse(`${day}T${time}Z`);

describe("request log in headless Chromium", { timeout: 180_000 }, () => {
  it("each filter shows exactly the rows plain SQL finds, over every page", async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const from = `${daysAgo(5)}T06:30`;
    const to = daysAgo(2);
    const cases: Array<{ name: string; query: Record<string, string>; where: string; args: unknown[] }> = [
      { name: "time range", query: { from, to }, where: "l.ts >= ? and l.ts < ?", args: [ms(daysAgo(5), "06:30:00"), ms(daysAgo(1))] },
      { name: "user", query: { caller: CALLERS[3] ?? "" }, where: "l.caller_id = ?", args: [CALLERS[3]] },
      { name: "service account", query: { service_account: "ci-reviewer" }, where: "sa.name = ?", args: ["ci-reviewer"] },
      { name: "service accounts only", query: { kind: "service" }, where: "sa.id is not null", args: [] },
      { name: "model", query: { model: "gpt-5" }, where: "(l.model = ? or l.requested_model = ?)", args: ["gpt-5", "gpt-5"] },
      { name: "model asked for (alias)", query: { model: "smart" }, where: "(l.model = ? or l.requested_model = ?)", args: ["smart", "smart"] },
      { name: "provider", query: { provider: "anthropic" }, where: "l.provider = ?", args: ["anthropic"] },
      { name: "outcome", query: { outcome: "not_forwarded" }, where: "l.outcome = ?", args: ["not_forwarded"] },
      { name: "status class", query: { status: "4xx" }, where: "l.status between 400 and 499", args: [] },
      { name: "status", query: { status: "502" }, where: "l.status = 502", args: [] },
      { name: "min cost", query: { min_cost: "0.05" }, where: "l.cost_usd >= ?", args: [0.05] },
      { name: "client", query: { client: "claude-code" }, where: "l.client = ?", args: ["claude-code"] },
      {
        name: "combined",
        query: { provider: "openai", outcome: "completed", min_cost: "0.01", kind: "person", to: daysAgo(3) },
        where: "l.provider = 'openai' and l.outcome = 'completed' and l.cost_usd >= 0.01 and sa.id is null and l.ts < ?",
        args: [ms(daysAgo(2))],
      },
    ];
    for (const c of cases) {
      const want = expectedIds(c.where, ...c.args);
      expect(want.length, c.name).toBeGreaterThan(0);
      await page.goto(`${h.gateway.url}/dashboard/requests?${new URLSearchParams(c.query).toString()}`);
      const got = await allPages(page);
      expect(got.ids, c.name).toEqual(want);
      expect(got.pages, c.name).toBe(Math.max(1, Math.ceil(want.length / 50)));
    }

    // The same through the form: fill, submit, and the form keeps what was asked.
    await page.goto(`${h.gateway.url}/dashboard/requests`);
    await page.fill('input[name="model"]', "claude-sonnet-4-5");
    await page.selectOption('select[name="outcome"]', "completed");
    await page.fill('input[name="status"]', "200");
    await Promise.all([page.waitForURL(/model=/), page.click('[data-test="request-filters"] button[type="submit"]')]);
    const viaForm = await allPages(page);
    expect(viaForm.ids).toEqual(expectedIds("(l.model = ? or l.requested_model = ?) and l.outcome = 'completed' and l.status = 200", "claude-sonnet-4-5", "claude-sonnet-4-5"));
    expect(await page.inputValue('input[name="model"]')).toBe("claude-sonnet-4-5");
    expect(await page.inputValue('select[name="outcome"]')).toBe("completed");

    // Nothing matches: an empty page says so.
    await page.goto(`${h.gateway.url}/dashboard/requests?caller=nobody`);
    expect(await page.locator('[data-test="no-requests"]').count()).toBe(1);
    expect(await page.locator('a[data-test="older"]').count()).toBe(0);
    await page.close();
  });

  it("pages stay stable while new requests arrive: no row twice, none missing, ties on ts split by id", async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const before = expectedIds("1 = 1");
    expect(before.length).toBeGreaterThan(600);
    await page.goto(`${h.gateway.url}/dashboard/requests?limit=97`);
    let added = 0;
    // The seed reaches to the end of today: new rows come after the newest one.
    const newest = (sqlite.prepare("select max(ts) ts from ledger").get() as { ts: number }).ts;
    const got = await allPages(page, async () => {
      // Newer rows land at the top while someone pages down, as in a running gateway.
      const ts = newest + 1000 * (added + 1);
      await h.gateway.deps.db
        .insertInto("ledger")
        .values(ledgerRow({ request_id: `0e000000-0000-4000-8000-${String(added++).padStart(12, "0")}`, ts, day: new Date(ts).toISOString().slice(0, 10), caller_id: "late", provider: "openai", model: "gpt-5" }))
        .execute();
    });
    expect(got.ids).toEqual(before);
    expect(new Set(got.ids).size).toBe(got.ids.length);
    expect(got.pages).toBe(Math.ceil(before.length / 97));
    // The rows that share one timestamp are all there, in id order.
    const sameTs = got.ids.filter((id) => id.startsWith("7777"));
    expect(sameTs).toHaveLength(SAME_TS_COUNT);
    expect(sameTs).toEqual([...sameTs].sort().reverse());
    // A page key that splits the tie: the next page starts right after it.
    const tie = sqlite.prepare("select ts, request_id from ledger where request_id like '7777%' order by request_id desc limit 1 offset 2").get() as { ts: number; request_id: string };
    await page.goto(`${h.gateway.url}/dashboard/requests?limit=3&after=${encodeURIComponent(`${tie.ts}.${tie.request_id}`)}`);
    expect(await idsOnPage(page)).toEqual(expectedIds("(l.ts < ? or (l.ts = ? and l.request_id < ?))", tie.ts, tie.ts, tie.request_id).slice(0, 3));
    // The new rows are on the first page once one starts again.
    await page.goto(`${h.gateway.url}/dashboard/requests`);
    expect((await idsOnPage(page)).slice(0, added)).toEqual(expectedIds("l.caller_id = 'late'"));
    await page.close();
  });

  it("the detail view shows the row: tokens by kind, cost, timings, attempts and fallback, denial reason, upstream error, unpriced", async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.gateway.url}/dashboard/requests?model=smart`);
    await Promise.all([page.waitForURL(new RegExp(`/dashboard/requests/${FALLBACK_ID}$`)), page.click('a[data-test="request-link"]')]);
    const row = sqlite.prepare("select * from ledger where request_id = ?").get(FALLBACK_ID) as Record<string, number | string>;
    const value = (f: string) => page.locator(`tr[data-field="${f}"]`).getAttribute("data-value");
    for (const f of ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens", "attempts", "status"]) expect(Number(await value(f)), f).toBe(row[f]);
    expect(Number(await value("cost_usd"))).toBeCloseTo(Number(row["cost_usd"]), 9);
    expect(await page.locator('tr[data-field="cost_usd"] td').nth(1).textContent()).toBe("$0.123");
    expect(Number(await value("ttfb_ms"))).toBe(row["ttfb_ms"]);
    expect(Number(await value("upstream_latency_ms"))).toBe(row["upstream_latency_ms"]);
    expect(Number(await value("duration_ms"))).toBe(row["duration_ms"]);
    expect(await page.locator('tr[data-field="ttfb_ms"] td').nth(1).textContent()).toBe("456 ms");
    expect(await value("requested_model")).toBe("smart");
    expect(await value("client")).toBe("claude-code");
    expect(await value("session_id")).toBe(row["session_id"]);
    expect(await value("model")).toBe("claude-opus-4-1");
    expect(await page.locator('[data-test="fallback"]').count()).toBe(1);
    expect(await page.locator('[data-test="bodies-none"]').count()).toBe(1);

    // A denial: the reason, and the service account named as one.
    const denied = sqlite.prepare("select l.request_id id from ledger l join service_accounts sa on sa.id = l.caller_id where l.error_code = 'budget_exceeded' limit 1").get() as { id: string };
    await page.goto(`${h.gateway.url}/dashboard/requests/${denied.id}`);
    expect(await value("denial_reason")).toBe("budget_exceeded");
    expect(await page.locator('tr[data-field="denial_reason"]').textContent()).toContain("budget");
    expect(await page.locator('tr[data-field="caller"] td').first().textContent()).toBe("Service account");
    expect(await page.locator('tr[data-field="upstream_error"]').count()).toBe(0);

    // An upstream failure: the upstream error code, not a denial.
    const failed = sqlite.prepare("select request_id id, error_code from ledger where outcome = 'upstream_failed' and request_id <> ? limit 1").get(HOSTILE_ID) as { id: string; error_code: string };
    await page.goto(`${h.gateway.url}/dashboard/requests/${failed.id}`);
    expect(await value("upstream_error")).toBe(failed.error_code);
    expect(await page.locator('tr[data-field="denial_reason"]').count()).toBe(0);

    await page.goto(`${h.gateway.url}/dashboard/requests/${UNPRICED_ID}`);
    expect(await value("cost_usd")).toBe("unpriced");
    expect(await page.locator('[data-test="unpriced"]').count()).toBe(1);

    const missing = await page.goto(`${h.gateway.url}/dashboard/requests/no-such-request`);
    expect(missing?.status()).toBe(404);
    await page.close();
  });

  it("hostile values stay text: model, error code, caller id, team, endpoint with markup and quotes", async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const dialogs: string[] = [];
    page.on("dialog", (d) => void (dialogs.push(d.message()), d.dismiss()));
    // Found by its own model name, through the form: the filter value goes back into the form escaped too.
    await page.goto(`${h.gateway.url}/dashboard/requests`);
    await page.fill('input[name="model"]', HOSTILE.model);
    await Promise.all([page.waitForURL(/model=/), page.click('[data-test="request-filters"] button[type="submit"]')]);
    expect(await idsOnPage(page)).toEqual([HOSTILE_ID]);
    expect(await page.inputValue('input[name="model"]')).toBe(HOSTILE.model);
    const rowText = (await page.locator('tr[data-test="request-row"]').textContent()) ?? "";
    expect(rowText).toContain(HOSTILE.model);
    expect(rowText).toContain(HOSTILE.errorCode);
    expect(rowText).toContain(HOSTILE.callerId);
    const injected = () => page.evaluate(() => ({ scripts: document.scripts.length, img: document.querySelectorAll("img").length, svg: document.querySelectorAll("svg").length, b: document.querySelectorAll("main b").length }));
    expect(await injected()).toEqual({ scripts: 0, img: 0, svg: 0, b: 0 });

    await Promise.all([page.waitForURL(/\/dashboard\/requests\/ffffffff/), page.click('a[data-test="request-link"]')]);
    expect(await page.locator('tr[data-field="model"]').getAttribute("data-value")).toBe(HOSTILE.model);
    expect(await page.locator('tr[data-field="upstream_error"]').getAttribute("data-value")).toBe(HOSTILE.errorCode);
    expect(await page.locator('tr[data-field="team"] td').nth(1).textContent()).toBe(HOSTILE.team);
    expect(await page.locator('tr[data-field="endpoint"] td').nth(1).textContent()).toBe(HOSTILE.endpoint);
    expect(await page.locator('tr[data-field="caller"]').getAttribute("data-value")).toBe(HOSTILE.callerId);
    expect(await page.locator('tr[data-field="client_version"]').getAttribute("data-value")).toBe(HOSTILE.clientVersion);
    expect(await page.locator('tr[data-field="client"] td').nth(1).textContent()).toBe(`other ${HOSTILE.clientVersion}`);
    expect(await page.locator('tr[data-field="session_id"] td').nth(1).textContent()).toBe(HOSTILE.sessionId);
    expect(await page.locator("iframe").count()).toBe(0);
    expect(await injected()).toEqual({ scripts: 0, img: 0, svg: 0, b: 0 });
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it("the usage page shows service accounts apart from people, named, with the ledger's spend", async () => {
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const from = daysAgo(13);
    await page.goto(`${h.gateway.url}/dashboard?from=${from}&to=${today}`);
    const saSpend = sqlite.prepare("select sa.name name, count(*) n, sum(l.cost_usd) cost from ledger l join service_accounts sa on sa.id = l.caller_id where l.day >= ? and l.day <= ? group by sa.name order by cost desc").all(from, today) as Array<{
      name: string;
      n: number;
      cost: number;
    }>;
    const shown = await page.locator('[data-test="service-account-spenders"] tbody tr').evaluateAll((rows) => rows.map((r) => ({ name: r.getAttribute("data-name"), n: Number(r.getAttribute("data-requests")), cost: Number(r.getAttribute("data-cost")) })));
    expect(shown.map((s) => s.name)).toEqual(saSpend.map((s) => s.name));
    shown.forEach((s, i) => {
      expect(s.n).toBe(saSpend[i]?.n);
      expect(s.cost).toBeCloseTo(saSpend[i]?.cost ?? -1, 9);
    });
    const people = await page.locator('[data-test="spenders"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key")));
    const wantPeople = (
      sqlite
        .prepare("select l.caller_id id, sum(l.cost_usd) cost from ledger l left join service_accounts sa on sa.id = l.caller_id where sa.id is null and l.day >= ? and l.day <= ? group by l.caller_id order by cost desc limit 10")
        .all(from, today) as Array<{ id: string }>
    ).map((r) => r.id);
    expect(people).toEqual(wantPeople);
    for (const sa of SERVICE_ACCOUNTS) expect(people).not.toContain(sa.id);
    const layout = await checkLayout(page);
    expect(layout.problems).toEqual([]);
    // The usage page links to the log.
    await Promise.all([page.waitForURL(/\/dashboard\/requests$/), page.click('a[data-test="requests-link"]')]);
    await page.close();
  });

  it("is the dashboard's: an anonymous browser goes to sign-in, a non-admin is refused, a bad filter is a 400 naming it", async () => {
    const anonymous = await browser.newContext();
    const page = await anonymous.newPage();
    await page.goto(`${h.gateway.url}/dashboard/requests`);
    expect(new URL(page.url()).pathname).toBe("/dashboard/login");
    await anonymous.close();
    const user = await fetch(`${h.gateway.url}/dashboard/requests`, { headers: { authorization: `Bearer ${USER}` } });
    expect(user.status).toBe(403);
    expect(await user.text()).not.toContain("request-row");
    const detail = await fetch(`${h.gateway.url}/dashboard/requests/${FALLBACK_ID}`, { headers: { authorization: `Bearer ${USER}` } });
    expect(detail.status).toBe(403);
    for (const [query, field] of [
      ["status=abc", "status"],
      ["outcome=done", "outcome"],
      ["min_cost=-1", "min_cost"],
      ["from=2026-02-30", "from"],
      ["from=2026-03-02&to=2026-03-01", "from"],
      ["kind=robot", "kind"],
      ["after=garbage", "after"],
      ["limit=5000", "limit"],
    ] as const) {
      const res = await fetch(`${h.gateway.url}/dashboard/requests?${query}`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message, query).toContain(`"${field}"`);
    }
  });
});
