import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator, HeaderReader } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { orgConfigSchema } from "../../src/config/index.ts";
import { usageSummary } from "../../src/ledger/index.ts";
import { formatUsage } from "../../src/cli/commands/usage.ts";
import { ledgerRow } from "../support/policy.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";
import { checkLayout } from "./layout.ts";

// The first hour of a new gateway: it is the 1st of the month and a handful of requests went
// through today. The charts, the burn-down and the tables must still say something.
const ADMIN = "tok-day-one-admin-000000";
const admin: Caller = { id: "ad000000-0000-4000-8000-0000000000ad", email: undefined, groups: ["platform-admins"], team: "platform", tokenId: undefined };
const authenticator: Authenticator = {
  async authenticate(headers: HeaderReader) {
    if (extractClientToken(headers) !== ADMIN) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    return admin;
  },
};

const TODAY = "2026-03-01";
const NOW = Date.parse(`${TODAY}T15:00:00Z`);
const ENG = ["e1000000-0000-4000-8000-000000000001", "e1000000-0000-4000-8000-000000000002"] as const;
const LONE = "10e00000-0000-4000-8000-00000000000a"; // no team
const LONG_MODEL = "accounts/fireworks/models/llama-v3p1-405b-instruct-long-context";
const FORMULA_MODEL = "-1+cmd|' /C calc'!A0";

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness({ authenticator });
  h.gateway.deps.clock = { now: () => NOW, monotonic: () => performance.now() };
  const current = h.gateway.deps.config.current();
  h.gateway.deps.config.replace(
    orgConfigSchema.parse({
      providers: current.providers,
      pricing: current.pricing,
      policy: {
        groups: { eng: { models: ["*/*"], budget: { perUser: { monthlyUsd: 5 }, group: { monthlyUsd: 40 } } } },
        dashboard: { adminGroups: ["platform-admins"] },
      },
    }),
  );
  const at = (minute: number) => NOW - 3_600_000 + minute * 60_000;
  await h.gateway.deps.db
    .insertInto("ledger")
    .values([
      ledgerRow({ ts: at(1), day: TODAY, caller_id: ENG[0], team: "eng", provider: "anthropic", model: "claude-sonnet-4-5", input_tokens: 12_000, output_tokens: 800, cache_read_tokens: 30_000, cost_usd: 0.057, duration_ms: 900, ttfb_ms: 300 }),
      ledgerRow({ ts: at(2), day: TODAY, caller_id: ENG[1], team: "eng", provider: "openai", model: "gpt-5", input_tokens: 4_000, output_tokens: 500, cost_usd: 0.01, duration_ms: 700, ttfb_ms: 200 }),
      ledgerRow({ ts: at(3), day: TODAY, caller_id: ENG[0], team: "eng", provider: "compat", model: LONG_MODEL, input_tokens: 900, output_tokens: 90, cost_usd: 0.0004, duration_ms: 400, ttfb_ms: 100 }),
      ledgerRow({ ts: at(4), day: TODAY, caller_id: LONE, team: null, provider: "openai", model: FORMULA_MODEL, input_tokens: 50, output_tokens: 5, cost_usd: 0.000021, duration_ms: 300, ttfb_ms: 90 }),
    ])
    .execute();
  await h.gateway.deps.db
    .insertInto("caller_groups")
    .values(ENG.map((caller_id) => ({ caller_id, group_name: "eng", updated_at: NOW })))
    .execute();
  await h.gateway.deps.db
    .insertInto("mcp_audit")
    .values({
      id: "audit-day-one",
      ts: at(5),
      caller_id: ENG[0],
      team: "eng",
      session_id: null,
      server_id: "github-enterprise-internal",
      tool: "create_pull_request_review_comment",
      via: "direct",
      outcome: "ok",
      duration_ms: 120,
      error: null,
      arguments_json: null,
      result_json: null,
    })
    .execute();
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

