import { describe, expect, it } from "vitest";
import { catalogQueries, catalogStore } from "../../src/knowledge/index.ts";
import { startFakeGitHub } from "../fake-github/index.ts";
import { startHarness } from "../gateway/harness.ts";
import { paymentsRepo } from "./fixtures.ts";

const TOKEN = "ghp_serveTokenThatMustNeverLeak01234567";

describe("gatehouse serve keeps the catalog fresh from the configured sources", { timeout: 120_000 }, () => {
  it("refreshes a configured GitHub source at start, with its token from the secrets, and stops with the gateway", async () => {
    const github = await startFakeGitHub({ org: "acme", token: TOKEN });
    github.addRepo("payments", { "catalog-info.yaml": paymentsRepo });
    const harness = await startHarness({}, { CATALOG_GITHUB_TOKEN: TOKEN }, ["knowledge:", "  sources:", `    - { type: github, name: acme, org: acme, apiUrl: "${github.url}", tokenSecret: CATALOG_GITHUB_TOKEN }`]);
    try {
      const db = harness.gateway.deps.db;
      // The first round runs at start; wait on the stored status, with a deadline that ends early.
      const deadline = Date.now() + 60_000;
      let status = (await catalogStore(db).sources())[0];
      while (status?.status !== "ok" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await catalogStore(db).sources())[0];
      }
      expect(status).toMatchObject({ id: "acme", status: "ok", entity_count: 3 });
      expect("found" in (await catalogQueries(db).resolve("component:default/payments"))).toBe(true);
      const lease = await db.selectFrom("cluster_leases").select("expires_at").where("name", "=", "knowledge-refresh:acme").executeTakeFirst();
      // Next due in an hour ±10 %.
      expect(Number(lease?.expires_at) - Date.now()).toBeGreaterThan(50 * 60_000);
    } finally {
      await harness.close();
      await github.close();
    }
    const listings = github.requests.filter((r) => r.path === "/orgs/acme/repos").length;
    expect(listings).toBe(1);
  });
});
