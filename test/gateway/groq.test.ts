import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, KEYS, devCallerId, readChunks, rowWhenWritten, snapshotCost, startHarness, type Harness } from "./harness.ts";

/**
 * Groq as a second OpenAI-compatible provider, added as one descriptor (src/providers/groq.ts):
 * routed, keyed, metered and priced like the others, against a fake that speaks Groq's wire
 * (usage with timings on the finishing chunk, x_groq) rather than OpenAI's.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const perM = (tokens: number, price: number) => (tokens * price) / 1_000_000;
const price = snapshotCost("groq", "llama-3.3-70b-versatile");

async function chat(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${h.gateway.url}/groq/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
    body: JSON.stringify({ model: "llama-3.3-70b-versatile", messages: [{ role: "user", content: "hi" }], ...body }),
  });
}

describe("groq route", () => {
  it("answers a chat, injects Groq's key in place of the client's token, names the caller in `user`, and prices the ledger row at models.dev's groq price", async () => {
    h.fake.enqueue({ usage: { input: 900, output: 120 } });
    const res = await chat({ user: "alice@example.com", max_completion_tokens: 50 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { x_groq?: { id: string }; usage: { prompt_tokens: number } };
    expect(body.x_groq?.id).toMatch(/^req_/);
    const seen = h.fake.requests[0];
    expect(seen?.path).toBe("/openai/v1/chat/completions");
    expect(seen?.headers["authorization"]).toBe(`Bearer ${KEYS.groq}`);
    expect(JSON.stringify(seen)).not.toContain(CLIENT_TOKEN);
    const sent = JSON.parse(seen?.bodyText ?? "{}") as Record<string, unknown>;
    expect(sent["user"]).toBe(await devCallerId(h));
    expect(sent["safety_identifier"]).toBeUndefined();

    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "groq", model: "llama-3.3-70b-versatile", endpoint: "chat", status: 200, outcome: "completed", input_tokens: 900, output_tokens: 120, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(900, price.input) + perM(120, price.output), 12);
  });

  it("meters a stream from the usage on Groq's finishing chunk, and the client that did not ask for usage still gets every content chunk", async () => {
    h.fake.enqueue({ usage: { input: 400, output: 77 }, chunks: 3 });
    const res = await chat({ stream: true });
    expect(res.status).toBe(200);
    const { text } = await readChunks(res);
    expect(text).toContain('"finish_reason":"stop"');
    expect(text).toContain("data: [DONE]");
    const sent = JSON.parse(h.fake.requests[0]?.bodyText ?? "{}") as { stream_options?: { include_usage?: boolean } };
    expect(sent.stream_options?.include_usage).toBe(true);
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect(row).toMatchObject({ provider: "groq", streamed: 1, input_tokens: 400, output_tokens: 77, estimated: 0 });
    expect(row.cost_usd).toBeCloseTo(perM(400, price.input) + perM(77, price.output), 12);
  });

  it("refuses what Groq does not serve (embeddings) before anything is forwarded, in OpenAI's error shape", async () => {
    const res = await fetch(`${h.gateway.url}/groq/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
      body: JSON.stringify({ model: "llama-3.3-70b-versatile", input: "hi" }),
    });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(h.fake.requests).toHaveLength(0);
  });

  it("is served to OpenCode at <gateway>/groq/v1 under OpenCode's own groq id, with the catalog's groq models and no key", async () => {
    const res = await fetch(`${h.gateway.url}/.well-known/opencode`);
    const served = (await res.json()) as { config: { provider: Record<string, { options: { baseURL: string; apiKey: string }; models?: Record<string, unknown>; npm?: string }> } };
    const groq = served.config.provider["groq"];
    expect(groq?.options.baseURL).toBe(`${h.gateway.url}/groq/v1`);
    expect(groq?.options.apiKey).toBe("");
    expect(groq?.npm).toBeUndefined();
    expect(Object.keys(groq?.models ?? {})).toContain("llama-3.3-70b-versatile");
    expect(JSON.stringify(served)).not.toContain(KEYS.groq);
  });
});
