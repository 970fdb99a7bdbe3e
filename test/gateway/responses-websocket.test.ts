import WebSocket from "ws";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { orgConfigSchema } from "../../src/config/index.ts";
import type { RequestObserver } from "../../src/proxy/index.ts";
import { CLIENT_TOKEN, KEYS, devCallerId, ledgerRows, snapshotCost, startHarness, type Harness } from "./harness.ts";

/**
 * The Responses API's WebSocket mode (Codex's default transport) through the gateway:
 * the caller authenticates on the handshake, the upstream socket gets the real key, each
 * response.create is governed like POST /v1/responses and metered into its own ledger row.
 */

/** What the gateway's observer heard, per request: its method and events in order. */
const heard = new Map<string, { method: string; events: string[] }>();
const recorder: RequestObserver = {
  begin(start) {
    const r = { method: start.method, events: [] as string[] };
    heard.set(start.requestId, r);
    return {
      identified: () => void r.events.push("identified"),
      classified: () => void r.events.push("classified"),
      admitted: () => void r.events.push("admitted"),
      attempted: (a) => void r.events.push(`attempted ${a.status}`),
      firstByte: () => void r.events.push("firstByte"),
      ended: (end) => void r.events.push(`ended ${end.outcome}${end.row ? " row" : ""}`),
    };
  },
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ observers: [recorder] });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

interface Connection {
  ws: WebSocket;
  events: Array<Record<string, unknown>>;
  next(type: string): Promise<Record<string, unknown>>;
}

