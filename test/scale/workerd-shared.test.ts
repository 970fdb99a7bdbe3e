import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/index.ts";
import type { DurableObjectNamespace } from "../../src/adapters/workers/bindings.ts";
import { anonymousIdKvKey } from "../../src/adapters/workers/identity-kv.ts";
import { startLocalWorker, type LocalWorker } from "./workerd.ts";

/**
 * What every isolate of a Workers deployment shares, shown with two workers started one after
 * the other on the same persisted D1, KV and Durable Object state (the second is a cold
 * isolate that never saw the first one's memory): anonymous ids cached in KV, and rate
 * windows in the counters object. Callers authenticate with JWTs signed by a test IdP
 * whose JWKS this process serves (jwt mode, as behind Cloudflare Access).
 */
const OPENAI_KEY = "sk-openai-workerd-key-002";
const ISSUER = "https://idp.workerd.test";
const AUDIENCE = "gatehouse-workerd";
const RPM = 4;

let fake: FakeUpstream;
let jwksServer: Server;
let privateKey: CryptoKey;
let persistRoot: string;
let vars: Record<string, string>;
let worker: LocalWorker | undefined;
let jtiSeq = 0;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: { openai: OPENAI_KEY } });
  const pair = await generateKeyPair("ES256");
  privateKey = pair.privateKey;
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "test-key", alg: "ES256", use: "sig" };
  jwksServer = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [publicJwk] })));
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  const address = jwksServer.address();
  const jwksPort = typeof address === "object" && address ? address.port : 0;
  persistRoot = mkdtempSync(join(tmpdir(), "gatehouse-workerd-persist-"));
  vars = {
    GATEHOUSE_AUTH_MODE: "jwt",
    GATEHOUSE_PUBLIC_URL: "https://gatehouse.example.com",
    GATEHOUSE_JWT_JWKS_URL: `http://127.0.0.1:${jwksPort}/jwks.json`,
    GATEHOUSE_JWT_ISSUER: ISSUER,
    GATEHOUSE_JWT_AUDIENCE: AUDIENCE,
    GATEHOUSE_LOG_LEVEL: "warn",
    OPENAI_API_KEY: OPENAI_KEY,
    GATEHOUSE_ORG_CONFIG: JSON.stringify({
      providers: { openai: { upstream: `${fake.url}/v1` } },
      policy: { groups: { eng: { models: ["openai/*"], rateLimit: { perUser: { requestsPerMinute: RPM } } } } },
    }),
  };
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await fake?.close();
  await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
  if (persistRoot) rmSync(persistRoot, { recursive: true, force: true });
});

/** A fresh isolate of the same deployment: the previous worker is stopped first. */
async function coldIsolate(): Promise<LocalWorker> {
  await worker?.close();
  worker = await startLocalWorker(vars, { persistRoot });
  return worker;
}

