import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { rawRequest } from "../security/raw-http.ts";
import { DEV_TOKEN, UPSTREAM_KEYS, allRequests, namedRow, startNamedHarness, type NamedHarness } from "./compat-named-harness.ts";

/**
 * The attacker's side of named compat upstreams: every other spelling of a name in the path or
 * the body, the path and the body disagreeing, one upstream's key sent to another, an upstream
 * without a key, and a caller allowed only compat/ollama/* trying to reach vllm by any spelling.
 * The fakes accept only their own key (OpenAI's 401 otherwise) and record what they got.
 */
let h: NamedHarness;
beforeAll(async () => {
  h = await startNamedHarness();
}, 60_000);
afterAll(() => h.close());
beforeEach(() => h.reset());

const auth = { authorization: `Bearer ${DEV_TOKEN}`, "content-type": "application/json" };
const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] });
const send = (target: string, model: string) => rawRequest(h.gateway.url, "POST", target, auth, chatBody(model));

async function expectRefused(res: { status: number; text: string }, status: number, ...messageParts: string[]): Promise<string> {
  expect(res.status).toBe(status);
  const body = JSON.parse(res.text) as { error: { message: string; type: string; code: string; param: null } };
  expect(body.error.type).toBe("invalid_request_error");
  expect(body.error.param).toBeNull();
  for (const part of messageParts) expect(body.error.message).toContain(part);
  expect(allRequests(h)).toHaveLength(0);
  return body.error.message;
}

/** Every recorded request carried the key of the fake that got it (or none, for the keyless upstream), and no other upstream's key. */
function expectOwnKeysOnly(): void {
  const values = Object.values(UPSTREAM_KEYS);
  for (const { fake, request } of allRequests(h)) {
    const own = UPSTREAM_KEYS[fake as keyof typeof UPSTREAM_KEYS];
    const carried = request.headers["authorization"];
    if (carried !== undefined) expect(carried).toBe(`Bearer ${own}`);
    for (const other of values.filter((v) => v !== own)) expect(JSON.stringify(request)).not.toContain(other);
    expect(JSON.stringify(request)).not.toContain(DEV_TOKEN);
  }
}

describe("named compat upstreams: refused spellings", () => {
  it("an unknown name in the path is refused in OpenAI's error shape, with the configured names and how to fix it", async () => {
    const message = await expectRefused(await send("/compat/vllx/v1/chat/completions", "deepseek-chat"), 404, 'No compat upstream named "vllx"', "vllm, ollama, openrouter, local, broken", "/compat/<name>/v1/");
    expect(message).not.toContain(UPSTREAM_KEYS.vllm);
  });

  it("a name in another case is refused, in the path and in the body, and is not sent to the default either", async () => {
    await expectRefused(await send("/compat/VLLM/v1/chat/completions", "deepseek-chat"), 404, "lower case", "/compat/vllm/v1/");
    await expectRefused(await send("/compat/v1/chat/completions", "VLLM/deepseek-chat"), 400, "lower case", "vllm/deepseek-chat");
    // Not model ids at all: refused by the model-id check before any name is read.
    await expectRefused(await send("/compat/v1/chat/completions", " vllm/deepseek-chat"), 400);
    await expectRefused(await send("/compat/v1/chat/completions", "%76llm/deepseek-chat"), 400);
  });

  it("an empty name or an empty model is refused", async () => {
    await expectRefused(await send("/compat/v1/chat/completions", "/deepseek-chat"), 400);
    await expectRefused(await send("/compat/v1/chat/completions", "vllm/"), 400, "no model");
  });

  it("the path naming one upstream and the body another (or the same one twice) is refused, never routed by either", async () => {
    await expectRefused(await send("/compat/ollama/v1/chat/completions", "vllm/deepseek-chat"), 400, 'compat upstream "ollama"', 'upstream "vllm"', "/compat/v1/");
    await expectRefused(await send("/compat/ollama/v1/chat/completions", "ollama/qwen3:8b"), 400, 'upstream "ollama"');
    await expectRefused(await send("/compat/ollama/v1/chat/completions", "VLLM/deepseek-chat"), 400, 'upstream "vllm"');
  });

  it("percent-encoding, dot segments and empty segments are read as the upstream reads them: the canonical name decides, with that name's key and ledger model", async () => {
    for (const target of ["/compat/%76llm/v1/chat/completions", "/compat/ollama/../vllm/v1/chat/completions", "/compat/ollama/%2e%2e/vllm/v1/chat/completions", "/compat//vllm//v1/chat/completions"]) {
      h.reset();
      const res = await send(target, "deepseek-chat");
      expect(res.status, target).toBe(200);
      expect(allRequests(h).map((s) => s.fake)).toEqual(["vllm"]);
      expect(h.fakes.vllm.requests[0]?.path).toBe("/v1/chat/completions");
      expectOwnKeysOnly();
      const row = await namedRow(h, String(res.headers["x-gatehouse-request-id"]));
      expect(row.model).toBe("vllm/deepseek-chat");
    }
  });

  it("a climb out of /compat through a name reaches none of the compat upstreams", async () => {
    const res = await send("/compat/vllm/../../openai/v1/chat/completions", "gpt-4o");
    expect(res.status).not.toBe(200);
    expect(allRequests(h)).toHaveLength(0);
  });

  it("a model id with '/' after the path's name is the upstream's own id (not a second name)", async () => {
    const res = await send("/compat/ollama/v1/chat/completions", "library/qwen3:8b");
    expect(res.status).toBe(200);
    expect(JSON.parse(h.fakes.ollama.requests[0]?.bodyText ?? "{}")).toMatchObject({ model: "library/qwen3:8b" });
    const row = await namedRow(h, String(res.headers["x-gatehouse-request-id"]));
    expect(row.model).toBe("ollama/library/qwen3:8b");
  });
});

