import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import { startLocalWorker, type LocalWorker } from "../scale/workerd.ts";
import { connectResponsesSocket, responseCreate } from "../support/responses-socket-client.ts";

/**
 * Issue 12 item 3 on Workers: the Responses API's WebSocket mode through the worker in
 * workerd (Miniflare), against the fake Responses WebSocket upstream. The same relay as on
 * Node: authenticated on the handshake, the real key upstream, each response.create governed
 * and metered into its own D1 ledger row, a client that leaves mid-answer still recorded.
 */
const TOKEN = "gh_workerd_ws_token_0123456789abcdef";
const OPENAI_KEY = "sk-openai-workerd-ws-key-002";
const IDLE_MS = 1500;

let fake: FakeUpstream;
let worker: LocalWorker;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: { openai: OPENAI_KEY } });
  worker = await startLocalWorker({
    GATEHOUSE_AUTH_MODE: "dev",
    GATEHOUSE_ALLOW_DEV_AUTH: "true",
    GATEHOUSE_DEV_TOKEN: TOKEN,
    GATEHOUSE_LOG_LEVEL: "warn",
    GATEHOUSE_CATALOG_REFRESH_MS: "0",
    GATEHOUSE_UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS),
    OPENAI_API_KEY: OPENAI_KEY,
    GATEHOUSE_ORG_CONFIG: JSON.stringify({ providers: { openai: { upstream: `${fake.url}/v1` } } }),
  });
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await fake?.close();
});

async function rows(count: number): Promise<Array<Record<string, unknown>>> {
  const db = await worker.mf.getD1Database("DB");
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const found = (await db.prepare("select * from ledger where endpoint = 'responses' order by ts").all<Record<string, unknown>>()).results;
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${count} responses rows in D1`);
}

const url = () => `${worker.url.replace(/^http/, "ws")}/openai/v1/responses`;

describe("Responses over WebSocket on Workers (workerd)", { timeout: 120_000 }, () => {
  it("relays two responses on one connection with the real key upstream: one exact D1 row each", async () => {
    fake.reset();
    fake.enqueue({ usage: { input: 1500, output: 120, cacheRead: 1000, reasoning: 40 }, chunks: 3 });
    fake.enqueue({ usage: { input: 10, output: 5 }, chunks: 1 });
    const c = await connectResponsesSocket(url(), TOKEN);
    c.ws.send(responseCreate({ model: "gpt-5" }));
    const first = await c.next("response.completed");
    c.ws.send(responseCreate({ model: "gpt-5", previous_response_id: (first["response"] as { id: string }).id }));
    await c.next("response.completed");
    expect(c.events.filter((e) => e["type"] === "response.output_text.delta")).toHaveLength(4);
    c.ws.close();
    await c.closed;

    const handshake = fake.requests.find((r) => r.method === "GET" && r.path === "/v1/responses");
    expect(handshake?.headers["authorization"]).toBe(`Bearer ${OPENAI_KEY}`);
    expect(JSON.stringify(handshake?.headers)).not.toContain(TOKEN);
    const sent = fake.requests.filter((r) => r.method === "WS").map((r) => JSON.parse(r.bodyText) as Record<string, unknown>);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({ type: "response.create", store: false });

    const [one, two] = await rows(2);
    expect(one).toMatchObject({ provider: "openai", model: "gpt-5", streamed: 1, status: 200, outcome: "completed", input_tokens: 1500, cache_read_tokens: 1000, output_tokens: 120, reasoning_tokens: 40 });
    expect(two).toMatchObject({ input_tokens: 10, output_tokens: 5, outcome: "completed" });
  });

  it("refuses stored state per response.create with an error event and sends nothing upstream", async () => {
    fake.reset();
    const c = await connectResponsesSocket(url(), TOKEN);
    c.ws.send(responseCreate({ model: "gpt-5", store: true }));
    expect(((await c.next("error"))["error"] as { code: string }).code).toBe("forbidden");
    c.ws.send(JSON.stringify({ type: "session.update" }));
    await c.next("error");
    expect(fake.requests.filter((r) => r.method === "WS")).toHaveLength(0);
    c.ws.close();
    await c.closed;
  });

  it("refuses the handshake without a valid token, without opening the upstream", async () => {
    fake.reset();
    await expect(connectResponsesSocket(url(), "gh_wrong_token_0000000000000000")).rejects.toThrow(/handshake refused: 401/);
    expect(fake.requests).toHaveLength(0);
  });

  it("a client that leaves mid-answer: both sides end and the response is recorded client_aborted", async () => {
    fake.reset();
    const before = (await rows(0)).length;
    fake.enqueue({ usage: { input: 50, output: 500 }, endless: true, chunkDelayMs: 20 });
    const c = await connectResponsesSocket(url(), TOKEN);
    c.ws.send(responseCreate({ model: "gpt-5" }));
    await c.next("response.output_text.delta");
    c.ws.close();
    const all = await rows(before + 1);
    expect(all.at(-1)).toMatchObject({ outcome: "client_aborted", estimated: 1 });
    expect(all.at(-1)?.["input_tokens"]).toBeGreaterThan(0);
  });

  it("a silent upstream mid-response is closed after the idle timeout: error event, close, an estimated row", async () => {
    fake.reset();
    const before = (await rows(0)).length;
    fake.enqueue({ usage: { input: 80, output: 30 }, chunks: 3, chunkDelayMs: 120_000 });
    const c = await connectResponsesSocket(url(), TOKEN);
    c.ws.send(responseCreate({ model: "gpt-5" }));
    const error = await c.next("error");
    expect((error["error"] as { message: string }).message).toContain(`sent nothing for ${IDLE_MS} ms`);
    expect((await c.closed).code).toBe(1011);
    const all = await rows(before + 1);
    expect(all.at(-1)).toMatchObject({ outcome: "upstream_failed", error_code: "upstream_idle_timeout", estimated: 1 });
  });
});