interface ChartView {
  type: string;
  labels: string[];
  datasets: Array<{ label: string; points: number; barHeights: number[] }>;
}

/** What Chart.js drew on a canvas: its type, x labels, and per dataset the non-empty points and the bars' pixel heights. */
async function chartView(page: Page, id: string): Promise<ChartView> {
  return page.evaluate((canvasId) => {
    interface Drawn {
      height?: number;
    }
    interface ChartLike {
      config: { type: string };
      data: { labels: string[]; datasets: Array<{ label: string; data: Array<number | null> }> };
      getDatasetMeta(i: number): { data: Drawn[] };
    }
    const lib = (window as unknown as { Chart: { getChart(el: Element): ChartLike | undefined } }).Chart;
    const chart = lib.getChart(document.getElementById(canvasId) as Element);
    if (!chart) throw new Error(`no chart on #${canvasId}`);
    return {
      type: chart.config.type,
      labels: chart.data.labels,
      datasets: chart.data.datasets.map((d, i) => ({
        label: d.label,
        points: d.data.filter((v) => v !== null).length,
        barHeights: chart.getDatasetMeta(i).data.map((e) => Math.abs(e.height ?? 0)),
      })),
    };
  }, id);
}

async function open(viewport: { width: number; height: number }, mobile: boolean): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: mobile ? 2 : 1, isMobile: mobile, hasTouch: mobile });
  await context.addCookies([{ name: "gatehouse_token", value: ADMIN, url: `${h.gateway.url}/dashboard` }]);
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(`${h.gateway.url}/dashboard`);
  await page.waitForFunction(() => (window as unknown as { __gatehouseChartsReady?: boolean }).__gatehouseChartsReady === true);
  return { page, errors, close: () => context.close() };
}

