import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import { GatewayError } from "../../src/core/errors.ts";
import { ledgerRows, startHarness, type Harness } from "./harness.ts";

/**
 * Issue 11 item 9: one caller holding many requests must not queue another's. The pool is
 * 6 sockets and the per-caller cap 4, scaled down from 1,024 and 64: alice opens 10 requests
 * the upstream holds; 4 are forwarded, 6 refused with 429 naming the cap, and bob's request
 * finds a free socket and is answered while alice's are still held.
 */
const CAP = 4;
const POOL = 6;
const callers: Record<string, Caller> = {
  "token-alice-0123456789": { id: "00000000-0000-4000-8000-00000000a11c", email: "alice@example.com", groups: [], team: undefined, tokenId: undefined },
  "token-bob-0123456789ab": { id: "00000000-0000-4000-8000-000000000b0b", email: "bob@example.com", groups: [], team: undefined, tokenId: undefined },
};
const authenticator: Authenticator = {
  authenticate(headers) {
    const caller = callers[extractClientToken(headers) ?? ""];
    if (!caller) return Promise.reject(new GatewayError("unauthenticated", "unknown test token"));
    return Promise.resolve(caller);
  },
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ authenticator }, { GATEHOUSE_MAX_CONCURRENT_PER_CALLER: String(CAP), GATEHOUSE_UPSTREAM_MAX_SOCKETS: String(POOL) });
});
afterAll(async () => {
  await h.close();
});

function chat(token: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${h.gateway.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "hi" }] }),
    ...(signal ? { signal } : {}),
  });
}

describe("per-caller concurrency cap", () => {
  it("one caller's held requests are capped with 429 and never queue another caller's request", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Only the admitted requests reach the upstream; bob's then gets the default answer.
    for (let i = 0; i < CAP; i++) h.fake.enqueue({ holdHeadersUntil: held });
    const alice = Array.from({ length: 10 }, () => chat("token-alice-0123456789"));
    // The refusals answer at once; the admitted four wait on the upstream.
    const settledEarly: Response[] = [];
    for (const pending of alice) void pending.then((res) => settledEarly.push(res));
    await expect.poll(() => settledEarly.length, { timeout: 20_000 }).toBe(10 - CAP);
    await expect.poll(() => h.fake.requests.length, { timeout: 20_000 }).toBe(CAP);
    for (const res of settledEarly) {
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("1");
      const body = (await res.json()) as { error: { type: string; message: string } };
      expect(body.error.type).toBe("rate_limit_exceeded");
      expect(body.error.message).toContain("Concurrency cap");
    }

    const metrics = h.gateway.governance.metrics.render();
    expect(metrics).toContain(`gatehouse_upstream_inflight ${CAP}`);
    expect(metrics).toContain(`gatehouse_upstream_pool_max_sockets ${POOL}`);
    expect(metrics).toContain('gatehouse_upstream_pool_sockets{state="active"} 4');
    expect(metrics).toContain("gatehouse_upstream_pool_queued 0");
    expect(metrics).toContain("gatehouse_caller_concurrency_saturated_callers 1");
    expect(metrics).toContain(`gatehouse_caller_concurrency_refused_total ${10 - CAP}`);

    // Bob is answered while every one of alice's admitted requests is still held upstream.
    const bob = await chat("token-bob-0123456789ab");
    expect(bob.status).toBe(200);
    expect(settledEarly.length).toBe(10 - CAP);

    release();
    const answered = await Promise.all(alice);
    expect(answered.filter((res) => res.status === 200)).toHaveLength(CAP);
    await Promise.all(answered.filter((res) => !res.bodyUsed).map((res) => res.arrayBuffer()));
    // Slots are given back: alice can send again.
    const again = await chat("token-alice-0123456789");
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    const rows = await ledgerRows(h);
    expect(rows.filter((r) => r.error_code === "rate_limited")).toHaveLength(10 - CAP);
    await expect.poll(() => h.gateway.governance.metrics.render().includes("gatehouse_upstream_inflight 0"), { timeout: 20_000 }).toBe(true);
  });

  it("an aborted request gives its slot back", async () => {
    h.fake.reset();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (let i = 0; i < CAP; i++) h.fake.enqueue({ holdHeadersUntil: held });
    const controllers = Array.from({ length: CAP }, () => new AbortController());
    const pending = controllers.map((c) => chat("token-alice-0123456789", c.signal).catch((err: unknown) => err));
    await expect.poll(() => h.fake.requests.length, { timeout: 20_000 }).toBe(CAP);
    for (const c of controllers) c.abort();
    await Promise.all(pending);
    await expect.poll(() => h.gateway.governance.metrics.render().includes("gatehouse_caller_concurrency_active_callers 0"), { timeout: 20_000 }).toBe(true);
    release();
    const res = await chat("token-alice-0123456789");
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});

describe("a request refused by the concurrency cap", () => {
  let budgeted: Harness;
  const body = { model: "gpt-budget", max_tokens: 100_000, messages: [{ role: "user", content: "hi" }] };
  // Each request reserves its worst case (~$0.1: body bytes + max_tokens at $1 per million); room for 5.
  const perRequest = (Buffer.byteLength(JSON.stringify(body)) + body.max_tokens) / 1e6;
  beforeAll(async () => {
    budgeted = await startHarness({ authenticator }, { GATEHOUSE_MAX_CONCURRENT_PER_CALLER: String(CAP) }, [
      "  openai/gpt-budget: { input: 1, output: 1 }",
      "policy:",
      "  defaultGroup: everyone",
      "  groups:",
      "    everyone:",
      '      models: ["openai/*"]',
      `      budget: { perUser: { dailyUsd: ${(perRequest * 5.5).toFixed(6)} } }`,
    ]);
  });
  afterAll(async () => {
    await budgeted.close();
  });

  it("gives its budget reservation back: the next request is refused by the cap, not by a budget it never spent", async () => {
    const send = () =>
      fetch(`${budgeted.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer token-alice-0123456789" },
        body: JSON.stringify(body),
      });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (let i = 0; i < CAP; i++) budgeted.fake.enqueue({ holdHeadersUntil: held, usage: { input: 10, output: 10 } });
    const first = Array.from({ length: CAP }, () => send());
    await expect.poll(() => budgeted.fake.requests.length, { timeout: 20_000 }).toBe(CAP);
    // Four reservations are held upstream; the fifth fits the budget, but not the cap.
    for (let i = 0; i < 6; i++) {
      const refused = await send();
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("Concurrency cap");
    }
    release();
    for (const res of await Promise.all(first)) {
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  });
});
