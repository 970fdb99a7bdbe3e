import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { orgConfigSchema } from "../../src/config/index.ts";
import { formatUsage } from "../../src/cli/commands/usage.ts";
import { usageSummary } from "../../src/ledger/index.ts";
import { KEYS, ledgerRows, startHarness, type Harness } from "../gateway/harness.ts";
import { PEOPLE, peopleAuthenticator } from "./people.ts";
import { rawRequest, type RawResponse } from "./raw-http.ts";

/**
 * One suite over every provider route: each trick an attacker has (other spellings of the
 * path, media type, body, method, query and headers) must be refused before anything is
 * forwarded, or governed exactly like its plain form (same endpoint, model, ledger row).
 * The fake upstream routes on the decoded, dot-resolved path like uvicorn/gin/Hono and
 * echoes TRACE, so a trick that slips past the gateway reaches a real-looking endpoint.
 */

interface RouteCase {
  name: string;
  /** Path up to the endpoint, e.g. /openai/v1/chat/completions (query apart). */
  path: string;
  query?: string;
  allowed: string;
  denied: string;
  body(model: string): Record<string, unknown>;
  headers?: Record<string, string>;
  /** Where the model goes: the body (default) or Gemini's path segment. */
  modelInPath?: boolean;
  endpoint: string;
}

const chat = (model: string) => ({ model, messages: [{ role: "user", content: "hi" }] });
const gemini = () => ({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });

const ROUTES: RouteCase[] = [
  { name: "anthropic messages", path: "/anthropic/v1/messages", allowed: "claude-sonnet-4-5", denied: "claude-opus-4-1", body: (m) => ({ ...chat(m), max_tokens: 50 }), headers: { "anthropic-version": "2023-06-01" }, endpoint: "messages" },
  { name: "openai chat", path: "/openai/v1/chat/completions", allowed: "gpt-4o-mini", denied: "gpt-5", body: chat, endpoint: "chat" },
  { name: "openai responses", path: "/openai/v1/responses", allowed: "gpt-4o-mini", denied: "gpt-5", body: (m) => ({ model: m, input: "hi" }), endpoint: "responses" },
  { name: "openai embeddings", path: "/openai/v1/embeddings", allowed: "text-embedding-3-small", denied: "text-embedding-3-large", body: (m) => ({ model: m, input: "hi" }), endpoint: "embeddings" },
  { name: "compat chat", path: "/compat/v1/chat/completions", allowed: "local-llama", denied: "other-llama", body: chat, endpoint: "chat" },
  { name: "groq chat", path: "/groq/v1/chat/completions", allowed: "llama-3.3-70b-versatile", denied: "llama-3.1-8b-instant", body: chat, endpoint: "chat" },
  { name: "gemini generate", path: "/google-ai-studio/v1beta/models/{model}:generateContent", allowed: "gemini-2.5-flash", denied: "gemini-2.5-pro", body: gemini, modelInPath: true, endpoint: "generate" },
  { name: "gemini v1 generate", path: "/google-ai-studio/v1/models/{model}:generateContent", allowed: "gemini-2.5-flash", denied: "gemini-2.5-pro", body: gemini, modelInPath: true, endpoint: "generate" },
  { name: "gemini v1alpha stream", path: "/google-ai-studio/v1alpha/models/{model}:streamGenerateContent", query: "?alt=sse", allowed: "gemini-2.5-flash", denied: "gemini-2.5-pro", body: gemini, modelInPath: true, endpoint: "stream_generate" },
  { name: "gemini stream", path: "/google-ai-studio/v1beta/models/{model}:streamGenerateContent", query: "?alt=sse", allowed: "gemini-2.5-flash", denied: "gemini-2.5-pro", body: gemini, modelInPath: true, endpoint: "stream_generate" },
];

const POLICY = {
  groups: {
    eng: {
      models: ["anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini", "openai/text-embedding-3-small", "compat/local-llama", "groq/llama-3.3-70b-versatile", "google-ai-studio/gemini-2.5-flash"],
      budget: { perUser: { dailyUsd: 100 } },
    },
  },
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ authenticator: peopleAuthenticator });
  const current = h.gateway.deps.config.current();
  h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, policy: POLICY }));
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
  h.fake.setDefault({ usage: { input: 120, output: 30 } });
});