async function connect(token = CLIENT_TOKEN, path = "/openai/v1/responses"): Promise<Connection> {
  const ws = new WebSocket(`${h.gateway.url.replace("http", "ws")}${path}`, { headers: { authorization: `Bearer ${token}`, "openai-beta": "responses_websockets=2026-02-06" } });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ type: string; resolve(e: Record<string, unknown>): void }> = [];
  ws.on("message", (data) => {
    const event = JSON.parse(data.toString()) as Record<string, unknown>;
    events.push(event);
    for (const w of waiters.splice(0)) {
      if (event["type"] === w.type) w.resolve(event);
      else waiters.push(w);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake refused: ${res.statusCode ?? 0}`)));
    ws.once("error", reject);
  });
  return {
    ws,
    events,
    next: (type) => {
      const seen = events.find((e) => e["type"] === type && !(e as { consumed?: boolean }).consumed);
      if (seen) {
        (seen as { consumed?: boolean }).consumed = true;
        return Promise.resolve(seen);
      }
      return new Promise((resolve) => waiters.push({ type, resolve: (e) => (((e as { consumed?: boolean }).consumed = true), resolve(e)) }));
    },
  };
}

const create = (fields: Record<string, unknown>) => JSON.stringify({ type: "response.create", input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }], ...fields });

describe("Responses over WebSocket", () => {
  it("relays two responses on one connection, the real key upstream, one exact ledger row each", async () => {
    const usage = { input: 1500, output: 120, cacheRead: 1000, reasoning: 40 };
    h.fake.enqueue({ usage, chunks: 3 });
    h.fake.enqueue({ usage: { input: 10, output: 5 }, chunks: 1 });
    const c = await connect();
    c.ws.send(create({ model: "gpt-5", user: "alice@example.com" }));
    const first = await c.next("response.completed");
    const firstId = (first["response"] as { id: string }).id;
    // A follow-up may name a response of this connection (the provider keeps it in the socket's memory).
    c.ws.send(create({ model: "gpt-5", previous_response_id: firstId }));
    await c.next("response.completed");
    c.ws.close();

    const handshake = h.fake.requests.find((r) => r.method === "GET" && r.path === "/v1/responses");
    expect(handshake?.headers["authorization"]).toBe(`Bearer ${KEYS.openai}`);
    expect(handshake?.headers["openai-beta"]).toBe("responses_websockets=2026-02-06");
    expect(JSON.stringify(handshake?.headers)).not.toContain(CLIENT_TOKEN);
    expect(c.events.filter((e) => e["type"] === "response.output_text.delta")).toHaveLength(3 + 1);

    const rows = (await ledgerRows(h)).filter((r) => r.endpoint === "responses");
    expect(rows).toHaveLength(2);
    const price = snapshotCost("openai", "gpt-5");
    const [one] = rows;
    expect(one).toMatchObject({ provider: "openai", model: "gpt-5", streamed: 1, status: 200, outcome: "completed", input_tokens: 1500, cache_read_tokens: 1000, output_tokens: 120, reasoning_tokens: 40, caller_id: await devCallerId(h) });
    expect(one?.cost_usd).toBeCloseTo((1500 * price.input + 1000 * (price.cache_read ?? 0) + 120 * price.output) / 1e6, 12);
    expect(rows[1]).toMatchObject({ input_tokens: 10, output_tokens: 5, outcome: "completed" });
  });

  it("governs each response.create: a denied model, stored state and another connection's response are refused and not sent", async () => {
    const current = h.gateway.deps.config.current();
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, policy: { groups: { dev: { models: ["openai/gpt-5"] } } } }));
    try {
      const c = await connect();
      for (const fields of [{ model: "gpt-4o" }, { model: "gpt-5", store: true }, { model: "gpt-5", previous_response_id: "resp_of_someone_else" }, { model: "gpt 5" }]) {
        c.ws.send(create(fields));
        const error = await c.next("error");
        expect(error["error"], JSON.stringify(fields)).toMatchObject({ code: expect.any(String) as unknown, message: expect.any(String) as unknown });
      }
      c.ws.send(JSON.stringify({ type: "session.update", session: {} }));
      expect(((await c.next("error"))["error"] as { message: string }).message).toContain("Only response.create");
      c.ws.send("not json");
      await c.next("error");
      // Nothing crossed: the upstream saw the handshake only.
      expect(h.fake.requests.filter((r) => r.method === "WS")).toHaveLength(0);
      c.ws.send(create({ model: "gpt-5" }));
      await c.next("response.completed");
      expect(h.fake.requests.filter((r) => r.method === "WS")).toHaveLength(1);
      c.ws.close();
    } finally {
      h.gateway.deps.config.replace(current);
    }
  });

  it("sends store:false and the caller's anonymous id upstream, never the client's", async () => {
    const c = await connect();
    c.ws.send(create({ model: "gpt-5", safety_identifier: "bob@example.com", user: "bob@example.com" }));
    await c.next("response.completed");
    c.ws.close();
    const sent = h.fake.requests.filter((r) => r.method === "WS").map((r) => JSON.parse(r.bodyText) as Record<string, unknown>);
    const id = await devCallerId(h);
    expect(sent).toEqual([expect.objectContaining({ type: "response.create", model: "gpt-5", store: false, safety_identifier: id, user: id })]);
    expect(JSON.stringify(sent)).not.toContain("bob@example.com");
  });

  it("records what a response used when the client goes away mid-answer", async () => {
    h.fake.enqueue({ usage: { input: 50, output: 500 }, endless: true, chunkDelayMs: 20 });
    const c = await connect();
    c.ws.send(create({ model: "gpt-5" }));
    await c.next("response.output_text.delta");
    c.ws.terminate();
    const deadline = Date.now() + 30_000;
    let row;
    while (Date.now() < deadline) {
      row = (await ledgerRows(h)).find((r) => r.endpoint === "responses" && r.outcome === "client_aborted");
      if (row) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(row).toMatchObject({ model: "gpt-5", outcome: "client_aborted" });
    // The response never completed: its usage is the gateway's estimate (prompt and relayed deltas), not $0.
    expect(row).toMatchObject({ estimated: 1 });
    expect(row?.input_tokens).toBeGreaterThan(0);
    expect(row?.output_tokens).toBeGreaterThan(0);
    expect(row?.cost_usd).toBeGreaterThan(0);
  });

  it("refuses the handshake without a valid token, and a plain GET, without opening the upstream", async () => {
    await expect(connect("wrong-token")).rejects.toThrow("handshake refused: 401");
    const plain = await fetch(`${h.gateway.url}/openai/v1/responses`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { message: string } }).error.message).toContain("WebSocket");
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe("Responses over WebSocket under the per-caller concurrency cap", () => {
  it("an open socket holds one slot: a second handshake past the cap is refused, and closing frees it", async () => {
    const capped = await startHarness({}, { GATEHOUSE_MAX_CONCURRENT_PER_CALLER: "1" });
    try {
      const url = `${capped.gateway.url.replace("http", "ws")}/openai/v1/responses`;
      const open = () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
          ws.once("open", () => resolve(ws));
          ws.once("unexpected-response", (_req, res) => reject(new Error(`refused ${res.statusCode ?? 0}`)));
          ws.once("error", reject);
        });
      const first = await open();
      await expect(open()).rejects.toThrow("refused 429");
      first.close();
      await new Promise((resolve) => first.once("close", resolve));
      const deadline = Date.now() + 30_000;
      let again: WebSocket | undefined;
      while (!again && Date.now() < deadline) {
        again = await open().catch(() => undefined);
        if (!again) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(again).toBeDefined();
      again?.close();
    } finally {
      await capped.close();
    }
  });
});

// Last: the other tests count every Responses row of the ledger.
describe("Responses over WebSocket, as the observer hears it", () => {
  it("reports each response.create to the observer as its own request, and the upgrade as one without a row", async () => {
    heard.clear();
    const c = await connect();
    c.ws.send(create({ model: "gpt-5" }));
    await c.next("response.completed");
    c.ws.send(create({ model: "gpt-5", store: true }));
    await c.next("error");
    c.ws.close();
    await expect.poll(() => [...heard.values()].filter((r) => r.method === "POST").length, { timeout: 20_000 }).toBe(2);
    expect([...heard.values()].map((r) => `${r.method}: ${r.events.join(", ")}`)).toEqual([
      // The upstream handshake is the upgrade's one attempt (a CLIENT span with telemetry on).
      "GET: identified, classified, attempted 101, ended completed",
      "POST: identified, classified, admitted, attempted 200, firstByte, ended completed row",
      "POST: identified, ended not_forwarded row",
    ]);
  });
});
