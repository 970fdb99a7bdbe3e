// Tracing on Cloudflare Workers: the worker in workerd (Miniflare) exports over the exporter's
// fetch path to the local OTLP/HTTP receiver, each request's spans flushed from ctx.waitUntil.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import { startLocalWorker, type LocalWorker } from "../scale/workerd.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.ts";

const TOKEN = "gh_workerd_otel_token_0123456789";
const OPENAI_KEY = "sk-openai-workerd-otel-key";
const CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN = "b7ad6b7169203331";

let fake: FakeUpstream;
let receiver: OtlpReceiver;
let worker: LocalWorker;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: { openai: OPENAI_KEY } });
  receiver = await startOtlpReceiver();
  worker = await startLocalWorker({
    GATEHOUSE_AUTH_MODE: "dev",
    GATEHOUSE_ALLOW_DEV_AUTH: "true",
    GATEHOUSE_DEV_TOKEN: TOKEN,
    GATEHOUSE_LOG_LEVEL: "warn",
    OPENAI_API_KEY: OPENAI_KEY,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=workerd-collector-key",
    // Far past the test: the spans arrive only because each request's are flushed from ctx.waitUntil.
    OTEL_BSP_SCHEDULE_DELAY: "600000",
    GATEHOUSE_ORG_CONFIG: JSON.stringify({ providers: { openai: { upstream: `${fake.url}/v1` } } }),
  });
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await receiver?.close();
  await fake?.close();
});

async function ledgerRow(requestId: string): Promise<Record<string, unknown>> {
  const db = await worker.mf.getD1Database("DB");
  // Written from ctx.waitUntil after the answer: poll with a generous deadline that ends as soon as it is there.
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const row = await db.prepare("select * from ledger where request_id = ?").bind(requestId).first<Record<string, unknown>>();
    if (row) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ledger row for ${requestId}`);
}

function serverSpanOf(requestId: string): Promise<ReceivedSpan> {
  return receiver.waitFor((spans) => spans.some((s) => s.attributes["gatehouse.request_id"] === requestId && s.kind === "server")).then((spans) => spans.find((s) => s.attributes["gatehouse.request_id"] === requestId) as ReceivedSpan);
}

describe("tracing in workerd", { timeout: 120_000 }, () => {
  it.each([false, true])("streamed=%s: the spans reach the receiver with the ledger's tokens, in the client's trace, and the upstream gets the gateway's traceparent", async (stream) => {
    fake.reset();
    fake.enqueue({ usage: { input: 210, output: 33, cacheRead: 40 }, chunks: 3 });
    const res = await fetch(`${worker.url}/openai/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
      body: JSON.stringify({ model: "gpt-4o-mini", stream, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const requestId = res.headers.get("x-gatehouse-request-id") as string;
    const row = await ledgerRow(requestId);
    const server = await serverSpanOf(requestId);
    expect(server).toMatchObject({ name: "chat gpt-4o-mini", traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN });
    expect(server.attributes).toMatchObject({
      "gen_ai.usage.input_tokens": Number(row["input_tokens"]) + Number(row["cache_read_tokens"]),
      "gen_ai.usage.output_tokens": Number(row["output_tokens"]),
      "gen_ai.usage.cache_read.input_tokens": Number(row["cache_read_tokens"]),
      "gen_ai.request.stream": stream,
    });
    expect([row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]]).toEqual([210, 40, 33]);
    const client = await receiver.waitFor((spans) => spans.some((s) => s.parentSpanId === server.spanId)).then((spans) => spans.find((s) => s.parentSpanId === server.spanId) as ReceivedSpan);
    expect(fake.requests[0]?.headers["traceparent"]).toBe(`00-${CLIENT_TRACE}-${client.spanId}-01`);
    expect(receiver.requests.every((r) => r.headers["x-collector-key"] === "workerd-collector-key")).toBe(true);
    expect(receiver.rawBodies.join("")).not.toContain(TOKEN);
  });
});