const auth = { authorization: `Bearer ${PEOPLE.alice.token}` };

function pathFor(route: RouteCase, model: string): string {
  return route.path.replace("{model}", model);
}

async function send(route: RouteCase, target: string, model: string, extraHeaders: Record<string, string> = {}, rawBody?: string | Buffer): Promise<RawResponse> {
  return rawRequest(h.gateway.url, "POST", target, { "content-type": "application/json", ...route.headers, ...auth, ...extraHeaders }, rawBody ?? JSON.stringify(route.body(model)));
}

async function lastRow() {
  const rows = await ledgerRows(h);
  return rows.at(-1);
}

/** What the plain request does: the baseline every governed trick must equal. */
async function plain(route: RouteCase) {
  const res = await send(route, pathFor(route, route.allowed) + (route.query ?? ""), route.allowed);
  expect(res.status, res.text).toBe(200);
  const forwarded = h.fake.requests.at(-1);
  const row = await lastRow();
  h.fake.reset();
  h.fake.setDefault({ usage: { input: 120, output: 30 } });
  return { forwardedPath: forwarded?.path, forwardedModel: forwardedModelOf(route, forwarded?.path, forwarded?.bodyText), row };
}

function forwardedModelOf(route: RouteCase, path: string | undefined, bodyText: string | undefined): string | undefined {
  if (route.modelInPath) return /\/models\/([^/:]+):/.exec(path ?? "")?.[1];
  return (JSON.parse(bodyText ?? "{}") as { model?: string }).model;
}