describe("dashboard on day one, in headless Chromium", { timeout: 120_000 }, () => {
  it("draws today's traffic as bars with a 'not enough data yet' hint; tokens and requests apart; a burn-down line from one point", async () => {
    const { page, errors, close } = await open({ width: 1400, height: 1000 }, false);
    expect(await page.locator('[data-test="total-requests"]').getAttribute("data-value")).toBe("4");
    expect(await page.locator('[data-test="chart-hint"]').count()).toBe(1);
    expect(await page.locator('[data-test="chart-hint"]').textContent()).toContain("Not enough data yet");

    // Default range: the 30 days up to today; only today has traffic, and it is a visible bar.
    for (const id of ["chart-cost", "chart-requests", "chart-tokens"]) {
      const chart = await chartView(page, id);
      expect(chart.type).toBe("bar");
      expect(chart.labels.at(-1)).toBe(TODAY);
      const tallest = Math.max(...chart.datasets.map((d) => d.barHeights.at(-1) ?? 0));
      expect(tallest, `${id}: today's bar`).toBeGreaterThan(20);
    }
    // Requests and tokens on charts of their own, so one can not hide the other.
    expect((await chartView(page, "chart-requests")).datasets.map((d) => d.label)).toEqual(["Requests"]);
    expect((await chartView(page, "chart-tokens")).datasets.map((d) => d.label)).toEqual(["Input", "Output", "Cache"]);

    // Burn-down: one day of actuals, and the month-to-date pace drawn to the month's end.
    const burn = await chartView(page, "chart-burn");
    expect(burn.type).toBe("line");
    expect(burn.labels).toHaveLength(31);
    const actual = burn.datasets.find((d) => d.label.startsWith("eng left"));
    const pace = burn.datasets.find((d) => d.label === "eng at this pace");
    expect(actual?.points).toBe(1);
    expect(pace?.points).toBe(31);
    const engSpent = 0.057 + 0.01 + 0.0004;
    const row = page.locator('[data-test="burn-eng"]');
    expect(Number(await row.getAttribute("data-spent"))).toBeCloseTo(engSpent, 9);
    expect(Number(await row.getAttribute("data-projected-left"))).toBeCloseTo(40 - engSpent * 31, 9);
    expect(await row.locator('td[data-col="pace"]').textContent()).toBe(`$${(40 - engSpent * 31).toFixed(2)} left`);

    // Amounts: cents above a dollar, enough digits below.
    expect(await row.locator("td").nth(1).textContent()).toBe("$40.00");
    expect(await page.locator('[data-test="models"] tr[data-key="gpt-5"] td[data-col="cost"]').textContent()).toBe("$0.01");
    expect(await page.locator(`[data-test="models"] tr[data-key="${LONG_MODEL}"] td[data-col="cost"]`).textContent()).toBe("$0.0004");
    expect(await page.locator('[data-test="total-cost"] .value').textContent()).toBe("$0.0674");

    const desktop = await checkLayout(page);
    expect(desktop.problems).toEqual([]);
    expect(desktop.width).toBe(1400);
    expect(errors).toEqual([]);
    await close();
  });

  it("fits a 390 px phone with long model names, caller ids and MCP tools: cut cells carry the full text", async () => {
    const { page, errors, close } = await open({ width: 390, height: 844 }, true);
    const phone = await checkLayout(page);
    expect(phone.problems).toEqual([]);
    expect(phone.width).toBe(390);
    expect(phone.costColumns).toBe(12);
    expect(phone.cutCells).toBeGreaterThanOrEqual(2);
    const long = page.locator(`[data-test="models"] tr[data-key="${LONG_MODEL}"] td.key`);
    expect(await long.evaluate((td) => td.scrollWidth > td.clientWidth)).toBe(true);
    expect(await long.getAttribute("title")).toBe(LONG_MODEL);
    // A phone has no hover: a tap on the cut cell wraps it to show the whole name, in its column.
    const cutHeight = await long.evaluate((td) => td.clientHeight);
    await long.tap();
    expect(await long.evaluate((td) => td.scrollWidth <= td.clientWidth)).toBe(true);
    expect(await long.evaluate((td) => td.clientHeight)).toBeGreaterThan(cutHeight);
    expect((await checkLayout(page)).problems).toEqual([]);
    expect(errors).toEqual([]);
    await close();
  });

  it("shows a user without a team as (no team) on the page, in the CSV and in the CLI, and guards the CSV", async () => {
    const { page, close } = await open({ width: 1400, height: 1000 }, false);
    expect(await page.locator('[data-test="teams"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key")))).toContain("(no team)");
    await close();

    const auth = { headers: { authorization: `Bearer ${ADMIN}` } };
    const byTeam = await (await fetch(`${h.gateway.url}/dashboard/export.csv?from=${TODAY}&to=${TODAY}&by=team`, auth)).text();
    expect(byTeam.split("\r\n")[0]).toBe("team,requests,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,reasoning_tokens,cost_usd,errors,cache_hit_rate,unpriced_requests");
    expect(byTeam).toContain("\r\n(no team),1,50,5,");

    const cli = formatUsage(await usageSummary(h.gateway.deps.db, { groupBy: ["team"], since: TODAY, until: TODAY }), ["team"], "csv");
    expect(cli).toBe(byTeam);
    const table = formatUsage(await usageSummary(h.gateway.deps.db, { groupBy: ["team"], since: TODAY, until: TODAY }), ["team"], "table");
    expect(table).toMatch(/^\(no team\)\s+1\s+50\s+5\s/m);

    // A model name that is a formula (`-1+…` slipped past the old guard) is text in the export.
    const byModel = await (await fetch(`${h.gateway.url}/dashboard/export.csv?from=${TODAY}&to=${TODAY}&by=model`, auth)).text();
    expect(byModel).toContain(`\r\n"'${FORMULA_MODEL}",1,50,5,`);
    expect(byModel.split("\r\n").some((line) => line.startsWith("-"))).toBe(false);
  });
});
