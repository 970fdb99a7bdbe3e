import { join } from "node:path";
import Sqlite from "better-sqlite3";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator, HeaderReader } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import type { LedgerRow } from "../../src/ledger/index.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";
import { ledgerRow } from "../support/policy.ts";
import { checkLayout } from "./layout.ts";

/**
 * The dashboard's per-client, per-session and prompt-cache sections and its unpriced totals,
 * in headless Chromium, against the ledger's own figures computed here with plain SQL. Rows
 * are written straight to the store (as an older writer or another instance could have), so
 * a client name, session id or model carrying markup shows that the page escapes what it reads.
 */

const ADMIN = "tok-dashboard-clients-admin";
const admin: Caller = { id: "ad000000-0000-4000-8000-0000000000ad", email: undefined, groups: ["platform-admins"], team: "platform", tokenId: undefined };
const authenticator: Authenticator = {
  async authenticate(headers: HeaderReader) {
    if (extractClientToken(headers) !== ADMIN) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    return admin;
  },
};

const today = new Date().toISOString().slice(0, 10);
const ts = Date.parse(`${today}T08:00:00Z`);
const XSS = `"><img src=x onerror="window.__xss=1">`;
const CALLERS = ["c1000000-0000-4000-8000-000000000001", "c2000000-0000-4000-8000-000000000002"];

let h: Harness;
let browser: Browser;
let sqlite: Sqlite.Database;

function row(over: Partial<LedgerRow>): LedgerRow {
  return ledgerRow({ ts, day: today, caller_id: CALLERS[0], provider: "anthropic", model: "claude-sonnet-4-5", endpoint: "messages", ...over });
}

beforeAll(async () => {
  h = await startHarness({ authenticator });
  const current = h.gateway.deps.config.current();
  h.gateway.deps.config.replace(orgConfigSchema.parse({ providers: current.providers, pricing: current.pricing, policy: { groups: {}, dashboard: { adminGroups: ["platform-admins"] } } }));
  const rows: LedgerRow[] = [
    // Claude Code, one session over two models: well cached.
    ...Array.from({ length: 4 }, (_, i) => row({ client: "claude-code", client_version: "2.1.332", session_id: "cc-session-1", input_tokens: 100, cache_read_tokens: 8000, cache_write_5m_tokens: 400, output_tokens: 300, cost_usd: 0.0062 + i * 0.001 })),
    row({ client: "claude-code", client_version: "2.1.332", session_id: "cc-session-1", model: "claude-haiku-4-5", input_tokens: 50, output_tokens: 10, cost_usd: 0.0001 }),
    // The same session id from another caller is another session.
    row({ client: "claude-code", session_id: "cc-session-1", caller_id: CALLERS[1], input_tokens: 10, output_tokens: 1, cost_usd: 0.00005 }),
    // Codex on a model without a price, and priced.
    row({ client: "codex", client_version: "0.171.0", session_id: "codex-s", provider: "openai", model: "gpt-6.2-sol", input_tokens: 5000, cache_read_tokens: 5000, output_tokens: 800, unpriced: 1 }),
    row({ client: "codex", client_version: "0.171.0", session_id: "codex-s", provider: "openai", model: "gpt-5", input_tokens: 1000, output_tokens: 100, cost_usd: 0.00225 }),
    // An SDK without a session; a row from before the client was recorded; a hostile stored session id and model.
    row({ client: "sdk", client_version: "openai-js/6.49.0", provider: "openai", model: "gpt-5", input_tokens: 2000, output_tokens: 100, cost_usd: 0.0035 }),
    row({ client: null, input_tokens: 10, output_tokens: 1, cost_usd: 0.00005 }),
    row({ client: XSS, session_id: XSS, model: XSS, provider: "openai", input_tokens: 10, output_tokens: 1, cost_usd: 0.5 }),
  ];
  await h.gateway.deps.db.insertInto("ledger").values(rows).execute();
  sqlite = new Sqlite(join(h.dir, "data", "gatehouse.db"), { readonly: true });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  sqlite?.close();
  await h?.close();
});