/** Spellings of the same endpoint that must be governed exactly like the plain one. */
const GOVERNED_SPELLINGS: Array<{ name: string; spell(path: string): string }> = [
  { name: "last letter percent-encoded", spell: (p) => `${p.slice(0, -1)}%${p.charCodeAt(p.length - 1).toString(16)}` },
  { name: "lower-case escape of a letter in the middle", spell: (p) => p.replace(/\/([a-z])([a-z]+)$/, (_m, a: string, rest: string) => `/%${a.charCodeAt(0).toString(16)}${rest}`).replace(/:([a-z])/, (_m, a: string) => `:%${a.charCodeAt(0).toString(16)}`) },
  { name: "dot-dot segment", spell: (p) => p.replace(/\/([^/]+)$/, "/x/../$1") },
  { name: "encoded dot-dot segment", spell: (p) => p.replace(/\/([^/]+)$/, "/x/%2e%2E/$1") },
  { name: "single-dot segment", spell: (p) => p.replace(/\/([^/]+)$/, "/./$1") },
  { name: "doubled slashes", spell: (p) => p.replace(/\/([^/]+)$/, "//$1").replace(/\/(v1|models)\//, "//$1//") },
  { name: "climb out and back into the route", spell: (p) => p.replace(/^\/([^/]+)\//, "/$1/v9/../") },
];

/** Spellings that must be refused with 400/404 before anything is forwarded. */
const REFUSED_SPELLINGS: Array<{ name: string; spell(path: string): string; status: number; beforeRouting?: boolean }> = [
  { name: "encoded slash", spell: (p) => p.replace(/\/([^/]+)$/, "%2F$1"), status: 400 },
  { name: "lower-case encoded slash", spell: (p) => p.replace(/\/([^/]+)$/, "%2f$1"), status: 400 },
  // @hono/node-server answers a raw backslash with an empty 400 before any route runs.
  { name: "backslash", spell: (p) => p.replace(/\/([^/]+)$/, "\\$1"), status: 400, beforeRouting: true },
  { name: "encoded backslash", spell: (p) => p.replace(/\/([^/]+)$/, "%5C$1"), status: 400 },
  { name: "encoded NUL", spell: (p) => `${p}%00`, status: 400 },
  { name: "invalid escape", spell: (p) => `${p}%zz`, status: 400 },
  { name: "double-encoded slash", spell: (p) => p.replace(/\/([^/]+)$/, "%252F$1"), status: 400 },
  { name: "invalid UTF-8 escape", spell: (p) => `${p}%C3`, status: 400 },
  { name: "climbing above the root", spell: (p) => `/../..${p}`, status: 400 },
  { name: "upper-cased endpoint", spell: (p) => `${p.slice(0, -1)}${p.slice(-1).toUpperCase()}`, status: 404 },
  { name: "matrix parameter", spell: (p) => `${p};x=1`, status: 404 },
];

describe.each(ROUTES)("$name", (route) => {
  it("plain form: allowed model served and metered, denied model refused", async () => {
    const base = await plain(route);
    expect(base.row).toMatchObject({ endpoint: route.endpoint, model: route.allowed, status: 200, outcome: "completed" });
    expect(base.row?.cost_usd).toBeGreaterThan(0);
    const denied = await send(route, pathFor(route, route.denied) + (route.query ?? ""), route.denied);
    expect(denied.status).toBe(403);
    expect(h.fake.requests).toHaveLength(0);
  });

  it.each(GOVERNED_SPELLINGS)("path spelled with $name is governed like the plain form", async ({ spell }) => {
    const base = await plain(route);
    const res = await send(route, spell(pathFor(route, route.allowed)) + (route.query ?? ""), route.allowed);
    expect(res.status, res.text).toBe(200);
    expect(h.fake.requests).toHaveLength(1);
    const forwarded = h.fake.requests[0];
    expect(forwarded?.path).toBe(base.forwardedPath);
    expect(forwarded?.rawPath).toBe(forwarded?.path);
    expect(forwardedModelOf(route, forwarded?.path, forwarded?.bodyText)).toBe(base.forwardedModel);
    const row = await lastRow();
    expect(row).toMatchObject({ endpoint: route.endpoint, model: route.allowed, input_tokens: base.row?.input_tokens, output_tokens: base.row?.output_tokens });
    expect(row?.cost_usd).toBeCloseTo(base.row?.cost_usd ?? -1, 12);

    h.fake.reset();
    const denied = await send(route, spell(pathFor(route, route.denied)) + (route.query ?? ""), route.denied);
    expect(denied.status).toBe(403);
    expect(h.fake.requests).toHaveLength(0);
  });

  it.each(REFUSED_SPELLINGS)("path spelled with $name is refused in the provider's shape and not forwarded", async ({ spell, status, beforeRouting }) => {
    const res = await send(route, spell(pathFor(route, route.allowed)) + (route.query ?? ""), route.allowed);
    expect(res.status, res.text).toBe(status);
    if (beforeRouting) expect(res.text).toBe("");
    else expectProviderErrorShape(route, res);
    expect(h.fake.requests).toHaveLength(0);
  });

  it.each(["application/JSON", "Application/Json; Charset=UTF-8", 'application/json; charset="utf-8"'])("media type %s is parsed and governed", async (type) => {
    const denied = await send(route, pathFor(route, route.denied) + (route.query ?? ""), route.denied, { "content-type": type });
    expect(denied.status).toBe(403);
    const ok = await send(route, pathFor(route, route.allowed) + (route.query ?? ""), route.allowed, { "content-type": type });
    expect(ok.status, ok.text).toBe(200);
    expect(h.fake.requests).toHaveLength(1);
    expect(h.fake.requests[0]?.headers["content-type"]).toBe("application/json");
    expect((await lastRow())?.cost_usd).toBeGreaterThan(0);
  });

  it.each(["text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16", "application/jsonx", "multipart/form-data; boundary=x", "json"])("media type %s is refused with 415", async (type) => {
    const res = await send(route, pathFor(route, route.allowed) + (route.query ?? ""), route.denied, { "content-type": type });
    expect(res.status).toBe(415);
    expectProviderErrorShape(route, res);
    expect(h.fake.requests).toHaveLength(0);
  });

  it("a body without a media type, or content-encoded, is refused with 415", async () => {
    const noType = await rawRequest(h.gateway.url, "POST", pathFor(route, route.allowed) + (route.query ?? ""), { ...route.headers, ...auth }, JSON.stringify(route.body(route.denied)));
    expect(noType.status).toBe(415);
    const encoded = await send(route, pathFor(route, route.allowed) + (route.query ?? ""), route.denied, { "content-encoding": "gzip" });
    expect(encoded.status).toBe(415);
    expect(h.fake.requests).toHaveLength(0);
  });

  it("bodies the gateway cannot read the way the upstream would are refused with 400", async () => {
    const target = pathFor(route, route.allowed) + (route.query ?? "");
    const bodies: Array<string | Buffer> = ["", "[]", "null", '"x"', "{", Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])];
    if (!route.modelInPath) bodies.push(JSON.stringify({ ...route.body(route.allowed), model: ` ${route.allowed}` }), JSON.stringify({ ...route.body(route.allowed), model: 7 }), JSON.stringify({ ...route.body(route.allowed), model: undefined }));
    if (route.endpoint !== "embeddings" && !route.modelInPath) bodies.push(JSON.stringify({ ...route.body(route.allowed), stream: "true" }));
    for (const body of bodies) {
      const res = await send(route, target, route.allowed, {}, body);
      expect(res.status, `${body.toString()} → ${res.text}`).toBe(400);
      expectProviderErrorShape(route, res);
    }
    expect(h.fake.requests).toHaveLength(0);
  });

  if (!route.modelInPath) {
    it("a duplicated model key is governed by the value the upstream reads, and leaves once", async () => {
      const sneaky = JSON.stringify(route.body(route.denied)).replace("{", `{"model":"${route.allowed}",`);
      expect(sneaky.match(/"model"/g)).toHaveLength(2);
      const res = await send(route, pathFor(route, route.allowed), route.allowed, {}, sneaky);
      expect(res.status).toBe(403);
      const fine = JSON.stringify(route.body(route.allowed)).replace("{", `{"model":"${route.denied}",`);
      const ok = await send(route, pathFor(route, route.allowed), route.allowed, {}, fine);
      expect(ok.status, ok.text).toBe(200);
      expect(h.fake.requests).toHaveLength(1);
      expect(h.fake.requests[0]?.bodyText.match(/"model"/g)).toHaveLength(1);
    });
  }

  it.each(["TRACE", "OPTIONS", "HEAD", "CONNECT"])("%s is never forwarded and never echoes the key", async (method) => {
    const res = method === "CONNECT" ? await connectAttempt(pathFor(route, route.allowed)) : await rawRequest(h.gateway.url, method, pathFor(route, route.allowed), { ...auth });
    expect(res.status === 405 || res.status === 400 || res.status === 0, `${method} → ${res.status}`).toBe(true);
    expect(res.text).not.toContain(KEYS.openai);
    expect(res.text).not.toContain(KEYS.anthropic);
    expect(res.text).not.toContain(KEYS.google);
    expect(h.fake.requests).toHaveLength(0);
  });

  it("client headers that pick billing, credentials or the method never reach the upstream", async () => {
    const res = await send(route, pathFor(route, route.allowed) + (route.query ?? ""), route.allowed, {
      "openai-organization": "org-attacker",
      "openai-project": "proj_attacker",
      "api-key": "attacker-azure-key",
      "x-goog-user-project": "attacker-project",
      "x-goog-fieldmask": "candidates",
      "x-http-method-override": "DELETE",
      "x-method-override": "DELETE",
    });
    expect(res.status, res.text).toBe(200);
    const seen = h.fake.requests[0]?.headers ?? {};
    for (const name of ["openai-organization", "openai-project", "api-key", "x-goog-user-project", "x-goog-fieldmask", "x-http-method-override", "x-method-override"]) expect(seen[name], name).toBeUndefined();
  });
});

function expectProviderErrorShape(route: RouteCase, res: RawResponse): void {
  const body = JSON.parse(res.text) as Record<string, unknown>;
  if (route.path.startsWith("/anthropic")) expect(body).toMatchObject({ type: "error", error: { type: expect.any(String) as unknown, message: expect.any(String) as unknown } });
  else if (route.path.startsWith("/google")) expect(body).toMatchObject({ error: { code: res.status, status: expect.any(String) as unknown, message: expect.any(String) as unknown } });
  else expect(body).toMatchObject({ error: { message: expect.any(String) as unknown, type: expect.any(String) as unknown } });
}

/** A CONNECT through the gateway's listener: node answers it on the socket, never through the proxy. */
async function connectAttempt(target: string): Promise<RawResponse> {
  const { request } = await import("node:http");
  const url = new URL(h.gateway.url);
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, method: "CONNECT", path: target, headers: auth });
    req.on("connect", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text: "" });
    });
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text: "" });
    });
    req.on("error", () => resolve({ status: 0, headers: {}, text: "" }));
    req.end();
  });
}

