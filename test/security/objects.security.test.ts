import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { orgConfigSchema, type OrgConfig } from "../../src/config/index.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";
import { PEOPLE, peopleAuthenticator } from "./people.ts";
import { rawRequest, type RawResponse } from "./raw-http.ts";

/**
 * Provider-side objects live under the organisation's one key: at the provider every
 * caller's files and batches are everyone's. With files and batches enabled, the gateway
 * keeps who created each object and lets only that caller (or an admin group) list, read
 * or delete it; a batch may only read its creator's file.
 */

type Person = keyof typeof PEOPLE;

let h: Harness;
let base: OrgConfig;
beforeAll(async () => {
  h = await startHarness({ authenticator: peopleAuthenticator });
  base = h.gateway.deps.config.current();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  const objects = { allow: ["files", "batches"], adminGroups: ["platform"] };
  h.gateway.deps.config.replace(orgConfigSchema.parse({ ...base, providers: { ...base.providers, openai: { ...base.providers.openai, objects }, anthropic: { ...base.providers.anthropic, objects } } }));
  h.fake.reset();
});

function call(who: Person, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<RawResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${PEOPLE[who].token}` };
  if (path.startsWith("/anthropic")) headers["anthropic-version"] = "2023-06-01";
  let text: string | undefined;
  if (body !== undefined) {
    headers["content-type"] = contentType;
    text = typeof body === "string" ? body : JSON.stringify(body);
  }
  return rawRequest(h.gateway.url, method, path, headers, text);
}

const BOUNDARY = "----gatehouse-test-boundary";
const multipart = (name: string) =>
  [`--${BOUNDARY}`, 'Content-Disposition: form-data; name="purpose"', "", "batch", `--${BOUNDARY}`, `Content-Disposition: form-data; name="file"; filename="${name}"`, "Content-Type: application/jsonl", "", '{"custom_id":"1"}', `--${BOUNDARY}--`, ""].join(
    "\r\n",
  );

async function upload(who: Person, prefix: "/openai/v1" | "/anthropic/v1"): Promise<string> {
  const res = await call(who, "POST", `${prefix}/files`, multipart(`${who}.jsonl`), `multipart/form-data; boundary=${BOUNDARY}`);
  expect(res.status, res.text).toBe(200);
  return (JSON.parse(res.text) as { id: string }).id;
}

const ids = (res: RawResponse) => (JSON.parse(res.text) as { data: Array<{ id: string }> }).data.map((o) => o.id);

describe("OpenAI files and batches", () => {
  it("each caller sees, reads and deletes only their own; an admin reaches all", async () => {
    const aliceFile = await upload("alice", "/openai/v1");
    const bobFile = await upload("bob", "/openai/v1");
    // The upload reached the provider as sent (multipart, unread).
    expect(h.fake.requests[0]?.headers["content-type"]).toBe(`multipart/form-data; boundary=${BOUNDARY}`);
    expect(h.fake.objects.size).toBe(2);

    expect(ids(await call("alice", "GET", "/openai/v1/files"))).toEqual([aliceFile]);
    expect(ids(await call("bob", "GET", "/openai/v1/files"))).toEqual([bobFile]);
    expect(new Set(ids(await call("admin", "GET", "/openai/v1/files")))).toEqual(new Set([aliceFile, bobFile]));

    const forwardedBefore = h.fake.requests.length;
    for (const [method, path] of [
      ["GET", `/openai/v1/files/${aliceFile}`],
      ["GET", `/openai/v1/files/${aliceFile}/content`],
      ["DELETE", `/openai/v1/files/${aliceFile}`],
      ["GET", `/openai/v1/files/${aliceFile.slice(0, -1)}%${aliceFile.charCodeAt(aliceFile.length - 1).toString(16)}`],
    ] as const) {
      const res = await call("bob", method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(res.text)).toMatchObject({ error: { type: "invalid_request_error" } });
    }
    expect(h.fake.requests.length).toBe(forwardedBefore);
    expect(h.fake.objects.get(aliceFile)).toBeDefined();

    expect((await call("alice", "GET", `/openai/v1/files/${aliceFile}`)).status).toBe(200);
    // A batch may only read its creator's file.
    const stolen = await call("bob", "POST", "/openai/v1/batches", { input_file_id: aliceFile, endpoint: "/v1/chat/completions", completion_window: "24h" });
    expect(stolen.status).toBe(404);
    const batch = await call("alice", "POST", "/openai/v1/batches", { input_file_id: aliceFile, endpoint: "/v1/chat/completions", completion_window: "24h" });
    expect(batch.status, batch.text).toBe(200);
    const batchId = (JSON.parse(batch.text) as { id: string }).id;
    expect(ids(await call("bob", "GET", "/openai/v1/batches"))).toEqual([]);
    expect(ids(await call("alice", "GET", "/openai/v1/batches"))).toEqual([batchId]);
    expect((await call("bob", "GET", `/openai/v1/batches/${batchId}`)).status).toBe(404);

    // Deletion by the owner works and forgets the owner; an admin may delete anyone's.
    expect((await call("alice", "DELETE", `/openai/v1/files/${aliceFile}`)).status).toBe(200);
    expect((await call("alice", "GET", `/openai/v1/files/${aliceFile}`)).status).toBe(404);
    expect((await call("admin", "DELETE", `/openai/v1/files/${bobFile}`)).status).toBe(200);
    expect(h.fake.objects.get(bobFile)).toBeUndefined();
  });

  it("keeps owners in the store, so they survive a restart and other instances agree", async () => {
    const file = await upload("alice", "/openai/v1");
    // The owner row is written off the request's path: wait for it to appear (ends as soon as
    // it does; a fixed 50 ms was a guess at the store's speed).
    const stored = () => h.gateway.deps.db.selectFrom("provider_objects").selectAll().where("object_id", "=", file).executeTakeFirst();
    await expect.poll(stored, { timeout: 30_000, interval: 10 }).toMatchObject({ provider: "openai", kind: "files", owner_id: PEOPLE.alice.caller.id });
  });

  it("callers under a budget cannot create batches, which are not metered request by request", async () => {
    const current = h.gateway.deps.config.current();
    h.gateway.deps.config.replace(orgConfigSchema.parse({ ...current, policy: { groups: { eng: { models: ["openai/*"], budget: { perUser: { dailyUsd: 5 } } } } } }));
    const file = await upload("alice", "/openai/v1");
    const res = await call("alice", "POST", "/openai/v1/batches", { input_file_id: file, endpoint: "/v1/chat/completions", completion_window: "24h" });
    expect(res.status).toBe(403);
    expect(res.text).toContain("Batches are not metered");
  });

  it("stays refused when the org has not enabled the kind", async () => {
    h.gateway.deps.config.replace(base);
    const res = await call("alice", "POST", "/openai/v1/files", multipart("x"), `multipart/form-data; boundary=${BOUNDARY}`);
    expect(res.status).toBe(403);
    expect(res.text).toContain("objects.allow");
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe("Anthropic message batches and files", () => {
  it("each caller sees and reaches only their own batches and files", async () => {
    const request = { custom_id: "a", params: { model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "hi" }] } };
    const created = await call("alice", "POST", "/anthropic/v1/messages/batches", { requests: [request] });
    expect(created.status, created.text).toBe(200);
    const batchId = (JSON.parse(created.text) as { id: string }).id;
    const bobs = await call("bob", "POST", "/anthropic/v1/messages/batches", { requests: [request] });
    const bobBatch = (JSON.parse(bobs.text) as { id: string }).id;

    expect(ids(await call("alice", "GET", "/anthropic/v1/messages/batches"))).toEqual([batchId]);
    expect(ids(await call("bob", "GET", "/anthropic/v1/messages/batches"))).toEqual([bobBatch]);
    expect(new Set(ids(await call("admin", "GET", "/anthropic/v1/messages/batches")))).toEqual(new Set([batchId, bobBatch]));
    for (const [method, path] of [
      ["GET", `/anthropic/v1/messages/batches/${batchId}`],
      ["GET", `/anthropic/v1/messages/batches/${batchId}/results`],
      ["POST", `/anthropic/v1/messages/batches/${batchId}/cancel`],
      ["DELETE", `/anthropic/v1/messages/batches/${batchId}`],
    ] as const) {
      const res = await call("bob", method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(res.text)).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    }
    expect((await call("alice", "GET", `/anthropic/v1/messages/batches/${batchId}`)).status).toBe(200);

    const file = await upload("alice", "/anthropic/v1");
    expect(ids(await call("bob", "GET", "/anthropic/v1/files"))).toEqual([]);
    expect((await call("bob", "DELETE", `/anthropic/v1/files/${file}`)).status).toBe(404);
    expect((await call("admin", "DELETE", `/anthropic/v1/files/${file}`)).status).toBe(200);
  });
});