describe("named compat upstreams: keys", () => {
  it("one upstream's key never goes to another, whichever upstreams a run of requests visits", async () => {
    for (const model of ["vllm/deepseek-chat", "ollama/qwen3:8b", "openrouter/aion-labs/aion-1.0-mini", "plain-default-model", "local/qwen3:8b", "vllm/deepseek-chat"]) {
      const res = await send("/compat/v1/chat/completions", model);
      expect([200, 401]).toContain(res.status);
    }
    expect(
      allRequests(h)
        .map((s) => s.fake)
        .sort(),
    ).toEqual(["default", "ollama", "ollama", "openrouter", "vllm", "vllm"]);
    expectOwnKeysOnly();
  });

  it("an upstream with no key configured is forwarded without one (keyOptional), never with the default's or another upstream's", async () => {
    const res = await send("/compat/v1/chat/completions", "local/qwen3:8b");
    // The fake (like any keyed server) answers 401 without a key: the gateway relays it.
    expect(res.status).toBe(401);
    expect(res.text).toContain("You didn't provide an API key");
    const seen = h.fakes.ollama.requests[0];
    expect(seen?.headers["authorization"]).toBeUndefined();
    expectOwnKeysOnly();
  });

  it("a pass-through path on /compat/<name>/ goes to that upstream with its key, unread", async () => {
    const res = await rawRequest(h.gateway.url, "POST", "/compat/vllm/v1/tokenize", auth, JSON.stringify({ model: "deepseek-chat", prompt: "hi" }));
    // The fake serves no /v1/tokenize: its 404 is relayed; what matters is who got the request, with which key.
    expect(res.status).toBe(404);
    expect(allRequests(h).map((s) => `${s.fake} ${s.request.path}`)).toEqual(["vllm /v1/tokenize"]);
    expectOwnKeysOnly();
    expect(h.fakes.vllm.requests[0]?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.vllm}`);
  });

  it("an upstream whose key's variable is unset is refused (not forwarded keyless), naming the variable", async () => {
    const res = await send("/compat/v1/chat/completions", "broken/deepseek-chat");
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: "not_configured", type: "server_error" } });
    expect(res.text).toContain("BROKEN_UPSTREAM_KEY_UNSET");
    expect(allRequests(h)).toHaveLength(0);
  });
});

describe("named compat upstreams: a caller allowed only compat/ollama/*", () => {
  beforeAll(() => {
    h.withConfig(["policy:", "  defaultGroup: gpu-box", "  groups:", '    gpu-box: { models: ["compat/ollama/*"] }', "  routing:", "    aliases:", '      fast: ["compat/vllm/deepseek-chat", "compat/ollama/qwen3:8b"]', ""].join("\n"));
  });
  afterAll(() => h.withConfig(""));

  it("cannot reach vllm by any spelling; nothing reaches vllm's fake", async () => {
    for (const [target, model] of [
      ["/compat/v1/chat/completions", "vllm/deepseek-chat"],
      ["/compat/vllm/v1/chat/completions", "deepseek-chat"],
      ["/compat/%76llm/v1/chat/completions", "deepseek-chat"],
      ["/compat/ollama/../vllm/v1/chat/completions", "deepseek-chat"],
      ["/compat/ollama/%2e%2e/vllm/v1/chat/completions", "deepseek-chat"],
      ["/compat//vllm/v1/chat/completions", "deepseek-chat"],
      ["/compat/chat/completions", "vllm/deepseek-chat"],
      ["/compat/v1/chat/completions", "deepseek-chat"],
    ] as const) {
      const res = await send(target, model);
      expect(res.status, `${target} ${model}`).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ error: { type: "permission_error" } });
    }
    for (const [target, model] of [
      ["/compat/ollama/v1/chat/completions", "vllm/deepseek-chat"],
      ["/compat/v1/chat/completions", "VLLM/deepseek-chat"],
      ["/compat/VLLM/v1/chat/completions", "deepseek-chat"],
    ] as const) {
      const res = await send(target, model);
      expect([400, 404], `${target} ${model}`).toContain(res.status);
    }
    expect(h.fakes.vllm.requests).toHaveLength(0);
    expect(h.fakes.default.requests).toHaveLength(0);
  });

  it("requests naming no model are checked as any model of their upstream: vllm's model list is refused, ollama's and the gateway's list are served", async () => {
    const get = (target: string) => rawRequest(h.gateway.url, "GET", target, { authorization: `Bearer ${DEV_TOKEN}` });
    for (const target of ["/compat/vllm/v1/models", "/compat/%76llm/v1/models", "/compat/ollama/../vllm/v1/models", "/compat/vllm/v1/models/deepseek-chat", "/compat/v1/models/deepseek-chat"]) {
      const res = await get(target);
      expect(res.status, target).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ error: { type: "permission_error" } });
    }
    // A pass-through path names no model either: vllm's (and the default's) are refused.
    for (const target of ["/compat/vllm/v1/tokenize", "/compat/v1/tokenize"]) {
      const res = await rawRequest(h.gateway.url, "POST", target, auth, "{}");
      expect(res.status, target).toBe(403);
    }
    expect(h.fakes.vllm.requests).toHaveLength(0);
    expect(h.fakes.default.requests).toHaveLength(0);
    expect((await get("/compat/ollama/v1/models")).status).toBe(200);
    expect(h.fakes.ollama.requests.map((r) => r.path)).toEqual(["/v1/models"]);
    expect((await get("/compat/v1/models")).status).toBe(200);
    expectOwnKeysOnly();
  });

  it("is served by ollama, and an alias whose first entry is vllm skips it for the ollama entry", async () => {
    const direct = await send("/compat/ollama/v1/chat/completions", "qwen3:8b");
    expect(direct.status).toBe(200);
    const alias = await send("/compat/v1/chat/completions", "fast");
    expect(alias.status).toBe(200);
    expect(h.fakes.vllm.requests).toHaveLength(0);
    expect(h.fakes.ollama.requests.map((r) => JSON.parse(r.bodyText) as { model: string }).map((b) => b.model)).toEqual(["qwen3:8b", "qwen3:8b"]);
    expectOwnKeysOnly();
  });
});

describe("named compat upstreams without an unnamed default", () => {
  let bare: NamedHarness;
  beforeAll(async () => {
    bare = await startNamedHarness({ withDefault: false });
  }, 60_000);
  afterAll(() => bare.close());

  it("a model with no configured name is refused with the names (not forwarded anywhere)", async () => {
    const res = await rawRequest(bare.gateway.url, "POST", "/compat/v1/chat/completions", auth, chatBody("deepseek-chat"));
    expect(res.status).toBe(404);
    const body = JSON.parse(res.text) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("names no compat upstream");
    expect(body.error.message).toContain("vllm, ollama, openrouter, local, broken");
    expect(allRequests(bare)).toHaveLength(0);
  });

  it("named models still work", async () => {
    const res = await rawRequest(bare.gateway.url, "POST", "/compat/v1/chat/completions", auth, chatBody("vllm/deepseek-chat"));
    expect(res.status).toBe(200);
    expect(bare.fakes.vllm.requests[0]?.headers["authorization"]).toBe(`Bearer ${UPSTREAM_KEYS.vllm}`);
  });
});
