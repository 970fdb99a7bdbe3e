import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CLIENT_TOKEN, startHarness, type Harness } from "./harness.ts";

/**
 * Issue 12 item 3: every error the gateway itself makes on a provider route comes in that
 * provider's own error shape, on every API version the route serves — so each SDK shows the
 * message instead of failing to parse it. Table-driven: route × version × error. The shapes
 * are the providers' documented ones, checked strictly (no extra keys).
 */
const anthropicShape = z.strictObject({ type: z.literal("error"), error: z.strictObject({ type: z.string(), message: z.string().min(10) }), request_id: z.string() });
const openAiShape = z.strictObject({ error: z.strictObject({ message: z.string().min(10), type: z.string(), param: z.null(), code: z.string() }) });
const googleShape = (status: number) =>
  z.strictObject({
    error: z.strictObject({ code: z.literal(status), message: z.string().min(10), status: z.enum(["INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED", "NOT_FOUND", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL"]) }),
  });

interface Route {
  name: string;
  /** Every base a client may use for this route: each version it serves. */
  bases: string[];
  /** A declared JSON endpoint under the base, and a body it accepts. */
  endpoint: string;
  body: unknown;
  auth: Record<string, string>;
  shape: (status: number) => z.ZodType;
  /** The Google `status` (or Anthropic / OpenAI `type`) the error must carry, by HTTP status. */
  kind?: (status: number) => string;
}

const googleStatus: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "NOT_FOUND",
  413: "INVALID_ARGUMENT",
  415: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};
const chatBody = (model: string) => ({ model, messages: [{ role: "user", content: "hi" }] });
const bearer = { authorization: `Bearer ${CLIENT_TOKEN}` };
const routes: Route[] = [
  {
    name: "anthropic",
    bases: ["/anthropic/v1"],
    endpoint: "/messages",
    body: { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
    auth: { "x-api-key": CLIENT_TOKEN, "anthropic-version": "2023-06-01" },
    shape: () => anthropicShape,
  },
  { name: "openai", bases: ["/openai/v1", "/openai"], endpoint: "/chat/completions", body: chatBody("gpt-5"), auth: bearer, shape: () => openAiShape },
  {
    name: "google-ai-studio",
    bases: ["/google-ai-studio/v1beta", "/google-ai-studio/v1", "/google-ai-studio/v1alpha"],
    endpoint: "/models/gemini-2.5-flash:generateContent",
    body: { contents: [{ role: "user", parts: [{ text: "hi" }] }] },
    auth: { "x-goog-api-key": CLIENT_TOKEN },
    shape: googleShape,
    kind: (status) => googleStatus[status] as string,
  },
  { name: "compat", bases: ["/compat/v1", "/compat"], endpoint: "/chat/completions", body: chatBody("local-llama"), auth: bearer, shape: () => openAiShape },
  { name: "groq", bases: ["/groq/v1", "/groq"], endpoint: "/chat/completions", body: chatBody("llama-3.3-70b-versatile"), auth: bearer, shape: () => openAiShape },
];

const MAX_BODY = 4096;
let h: Harness;
/** Its fake upstream is closed once the gateway is up: nothing listens where it forwards (502). */
let dead: Harness;
/** Upstream headers are awaited 1.5 s (504), and a caller may have one request in flight (429). */
let slow: Harness;
/** No provider key in the environment (503, the message naming the variable). */
let unkeyed: Harness;

beforeAll(async () => {
  [h, dead, slow, unkeyed] = await Promise.all([
    startHarness({}, { GATEHOUSE_MAX_BODY_BYTES: String(MAX_BODY) }),
    startHarness(),
    startHarness({}, { GATEHOUSE_UPSTREAM_TIMEOUT_MS: "1500", GATEHOUSE_MAX_CONCURRENT_PER_CALLER: "1" }),
    startHarness({}, { ANTHROPIC_API_KEY: "", OPENAI_API_KEY: "", GEMINI_API_KEY: "", COMPAT_KEY: "", GROQ_API_KEY: "" }),
  ]);
  await dead.fake.close();
}, 60_000);
afterAll(async () => {
  await Promise.all([h?.close(), dead?.gateway.close(), slow?.close(), unkeyed?.close()]);
});

function send(g: Harness, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Response> {
  return fetch(`${g.gateway.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
}

/** fetch refuses TRACE: node:http sends it, the answer read back as a Response. */
function rawRequest(g: Harness, method: string, path: string, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(`${g.gateway.url}${path}`, { method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve(new Response(Buffer.concat(parts), { status: res.statusCode ?? 0, headers: { "content-type": String(res.headers["content-type"] ?? "") } })));
    });
    req.on("error", reject);
    req.end();
  });
}

async function expectShape(route: Route, res: Response, status: number): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body: unknown = await res.json();
  const parsed = route.shape(status).safeParse(body);
  expect(parsed.success, `${route.name} ${status}: ${JSON.stringify(body)}`).toBe(true);
  if (route.kind) expect((body as { error: { status: string } }).error.status).toBe(route.kind(status));
}

const cases = routes.flatMap((route) => route.bases.map((base) => ({ route, base, label: `${base}` })));

describe.each(cases)("gateway-made errors on $label are in the provider's shape", { timeout: 60_000 }, ({ route, base }) => {
  const json = { "content-type": "application/json" };
  const good = JSON.stringify(route.body);

  it("404 for an endpoint the route does not serve", async () => {
    await expectShape(route, await send(h, "POST", `${base}/no/such/endpoint`, { ...json, ...route.auth }, good), 404);
  });
  it("405 for a method no endpoint has (PUT), and TRACE", async () => {
    await expectShape(route, await send(h, "PUT", `${base}${route.endpoint}`, { ...json, ...route.auth }, good), 405);
    await expectShape(route, await rawRequest(h, "TRACE", `${base}${route.endpoint}`, route.auth), 405);
  });
  it("401 without a token, and with a wrong one", async () => {
    await expectShape(route, await send(h, "POST", `${base}${route.endpoint}`, json, good), 401);
    const wrong = Object.fromEntries(Object.entries(route.auth).map(([k, v]) => [k, v === CLIENT_TOKEN || v === `Bearer ${CLIENT_TOKEN}` ? v.replace(CLIENT_TOKEN, "gh_wrong_token_0000000000000") : v]));
    await expectShape(route, await send(h, "POST", `${base}${route.endpoint}`, { ...json, ...wrong }, good), 401);
  });
  it("403 for a cross-origin browser request", async () => {
    await expectShape(route, await send(h, "POST", `${base}${route.endpoint}`, { ...json, ...route.auth, origin: "https://evil.example" }, good), 403);
  });
  it("400 for a body that is not JSON, 415 for another media type", async () => {
    await expectShape(route, await send(h, "POST", `${base}${route.endpoint}`, { ...json, ...route.auth }, "{not json"), 400);
    await expectShape(route, await send(h, "POST", `${base}${route.endpoint}`, { "content-type": "text/plain", ...route.auth }, good), 415);
  });
  it("413 for a body over the limit", async () => {
    await expectShape(route, await send(h, "POST", `${base}${route.endpoint}`, { ...json, ...route.auth }, JSON.stringify({ ...(route.body as object), pad: "x".repeat(MAX_BODY) })), 413);
  });
  it("502 when the upstream cannot be reached", async () => {
    await expectShape(route, await send(dead, "POST", `${base}${route.endpoint}`, { ...json, ...route.auth }, good), 502);
  });
  it("429 past the caller's concurrency cap", async () => {
    let release = (): void => undefined;
    slow.fake.enqueue({ holdHeadersUntil: new Promise<void>((resolve) => (release = resolve)) });
    const before = slow.fake.requests.length;
    const first = send(slow, "POST", `${base}${route.endpoint}`, { ...json, ...route.auth }, good);
    await slow.fake.whenRequests(before + 1);
    const res = await send(slow, "POST", `${base}${route.endpoint}`, { ...json, ...route.auth }, good);
    expect(res.headers.get("retry-after")).toBe("1");
    await expectShape(route, res, 429);
    release();
    await (await first).arrayBuffer();
  });
  it("503 when the provider's key is not configured", async () => {
    if (route.name === "compat") return; // compat's key is optional: a local server may take none
    const res = await send(unkeyed, "POST", `${base}${route.endpoint}`, { ...json, ...route.auth }, good);
    await expectShape(route, res, 503);
  });
  it("504 when the upstream sends no headers in time", async () => {
    slow.fake.enqueue({ headersDelayMs: 5_000 });
    await expectShape(route, await send(slow, "POST", `${base}${route.endpoint}`, { ...json, ...route.auth }, good), 504);
  });
});