describe("endpoints nobody declared", () => {
  const undeclared: Array<[string, string]> = [
    ["POST", "/openai/v1/completions"],
    ["POST", "/openai/v1/audio/speech"],
    ["POST", "/openai/v1/images/generations"],
    ["POST", "/openai/v1/moderations"],
    ["POST", "/anthropic/v1/complete"],
    ["POST", "/compat/v1/completions"],
    ["POST", "/google-ai-studio/v1beta/models/gemini-2.5-flash:predict"],
    ["POST", "/google-ai-studio/v1beta/models/gemini-2.5-flash:embedContent"],
    ["GET", "/google-ai-studio/v1beta/operations"],
    ["POST", "/google-ai-studio/v2/models/gemini-2.5-flash:generateContent"],
    ["POST", "/google-ai-studio/models/gemini-2.5-flash:generateContent"],
  ];

  it.each(undeclared)("%s %s is refused with 404 in the provider's shape, naming the fix", async (method, path) => {
    const res = await rawRequest(h.gateway.url, method, path, { "content-type": "application/json", ...auth }, method === "POST" ? "{}" : undefined);
    expect(res.status).toBe(404);
    expect(res.text).toContain("passThrough");
    expect(h.fake.requests).toHaveLength(0);
  });

  it("is forwarded, unread and unmetered, once the org lists it under passThrough", async () => {
    const current = h.gateway.deps.config.current();
    const openai = { ...current.providers.openai, passThrough: [{ method: "POST" as const, path: "/v1/moderations" }] };
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, providers: { ...current.providers, openai } }));
    try {
      const res = await rawRequest(h.gateway.url, "POST", "/openai/v1/moderations", { "content-type": "application/json", ...auth }, '{"input":"x"}');
      expect(h.fake.requests).toHaveLength(1);
      expect(h.fake.requests[0]?.path).toBe("/v1/moderations");
      expect(h.fake.requests[0]?.headers["authorization"]).toBe(`Bearer ${KEYS.openai}`);
      expect(res.status).toBe(404); // the fake has no moderations endpoint: its own 404 came back
      expect(await lastRow()).toMatchObject({ endpoint: "passthrough", model: "unknown" });
      // Other paths stay refused.
      const other = await rawRequest(h.gateway.url, "POST", "/openai/v1/moderations/x", { "content-type": "application/json", ...auth }, "{}");
      expect(other.status).toBe(404);
      expect(h.fake.requests).toHaveLength(1);
    } finally {
      h.gateway.deps.config.replace(current);
    }
  });
});

