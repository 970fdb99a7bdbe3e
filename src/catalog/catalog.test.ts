import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Catalog, bundledSnapshot, createBundledCatalog } from "./index.ts";

type Handler = (path: string) => { status: number; body: string } | "hang";
let server: Server;
let base = "";
let handler: Handler = () => ({ status: 404, body: "" });

beforeAll(async () => {
  server = createServer((req, res) => {
    const answer = handler(req.url ?? "/");
    if (answer === "hang") return; // never answers: the client's timeout must fire
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const snapshotText = JSON.stringify(bundledSnapshot);

describe("Catalog over the bundled models.dev snapshot", () => {
  const catalog = createBundledCatalog();

  it("parses every provider and model of the real snapshot", () => {
    expect(catalog.providerIds()).toEqual(expect.arrayContaining(["anthropic", "openai", "google", "groq", "cloudflare-workers-ai"]));
    expect(catalog.modelCount).toBe(1169);
  });

  it("matches exact ids first, then dated and prefixed ids", () => {
    expect(catalog.findModel("openai", "gpt-4o-2024-05-13")?.cost?.input).toBe(5); // its own (older) price
    expect(catalog.findModel("openai", "gpt-4o")?.cost?.input).toBe(2.5);
    expect(catalog.findModel("openai", "gpt-4o-2099-12-31")?.id).toBe("gpt-4o");
    expect(catalog.findModel("anthropic", "claude-sonnet-4-5-20250929")?.id).toBe("claude-sonnet-4-5-20250929");
    expect(catalog.findModel("anthropic", "claude-sonnet-4-5-20991231")?.id).toBe("claude-sonnet-4-5");
    expect(catalog.findModel("anthropic", "claude-sonnet-4")?.id).toBe("claude-sonnet-4-20250514");
    expect(catalog.findModel("google", "models/gemini-2.5-pro")?.id).toBe("gemini-2.5-pro");
    expect(catalog.findModel("google", "gemini-2.5-flash-preview-05-20")).toBeUndefined(); // MM-DD is not a release date suffix
    expect(catalog.findModel("anthropic", "gpt-4o")).toBeUndefined();
    expect(catalog.findModel("nope", "gpt-4o")).toBeUndefined();
  });

  it("lists a provider's models with limits and costs for discovery", () => {
    const models = catalog.listModels("anthropic");
    expect(models).toHaveLength(27);
    const sonnet = models.find((m) => m.id === "claude-sonnet-4-5");
    expect(sonnet).toMatchObject({ name: "Claude Sonnet 4.5 (latest)", reasoning: true, limit: { context: 1000000, output: 64000 }, cost: { input: 3, output: 15 } });
    expect(catalog.listModels("missing")).toEqual([]);
  });

  it("skips a malformed model and keeps the rest", () => {
    const lenient = new Catalog({
      acme: {
        id: "acme",
        name: "Acme",
        env: [],
        npm: "x",
        doc: "d",
        models: {
          good: { id: "good", name: "Good", limit: { context: 1000, output: 100 }, cost: { input: 1, output: 2 } },
          bad: { id: "bad", name: "Bad", limit: { context: "lots" } },
          worse: "not an object",
        },
      },
      broken: { id: 7 },
    });
    expect(lenient.modelCount).toBe(1);
    expect(lenient.findModel("acme", "good")?.cost?.output).toBe(2);
    expect(lenient.providerIds()).toEqual(["acme"]);
  });
});

describe("Catalog.refresh", () => {
  const small = { acme: { id: "acme", name: "Acme", models: { m1: { id: "m1", name: "M1", limit: { context: 1, output: 1 } } } } };

  it("swaps in a good catalog and bumps the version", async () => {
    const catalog = new Catalog(small);
    handler = () => ({ status: 200, body: snapshotText });
    const events: number[] = [];
    catalog.onChange(() => events.push(catalog.version));
    const result = await catalog.refresh(fetch, `${base}/api.json`, 5000);
    expect(result).toEqual({ ok: true, providers: 18, models: 1169 });
    expect(catalog.version).toBe(1);
    expect(events).toEqual([1]);
    expect(catalog.findModel("openai", "gpt-5")).toBeDefined();
  });

  it("keeps the previous data when offline", async () => {
    const catalog = createBundledCatalog();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await catalog.refresh(fetch, `http://127.0.0.1:${port}/api.json`, 2000);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/catalog fetch failed/);
    expect(catalog.version).toBe(0);
    expect(catalog.modelCount).toBe(1169);
  });

  it("keeps the previous data on non-2xx, garbage, empty and shrunken catalogs, and on timeout", async () => {
    const catalog = createBundledCatalog();
    const cases: Array<[Handler, RegExp]> = [
      [() => ({ status: 503, body: "{}" }), /HTTP 503/],
      [() => ({ status: 200, body: "<html>oops</html>" }), /not valid JSON/],
      [() => ({ status: 200, body: "{}" }), /0 models/],
      [() => ({ status: 200, body: "[1,2,3]" }), /0 models/],
      [() => ({ status: 200, body: JSON.stringify(small) }), /1 models, fewer than the 584 required/],
      [() => "hang", /timed out after 400 ms/],
    ];
    for (const [serve, reason] of cases) {
      handler = serve;
      const result = await catalog.refresh(fetch, `${base}/api.json`, serve("/") === "hang" ? 400 : 5000);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(reason);
      expect(catalog.modelCount).toBe(1169);
      expect(catalog.version).toBe(0);
    }
  });
});
