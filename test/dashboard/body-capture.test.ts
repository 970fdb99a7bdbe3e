import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCaptureRetention } from "../../src/adapters/node/capture-retention.ts";
import { orgConfigSchema, type OrgConfig } from "../../src/config/index.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { REDACTED } from "../../src/proxy/index.ts";
import { CLIENT_TOKEN, KEYS, rowWhenWritten, startHarness, type Harness } from "../gateway/harness.ts";

// Body capture through a real gateway (real SQLite, node:http) and the wire-exact fake
// providers: off by default, redacted, capped, never holding the stream back, never for
// zero data retention models, deleted after the retention; shown on the detail page in
// headless Chromium, escaped.

let h: Harness;
let browser: Browser;
let base: OrgConfig;

const SECRETS = {
  openaiStyle: "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2",
  serviceAccount: "ghsa_c2VydmljZS1hY2NvdW50LWtleS1mb3ItdGVzdHM",
  aws: "AKIAIOSFODNN7EXAMPLE",
  password: "hunter2-correct-horse",
};

function withCapture(capture: Record<string, unknown> | undefined, policy?: Record<string, unknown>): void {
  h.gateway.deps.config.replace(orgConfigSchema.parse({ providers: base.providers, pricing: base.pricing, ...(capture ? { bodyCapture: capture } : {}), ...(policy ? { policy } : {}) }));
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, ...headers }, body: JSON.stringify(body) });
}

async function captured(requestId: string) {
  await h.gateway.capture.flush();
  return h.gateway.deps.db.selectFrom("captured_bodies").selectAll().where("request_id", "=", requestId).executeTakeFirst();
}

/** Waits until the request's bodies are stored (the writer runs a moment after the response), up to 30 s. */
async function capturedWhenWritten(requestId: string) {
  let row: Awaited<ReturnType<typeof captured>>;
  await expect
    .poll(
      async () => {
        row = await captured(requestId);
        return row !== undefined;
      },
      { timeout: 30_000 },
    )
    .toBe(true);
  return row as NonNullable<typeof row>;
}

const gate = () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  return { held, release };
};