describe("provider-side objects are refused by default", () => {
  const objects: Array<[string, string]> = [
    ["GET", "/openai/v1/files"],
    ["POST", "/openai/v1/files"],
    ["DELETE", "/openai/v1/files/file-000001"],
    ["GET", "/openai/v1/files/file-000001/content"],
    ["POST", "/openai/v1/batches"],
    ["GET", "/openai/v1/chat/completions"],
    ["GET", "/openai/v1/chat/completions/chatcmpl-1"],
    ["DELETE", "/openai/v1/chat/completions/chatcmpl-1"],
    ["GET", "/openai/v1/responses/resp_1"],
    ["GET", "/openai/v1/responses/resp_1/input_items"],
    ["DELETE", "/openai/v1/responses/resp_1"],
    ["GET", "/openai/v1/vector_stores"],
    ["GET", "/openai/v1/fine_tuning/jobs"],
    ["GET", "/anthropic/v1/messages/batches"],
    ["POST", "/anthropic/v1/messages/batches"],
    ["GET", "/anthropic/v1/messages/batches/msgbatch_1/results"],
    ["GET", "/anthropic/v1/files"],
    ["GET", "/google-ai-studio/v1beta/files"],
    ["GET", "/google-ai-studio/v1beta/cachedContents"],
    ["POST", "/google-ai-studio/v1beta/cachedContents"],
    ["GET", "/google-ai-studio/v1beta/batches"],
  ];

  it.each(objects)("%s %s is refused with 403 and not forwarded", async (method, path) => {
    const body = method === "POST" ? "{}" : undefined;
    const headers: Record<string, string> = { ...auth, "anthropic-version": "2023-06-01" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await rawRequest(h.gateway.url, method, path, headers, body);
    expect(res.status, res.text).toBe(403);
    expect(h.fake.requests).toHaveLength(0);
  });

  it("OpenAI conversation state cannot be created or read through the shared key", async () => {
    const post = (path: string, body: unknown) => rawRequest(h.gateway.url, "POST", path, { "content-type": "application/json", ...auth }, JSON.stringify(body));
    for (const body of [
      { model: "gpt-4o-mini", input: "hi", store: true },
      { model: "gpt-4o-mini", input: "hi", previous_response_id: "resp_of_someone_else" },
      { model: "gpt-4o-mini", input: "hi", conversation: "conv_of_someone_else" },
      { model: "gpt-4o-mini", input: "hi", background: true },
    ]) {
      const res = await post("/openai/v1/responses", body);
      expect(res.status, JSON.stringify(body)).toBe(403);
    }
    expect((await post("/openai/v1/chat/completions", { ...chat("gpt-4o-mini"), store: true })).status).toBe(403);
    expect(h.fake.requests).toHaveLength(0);
    // Responses stores by default: the gateway sends store:false.
    expect((await post("/openai/v1/responses", { model: "gpt-4o-mini", input: "hi" })).status).toBe(200);
    expect(JSON.parse(h.fake.requests[0]?.bodyText ?? "{}")).toMatchObject({ store: false });
  });
});

describe("query parameters", () => {
  const gem = "/google-ai-studio/v1beta/models/gemini-2.5-flash:streamGenerateContent";
  const post = (target: string) => rawRequest(h.gateway.url, "POST", target, { "content-type": "application/json", ...auth }, JSON.stringify(gemini()));

  it("removes Gemini's key parameter however it is spelled", async () => {
    for (const q of [`?alt=sse&key=${PEOPLE.alice.token}`, `?alt=sse&k%65y=${PEOPLE.alice.token}`, `?alt=sse&%6B%65%79=${PEOPLE.alice.token}`, `?alt=sse&access_token=${PEOPLE.alice.token}`]) {
      const res = await rawRequest(h.gateway.url, "POST", gem + q, { "content-type": "application/json" }, JSON.stringify(gemini()));
      expect(res.status, q).toBe(401); // the token only travelled in the query: the gateway reads headers
      const withHeader = await post(gem + q);
      expect(withHeader.status, q).toBe(200);
    }
    for (const r of h.fake.requests) {
      expect(r.search).toBe("?alt=sse");
      expect(r.search + JSON.stringify(r.headers)).not.toContain(PEOPLE.alice.token);
    }
  });

  it("refuses answer encodings and field masks the usage reader cannot read", async () => {
    for (const q of ["?alt=proto", "?alt=media", "?%24alt=sse", "?$alt=sse", "?fields=candidates", "?%24fields=candidates", "?alt=sse&alt=json", "?alt=sse&prettyPrint=false", "?a%6Ct=proto"]) {
      const res = await post(gem + q);
      expect(res.status, q).toBe(400);
    }
    expect(h.fake.requests).toHaveLength(0);
  });

  it("reads alt after decoding, so an encoded alt=sse streams and is metered as SSE", async () => {
    const res = await post(`${gem}?%61lt=%73se`);
    expect(res.status).toBe(200);
    expect(h.fake.requests[0]?.search).toBe("?alt=sse");
    expect(await lastRow()).toMatchObject({ endpoint: "stream_generate", streamed: 1 });
  });

  it("accepts Claude Code's ?beta=true and refuses unknown parameters on Anthropic", async () => {
    const send = (q: string) => rawRequest(h.gateway.url, "POST", `/anthropic/v1/messages${q}`, { "content-type": "application/json", "anthropic-version": "2023-06-01", ...auth }, JSON.stringify({ ...chat("claude-sonnet-4-5"), max_tokens: 10 }));
    expect((await send("?beta=true")).status).toBe(200);
    expect((await send("?beta=false")).status).toBe(400);
    expect((await send("?anything=1")).status).toBe(400);
    expect(h.fake.requests).toHaveLength(1);
  });
});

describe("budgets cannot be walked around", () => {
  it("an unpriced model under a budget is refused, naming the fix", async () => {
    const current = h.gateway.deps.config.current();
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, policy: { groups: { eng: { models: ["compat/*"], budget: { perUser: { dailyUsd: 1 } } } } } }));
    try {
      const res = await rawRequest(h.gateway.url, "POST", "/compat/v1/chat/completions", { "content-type": "application/json", ...auth }, JSON.stringify(chat("no-price-model")));
      expect(res.status).toBe(403);
      expect(res.text).toContain("policy.unpriced");
      expect(h.fake.requests).toHaveLength(0);
    } finally {
      h.gateway.deps.config.replace(current);
    }
  });

  it("with policy.unpriced: allow, an unpriced model is served, its row marked unpriced, and usage says it is not in the total", async () => {
    const current = h.gateway.deps.config.current();
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, policy: { unpriced: "allow", groups: { eng: { models: ["compat/*"], budget: { perUser: { dailyUsd: 1 } } } } } }));
    try {
      const res = await rawRequest(h.gateway.url, "POST", "/compat/v1/chat/completions", { "content-type": "application/json", ...auth }, JSON.stringify(chat("no-price-model")));
      expect(res.status).toBe(200);
      expect(await lastRow()).toMatchObject({ model: "no-price-model", unpriced: 1, cost_usd: 0 });
      const rows = await usageSummary(h.gateway.deps.db, { groupBy: ["model"] });
      expect(rows.find((r) => r.keys.model === "no-price-model")?.unpricedRequests).toBe(1);
      const table = formatUsage(rows, ["model"], "table");
      expect(table).toContain("unpriced requests whose cost is unknown and not in the total (add their price under pricing:");
      // Never $0 for an unknown cost: the group's cell says so.
      expect(table).toMatch(/no-price-model.*unpriced/);
    } finally {
      h.gateway.deps.config.replace(current);
    }
  });

  it("twenty requests on tricked paths are admitted and charged exactly like plain ones", async () => {
    const current = h.gateway.deps.config.current();
    // $/request is known from the plain form; the budget holds five of them.
    const route = ROUTES[1] as RouteCase;
    const base = await plain(route);
    const perRequest = base.row?.cost_usd ?? 0;
    expect(perRequest).toBeGreaterThan(0);
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, policy: { groups: { eng: { models: ["openai/gpt-4o-mini"], budget: { perUser: { dailyUsd: 100 } } } } } }));
    const before = (await ledgerRows(h)).length;
    try {
      const tricks = ["/openai/v1/chat/completion%73", "/openai/v1/chat/x/../completions", "/openai//v1/chat/completions", "/compat/../openai/v1/chat/completions"];
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await send(route, tricks[i % tricks.length] as string, route.allowed)).status);
      expect(statuses.every((s) => s === 200)).toBe(true);
      const rows = (await ledgerRows(h)).slice(before);
      expect(rows).toHaveLength(20);
      for (const row of rows) {
        expect(row).toMatchObject({ endpoint: "chat", model: "gpt-4o-mini" });
        expect(row.cost_usd).toBeCloseTo(perRequest, 12);
      }
    } finally {
      h.gateway.deps.config.replace(current);
    }
  });
});

describe("headers the org pins", () => {
  it("replace whatever the client sent, on every request to that provider", async () => {
    const current = h.gateway.deps.config.current();
    const openai = { ...current.providers.openai, pinHeaders: { "openai-project": "proj_org", "openai-organization": "org_org" } };
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, providers: { ...current.providers, openai } }));
    try {
      const res = await rawRequest(h.gateway.url, "POST", "/openai/v1/chat/completions", { "content-type": "application/json", ...auth, "openai-project": "proj_attacker", "OpenAI-Organization": "org_attacker" }, JSON.stringify(chat("gpt-4o-mini")));
      expect(res.status).toBe(200);
      expect(h.fake.requests[0]?.headers).toMatchObject({ "openai-project": "proj_org", "openai-organization": "org_org" });
    } finally {
      h.gateway.deps.config.replace(current);
    }
  });

  it("cannot carry a credential", () => {
    const current = h.gateway.deps.config.current();
    for (const name of ["authorization", "x-api-key", "api-key", "x-goog-api-key"]) {
      expect(() => orgConfigSchema.parse({ ...current, providers: { openai: { pinHeaders: { [name]: "sk-x" } } } }), name).toThrow("apiKeyEnv");
    }
  });
});