/** A new token each time (own jti), so the worker's verified-token cache never answers. */
function jwtFor(email: string): Promise<string> {
  return new SignJWT({ email, groups: ["eng"] }).setProtectedHeader({ alg: "ES256", kid: "test-key" }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(`idp|${email}`).setJti(`jti-${++jtiSeq}`).setIssuedAt().setExpirationTime("10m").sign(privateKey);
}

async function chat(w: LocalWorker, token: string, content = "hi"): Promise<Response> {
  return fetch(`${w.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content }] }),
  });
}

/** The anonymous id the ledger recorded for a request (written from waitUntil: polled). */
async function callerOf(w: LocalWorker, res: Response): Promise<string> {
  expect(res.status).toBe(200);
  await res.text();
  const requestId = res.headers.get("x-gatehouse-request-id") as string;
  const db = await w.mf.getD1Database("DB");
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const row = await db.prepare("select caller_id from ledger where request_id = ?").bind(requestId).first<{ caller_id: string }>();
    if (row) return row.caller_id;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ledger row for ${requestId}`);
}

async function kvOf(w: LocalWorker): Promise<{ get(key: string): Promise<string | null>; delete(key: string): Promise<void> }> {
  // Miniflare's proxies are typed with workers-types, which this project does not install.
  return (await w.mf.getKVNamespace("CACHE")) as unknown as { get(key: string): Promise<string | null>; delete(key: string): Promise<void> };
}

// Each test starts fresh Miniflare isolates: generous per-test time on a loaded 2-core machine.
describe("Gatehouse in workerd: state shared by every isolate", { timeout: 120_000 }, () => {
  let aliceId = "";

  it("maps an email to one anonymous id, stored in D1 and cached in KV", async () => {
    const w = await coldIsolate();
    aliceId = await callerOf(w, await chat(w, await jwtFor("Alice@Example.com")));
    expect(aliceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await callerOf(w, await chat(w, await jwtFor("alice@example.com")))).toBe(aliceId);
    const db = await w.mf.getD1Database("DB");
    const rows = await db.prepare("select id from identities where email = ?").bind("alice@example.com").all<{ id: string }>();
    expect(rows.results).toEqual([{ id: aliceId }]);
    // The KV key is a hash: the namespace holds no email in clear text.
    const key = await anonymousIdKvKey("alice@example.com");
    expect(key).not.toContain("alice");
    expect(await (await kvOf(w)).get(key)).toBe(aliceId);
  });

  it("serves a cold isolate's lookup from KV, and falls back to D1 (the truth) on a KV miss", async () => {
    const w = await coldIsolate();
    const db = await w.mf.getD1Database("DB");
    const kv = await kvOf(w);
    const key = await anonymousIdKvKey("alice@example.com");
    // Probe: with D1's row moved aside, only KV can still know alice's id. Had this isolate
    // asked D1, it would have found nothing and inserted a new random id.
    await db.prepare("update identities set email = ? where email = ?").bind("moved-aside@probe", "alice@example.com").run();
    try {
      expect(await callerOf(w, await chat(w, await jwtFor("alice@example.com")))).toBe(aliceId);
      const inserted = await db.prepare("select count(*) as n from identities where email = ?").bind("alice@example.com").first<{ n: number }>();
      expect(inserted?.n).toBe(0);
    } finally {
      await db.prepare("update identities set email = ? where email = ?").bind("alice@example.com", "moved-aside@probe").run();
    }

    // A KV miss (entry gone, or not yet visible at this location) asks D1 and refills KV.
    await kv.delete(key);
    const w2 = await coldIsolate();
    expect(await callerOf(w2, await chat(w2, await jwtFor("ALICE@example.com")))).toBe(aliceId);
    expect(await (await kvOf(w2)).get(key)).toBe(aliceId);
    const db2 = await w2.mf.getD1Database("DB");
    const count = await db2.prepare("select count(*) as n from identities where email = ?").bind("alice@example.com").first<{ n: number }>();
    expect(count?.n).toBe(1);
  });

  it("holds a per-user rate limit in the counters object, across isolates", async () => {
    const w = await coldIsolate();
    const token = await jwtFor("bob@example.com");
    const first = await Promise.all(Array.from({ length: RPM }, (_, i) => chat(w, token, `rate ${i}`)));
    await Promise.all(first.map((r) => r.text()));
    expect(first.map((r) => r.status)).toEqual(Array.from({ length: RPM }, () => 200));
    const over = await chat(w, token, "one too many");
    expect(over.status).toBe(429);
    const retryAfter = Number(over.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);
    const error = (await over.json()) as { error: { message: string; type: string } };
    expect(error.error.message).toContain(`your requests per minute (${RPM})`);
    expect(typeof error.error.type).toBe("string");

    // A cold isolate has no memory of bob's requests, yet refuses him too: the window is in the object.
    const cold = await coldIsolate();
    const again = await chat(cold, await jwtFor("bob@example.com"), "still too many");
    expect(again.status).toBe(429);
    await again.text();
    const db = await cold.mf.getD1Database("DB");
    const bob = await db.prepare("select id from identities where email = ?").bind("bob@example.com").first<{ id: string }>();
    const ns = (await cold.mf.getDurableObjectNamespace("COUNTERS")) as unknown as DurableObjectNamespace;
    const probe = await ns.get(ns.idFromName("global")).fetch("https://counters/rate/take", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ claims: [{ key: `user:${bob?.id ?? ""}:rpm`, limit: RPM, amount: 1, label: "probe" }], now: Date.now() }),
    });
    expect(((await probe.json()) as { ok: boolean }).ok).toBe(false);
    expect(fake.requests.filter((r) => r.bodyText.includes('"content":"rate ')).length).toBe(RPM);
    expect(fake.requests.some((r) => r.bodyText.includes("too many"))).toBe(false);
  });
});