beforeAll(async () => {
  h = await startHarness();
  base = h.gateway.deps.config.current();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe("body capture", { timeout: 120_000 }, () => {
  it("is off by default: no bodies are kept", async () => {
    withCapture(undefined);
    const res = await post("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "hello" }] });
    expect(res.status).toBe(200);
    const id = res.headers.get("x-gatehouse-request-id") ?? "";
    await rowWhenWritten(h, id);
    expect(await captured(id)).toBeUndefined();
    // Turned on globally but off for the route: still nothing.
    withCapture({ enabled: true, routes: { openai: { enabled: false } } });
    const res2 = await post("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "hello" }] });
    const id2 = res2.headers.get("x-gatehouse-request-id") ?? "";
    await rowWhenWritten(h, id2);
    expect(await captured(id2)).toBeUndefined();
  });

  it("captures a stream without holding it back, redacted: every chunk reaches the client while later ones are still upstream", async () => {
    withCapture({ enabled: true, maxBodyBytes: 4096 });
    const gates = Array.from({ length: 3 }, gate);
    h.fake.enqueue({ chunks: 3, text: `answer with ${SECRETS.openaiStyle} inside`, holdChunkUntil: (i) => gates[i]?.held ?? Promise.resolve() });
    const prompt = [
      `my keys: ${SECRETS.openaiStyle} ${SECRETS.serviceAccount} AWS_ACCESS_KEY_ID=${SECRETS.aws}`,
      `the org's own key ${KEYS.google} and ${KEYS.openai}`,
      `config: {"db_password": "${SECRETS.password}"}`,
      `<script>alert("x")</script> '"quotes"'`,
    ].join("\n");
    const res = await post("/openai/v1/chat/completions", { model: "gpt-5", stream: true, messages: [{ role: "user", content: prompt }] });
    expect(res.status).toBe(200);
    const id = res.headers.get("x-gatehouse-request-id") ?? "";
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readUntil = async (done: (t: string) => boolean) => {
      while (!done(text)) {
        const { done: ended, value } = await reader.read();
        if (ended) throw new Error(`stream ended early: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    const deltas = () => (text.match(/"content":"[^"]+"/g) ?? []).length;
    // The role chunk arrives while every delta is held upstream; each delta as it is released.
    await readUntil((t) => t.includes('"role":"assistant"'));
    expect(deltas()).toBe(0);
    for (const [i, g] of gates.entries()) {
      g.release();
      await readUntil(() => deltas() === i + 1);
    }
    await readUntil((t) => t.includes("[DONE]"));

    const row = await capturedWhenWritten(id);
    const stored = `${row.request_body ?? ""}\n${row.response_body ?? ""}`;
    for (const secret of [...Object.values(SECRETS), KEYS.google, KEYS.openai]) expect(stored, secret).not.toContain(secret);
    // The fake streams the answer's key in three deltas ("sk-pr", "oj-Zz9…", "…Ss2"): no piece of it stays.
    expect(row.response_body).not.toContain(SECRETS.openaiStyle.slice(8, 16));
    expect(row.response_body).not.toContain(SECRETS.openaiStyle.slice(-8));
    expect(row.request_body).toContain(REDACTED);
    expect(row.response_body).toContain(REDACTED);
    expect(row.response_body).toContain("data: [DONE]");
    expect(Number(row.redactions)).toBeGreaterThanOrEqual(7);
    expect(Number(row.request_truncated)).toBe(0);
    // As the upstream sent it: the usage chunk the gateway asked for (and hid from the client) included.
    expect(Number(row.response_bytes)).toBeGreaterThanOrEqual(Buffer.byteLength(text));

    // The detail page shows them, escaped: the prompt's markup is text, not elements.
    const context = await browser.newContext();
    await context.addCookies([{ name: "gatehouse_token", value: CLIENT_TOKEN, url: `${h.gateway.url}/dashboard` }]);
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => void (dialogs.push(d.message()), d.dismiss()));
    // The detail page is the ledger row's: wait for it too (the bodies' writer may land first).
    await rowWhenWritten(h, id);
    await page.goto(`${h.gateway.url}/dashboard/requests/${id}`);
    const requestText = (await page.locator('[data-test="request-body-text"]').textContent()) ?? "";
    expect(requestText).toContain('<script>alert(\\"x\\")</script>');
    expect(requestText).toContain(REDACTED);
    for (const secret of Object.values(SECRETS)) expect(requestText).not.toContain(secret);
    expect(await page.locator("main script").count()).toBe(0);
    expect(await page.locator('[data-test="response-body-text"]').textContent()).toContain("[DONE]");
    expect(dialogs).toEqual([]);
    await context.close();
  });

  it("cuts a body at maxBodyBytes, flags it truncated, and leaves no part of a key that straddles the cut", async () => {
    withCapture({ enabled: true, maxBodyBytes: 1024 });
    const opening = JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "" }] }).indexOf('""') + 1;
    // The key starts about 10 bytes before the cap of the forwarded body and runs 10 past it.
    const key = "AKIAZZZZYYYYXXXXWWWW";
    const straddling = `${"a ".repeat(Math.floor((1024 - 10 - opening) / 2))}${key} ${"b".repeat(3000)}`;
    const res = await post("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: straddling }] });
    expect(res.status).toBe(200);
    const id = res.headers.get("x-gatehouse-request-id") ?? "";
    const row = await capturedWhenWritten(id);
    expect(Number(row.request_truncated)).toBe(1);
    expect(Number(row.request_bytes)).toBeGreaterThan(4000);
    expect(Buffer.byteLength(row.request_body ?? "")).toBeLessThanOrEqual(1024);
    // Not the key, and not its first characters either.
    expect(row.request_body).not.toContain(key.slice(0, 8));
    expect(Number(row.response_truncated)).toBe(0);

    const context = await browser.newContext();
    await context.addCookies([{ name: "gatehouse_token", value: CLIENT_TOKEN, url: `${h.gateway.url}/dashboard` }]);
    const page = await context.newPage();
    // The detail page is the ledger row's: wait for it too (the bodies' writer may land first).
    await rowWhenWritten(h, id);
    await page.goto(`${h.gateway.url}/dashboard/requests/${id}`);
    expect(await page.locator('[data-test="request-body"]').getAttribute("data-truncated")).toBe("1");
    expect(await page.locator('[data-test="request-body-truncated"]').count()).toBe(1);
    await context.close();
  });

  it("never captures a zero data retention model, nor a route turned off, nor a refused request", async () => {
    withCapture({ enabled: true, routes: { anthropic: { enabled: false } } }, { groups: { dev: { models: ["openai/*", "anthropic/*"] } }, zdr: { models: ["openai/gpt-5-mini"] } });
    const zdr = await post("/openai/v1/chat/completions", { model: "gpt-5-mini", messages: [{ role: "user", content: "private" }] });
    expect(zdr.status).toBe(200);
    const plain = await post("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "not private" }] });
    expect(plain.status).toBe(200);
    const off = await post("/anthropic/v1/messages", { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }, { "anthropic-version": "2023-06-01" });
    expect(off.status).toBe(200);
    const refused = await post("/google-ai-studio/v1beta/models/gemini-2.5-pro:generateContent", { contents: [{ role: "user", parts: [{ text: "hi" }] }] });
    expect(refused.status).toBe(403);
    const [zdrId, plainId, offId, refusedId] = [zdr, plain, off, refused].map((r) => r.headers.get("x-gatehouse-request-id") ?? "");
    for (const id of [zdrId, plainId, offId, refusedId]) await rowWhenWritten(h, id ?? "");
    await capturedWhenWritten(plainId ?? "");
    expect(await captured(zdrId ?? "")).toBeUndefined();
    expect(await captured(offId ?? "")).toBeUndefined();
    expect(await captured(refusedId ?? "")).toBeUndefined();
  });

  it("deletes bodies past the retention and keeps newer ones (the Node timer)", async () => {
    withCapture({ enabled: true, retentionHours: 1 });
    const now = Date.now();
    const row = (id: string, ts: number) => ({ request_id: id, ts, request_body: "{}", request_bytes: 2, request_truncated: 0, response_body: "{}", response_bytes: 2, response_truncated: 0, request_note: null, response_note: null, redactions: 0 });
    await h.gateway.deps.db
      .insertInto("captured_bodies")
      .values([row("old-1", now - 2 * 3_600_000), row("old-2", now - 3_600_000 - 5_000), row("new-1", now - 3_600_000 + 60_000), row("new-2", now)])
      .execute();
    const stop = startCaptureRetention(h.gateway.capture, silentLogger, 50);
    try {
      await expect.poll(async () => (await h.gateway.deps.db.selectFrom("captured_bodies").select("request_id").where("request_id", "like", "old-%").execute()).length, { timeout: 30_000 }).toBe(0);
    } finally {
      await stop();
    }
    const left = await h.gateway.deps.db.selectFrom("captured_bodies").select("request_id").where("request_id", "like", "new-%").execute();
    expect(left.map((r) => r.request_id).sort()).toEqual(["new-1", "new-2"]);
  });

  it("a store that refuses the bodies costs the request nothing: the answer and its ledger row are unaffected", async () => {
    withCapture({ enabled: true });
    const own = await startHarness();
    try {
      own.gateway.deps.config.replace(orgConfigSchema.parse({ providers: base.providers, pricing: base.pricing, bodyCapture: { enabled: true } }));
      await own.gateway.deps.db.schema.dropTable("captured_bodies").execute();
      const res = await fetch(`${own.gateway.url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}` },
        body: JSON.stringify({ model: "gpt-5", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      const id = res.headers.get("x-gatehouse-request-id") ?? "";
      expect((await rowWhenWritten(own, id)).status).toBe(200);
      await own.gateway.capture.flush();
      expect(own.gateway.capture.dropped).toBe(1);
    } finally {
      await own.close();
    }
  });
});