interface Sums {
  key: string | null;
  n: number;
  cost: number;
  unpriced: number;
  read: number;
  all: number;
}
function ledger(group: "client" | "model" | "caller_id"): Sums[] {
  return sqlite
    .prepare(`select ${group} key, count(*) n, sum(cost_usd) cost, sum(unpriced) unpriced, sum(cache_read_tokens) read, sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens) "all" from ledger where day = ? group by ${group}`)
    .all(today) as Sums[];
}

async function open(width: number) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  await context.addCookies([{ name: "gatehouse_token", value: ADMIN, url: h.gateway.url }]);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${h.gateway.url}/dashboard?from=${today}&to=${today}`);
  return { page, errors, close: () => context.close() };
}

describe("per-client, per-session and cache sections in headless Chromium", { timeout: 120_000 }, () => {
  it("show the ledger's requests, cost, unpriced requests and cache hit rate per client, model and user", async () => {
    const { page, errors, close } = await open(1400);
    const clients = ledger("client");
    expect(clients).toHaveLength(5);
    for (const c of clients) {
      const key = c.key ?? "(not recorded)";
      const tr = page.locator(`[data-test="clients"] tr[data-test="client"]`).filter({ has: page.locator(`td[title="${key.replace(/"/g, '\\"')}"]`) });
      expect(await tr.getAttribute("data-requests"), key).toBe(String(c.n));
      expect(Number(await tr.getAttribute("data-cost"))).toBeCloseTo(c.cost, 9);
      expect(Number(await tr.getAttribute("data-unpriced"))).toBe(c.unpriced);
      expect(Number(await tr.getAttribute("data-cache-hit"))).toBeCloseTo(c.read / c.all, 9);
    }
    // Codex used a priced and an unpriced model: the cost says so instead of a bare amount.
    const codex = page.locator(`[data-test="client"][data-key="codex"] td[data-col="cost"]`);
    expect(await codex.textContent()).toBe("$0.00225 + 1 unpriced");
    expect(await page.locator(`[data-test="client"][data-key="claude-code"] td[data-col="cache-hit"]`).textContent()).toBe(`${((100 * (4 * 8000)) / (4 * 8500 + 50 + 10)).toFixed(1)}%`);

    for (const [test, group] of [
      ["cache-models", "model"],
      ["cache-clients", "client"],
      ["cache-users", "caller_id"],
    ] as const) {
      const want = ledger(group).filter((s) => s.all > 0);
      const got = await page.locator(`[data-test="${test}"] tr[data-test="${test}-row"]`).evaluateAll((trs) => trs.map((t) => ({ key: t.getAttribute("data-key"), hit: Number(t.getAttribute("data-cache-hit")) })));
      expect(got.map((g) => g.key).sort()).toEqual(want.map((w) => w.key ?? "(not recorded)").sort());
      for (const w of want) expect(got.find((g) => g.key === (w.key ?? "(not recorded)"))?.hit).toBeCloseTo(w.read / w.all, 9);
    }
    const unpricedModel = page.locator(`[data-test="cache-models-row"][data-key="gpt-6.2-sol"] td[data-col="cache-hit"]`);
    expect(await unpricedModel.textContent()).toBe("50.0%");

    // The overall card: all cache reads over all input of the range.
    const total = sqlite.prepare(`select sum(cache_read_tokens) read, sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens) "all" from ledger where day = ?`).get(today) as { read: number; all: number };
    expect(Number(await page.locator('[data-test="cache-hit-rate"]').getAttribute("data-value"))).toBeCloseTo(total.read / total.all, 9);

    // The total cost says that some requests have no price: never as if they cost $0.
    const cost = await page.locator('[data-test="total-cost"]').textContent();
    expect(cost).toMatch(/\$0\.5\d+ \+ 1 unpriced/);
    expect(cost).toContain("+ 1 unpriced requests: their cost is unknown and not in the total");
    const modelCost = await page.locator(`[data-test="models"] tr[data-key="gpt-6.2-sol"] td[data-col="cost"]`).textContent();
    expect(modelCost).toBe("unpriced");
    expect(await page.locator(`[data-test="models"] tr[data-key="gpt-6.2-sol"] td[data-col="share"]`).textContent()).toBe("–");
    expect(errors).toEqual([]);
    await close();
  });

  it("lists the most expensive sessions with user, client and top model; one session id of two callers is two sessions", async () => {
    const { page, close } = await open(1400);
    const want = sqlite.prepare(`select session_id, caller_id, client, sum(cost_usd) cost, count(*) n from ledger where day = ? and session_id is not null group by caller_id, session_id, client order by cost desc`).all(today) as Array<{
      session_id: string;
      caller_id: string;
      client: string;
      cost: number;
      n: number;
    }>;
    const got = await page.locator('[data-test="sessions"] tr[data-test="session"]').evaluateAll((trs) =>
      trs.map((t) => ({
        session: t.getAttribute("data-key"),
        caller: t.getAttribute("data-caller"),
        client: t.getAttribute("data-client"),
        model: t.getAttribute("data-model"),
        n: Number(t.getAttribute("data-requests")),
        cost: Number(t.getAttribute("data-cost")),
      })),
    );
    expect(got.map((g) => [g.session, g.caller, g.client, g.n])).toEqual(want.map((w) => [w.session_id, w.caller_id, w.client, w.n]));
    const cc = got.find((g) => g.session === "cc-session-1" && g.caller === CALLERS[0]);
    expect(cc?.model).toBe("claude-sonnet-4-5");
    expect(await page.locator(`[data-test="session"][data-key="cc-session-1"][data-caller="${CALLERS[0]}"]`).textContent()).toContain("+1");
    expect(got.filter((g) => g.session === "cc-session-1")).toHaveLength(2);
    // The session on an unpriced model and a priced one: its priced cost and "+ 1 unpriced".
    expect(await page.locator(`[data-test="session"][data-key="codex-s"] td[data-col="cost"]`).textContent()).toBe("$0.00225 + 1 unpriced");
    await close();
  });

  it("escapes client names, session ids and models from the ledger: markup stays text", async () => {
    const { page, errors, close } = await open(1400);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator("img[src=x]").count()).toBe(0);
    expect(await page.locator('[data-test="sessions"]').textContent()).toContain(XSS);
    expect(await page.locator('[data-test="clients"]').textContent()).toContain(XSS);
    expect(errors).toEqual([]);
    await close();
  });

  it("fits a 390 px phone: the new tables keep Cost in view and cut ids carry tooltips", async () => {
    const { page, close } = await open(390);
    const layout = await checkLayout(page);
    expect(layout.problems).toEqual([]);
    expect(layout.width).toBe(390);
    await close();
  });

  it("the CSV export groups by client and by session, and says unpriced instead of 0", async () => {
    const auth = { headers: { authorization: `Bearer ${ADMIN}` } };
    const byClient = await (await fetch(`${h.gateway.url}/dashboard/export.csv?from=${today}&to=${today}&by=client`, auth)).text();
    const lines = byClient.trim().split("\r\n");
    expect(lines[0]).toBe("client,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd,errors,cache_hit_rate,unpriced_requests");
    expect(lines.find((l) => l.startsWith("codex,"))).toMatch(/^codex,2,6000,900,5000,0,0,0\.002250,0,0\.4545,1$/);
    expect(lines.find((l) => l.startsWith("(not recorded),"))).toBeDefined();
    const bySession = await (await fetch(`${h.gateway.url}/dashboard/export.csv?from=${today}&to=${today}&by=session`, auth)).text();
    expect(bySession).toContain("\r\ncodex-s,2,");
    expect(bySession).toContain("\r\n(no session),");
  });
});
