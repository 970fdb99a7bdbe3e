import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, rowWhenWritten } from "./harness.ts";
import { startAzureHarness, type AzureHarness } from "./azure-harness.ts";

/** The attacker's side of the Azure OpenAI route: what is refused before anything is forwarded, what is forwarded only canonical, and what never leaks. */
let h: AzureHarness;
beforeAll(async () => {
  h = await startAzureHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const ATTACKER_KEY = "attacker-own-azure-key-0000000000";
const auth = { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" };
const chat = JSON.stringify({ messages: [{ role: "user", content: "hi" }] });
const V = "?api-version=2024-10-21";
const seen: string[] = [];

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${h.gateway.url}${path}`, { method: "POST", headers: auth, body: chat, ...init });
  seen.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.clone().text()}`);
  return res;
}

/** A refusal in Azure's shape, `{"error":{"code","message"}}` and nothing else, and nothing reached the upstream. */
async function expectRefused(res: Response, status: number, code: string, message?: RegExp): Promise<void> {
  const json = (await res.json()) as { error?: Record<string, unknown> };
  expect(res.status, JSON.stringify(json)).toBe(status);
  expect(Object.keys(json)).toEqual(["error"]);
  expect(Object.keys(json.error ?? {})).toEqual(["code", "message"]);
  expect(json.error?.["code"]).toBe(code);
  if (message) expect(String(json.error?.["message"])).toMatch(message);
  expect(h.fake.requests).toHaveLength(0);
}

describe("azure-openai: deployments the gateway was not told of", () => {
  it("refuses an undeclared deployment, in the path and as the v1 model, saying what to declare (the resource has it: fail closed, it cannot be priced)", async () => {
    await expectRefused(await send(`/azure-openai/openai/deployments/unlisted/chat/completions${V}`), 404, "DeploymentNotFound", /providers\.azure-openai\.deployments/);
    await expectRefused(await send("/azure-openai/openai/v1/chat/completions", { body: JSON.stringify({ model: "unlisted", messages: [] }) }), 404, "DeploymentNotFound");
    await expectRefused(await send("/azure-openai/openai/v1/responses", { body: JSON.stringify({ model: "gpt-4o", input: "hi" }) }), 404, "DeploymentNotFound");
  });

  it("refuses case variants and names of inherited properties; matches names exactly", async () => {
    for (const name of ["Chat-Prod", "CHAT-PROD", "chat-prod.", "chat-prod ", "constructor", "toString", "__proto__"]) {
      const res = await send(`/azure-openai/openai/deployments/${name}/chat/completions${V}`);
      expect([400, 404], name).toContain(res.status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/DeploymentNotFound|BadRequest/);
      const v1 = await send("/azure-openai/openai/v1/chat/completions", { body: JSON.stringify({ model: name, messages: [] }) });
      expect([400, 404], name).toContain(v1.status);
    }
    // The v1 body's model is a name, not a path: "/" and ".." in it are no way to another deployment.
    for (const name of ["chat-prod/../unlisted", "unlisted/../chat-prod", "chat-prod/", "chat-prod:1"]) {
      await expectRefused(await send("/azure-openai/openai/v1/chat/completions", { body: JSON.stringify({ model: name, messages: [] }) }), 404, "DeploymentNotFound");
    }
    expect(h.fake.requests).toHaveLength(0);
  });

  it("refuses an encoded / or a climb out of the deployment segment, and resolves dot segments before it reads the deployment", async () => {
    await expectRefused(await send(`/azure-openai/openai/deployments/chat-prod%2F..%2Funlisted/chat/completions${V}`), 400, "BadRequest");
    await expectRefused(await send(`/azure-openai/openai/deployments/chat-prod%2funlisted/chat/completions${V}`), 400, "BadRequest");
    await expectRefused(await send(`/azure-openai/openai/deployments/chat-prod%5C..%5Cunlisted/chat/completions${V}`), 400, "BadRequest");
    // `..` (spelled or encoded) is resolved first: the deployment read is the deployment forwarded.
    await expectRefused(await send(`/azure-openai/openai/deployments/chat-prod/%2e%2e/unlisted/chat/completions${V}`), 404, "DeploymentNotFound");
    await expectRefused(await send(`/azure-openai/openai/deployments/chat-prod/../unlisted/chat/completions${V}`), 404, "DeploymentNotFound");
    await expectRefused(await send(`/azure-openai/%2e%2e/azure-openai/openai/deployments/unlisted/chat/completions${V}`), 404, "DeploymentNotFound");
    const res = await send(`/azure-openai/openai/deployments/unlisted/%2E%2E/./chat%2Dprod/chat/completions${V}`);
    expect(res.status).toBe(200);
    expect(h.fake.requests.map((r) => r.rawPath)).toEqual(["/openai/deployments/chat-prod/chat/completions"]);
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect([row.requested_model, row.model]).toEqual(["chat-prod", "gpt-4o-mini"]);
  });
});

describe("azure-openai: api-version", () => {
  it("refuses a deployments call without one in Azure's 404 shape, saying what to add", async () => {
    await expectRefused(await send("/azure-openai/openai/deployments/chat-prod/chat/completions"), 404, "404", /Resource not found.*\?api-version=2024-10-21/);
    await expectRefused(await send("/azure-openai/openai/deployments/chat-prod/embeddings", { body: JSON.stringify({ input: "x" }) }), 404, "404", /api-version/);
  });

  it("refuses one that is not date-shaped, given twice, or spelled another way", async () => {
    for (const query of [
      "?api-version=latest",
      "?api-version=2024-10-21;drop",
      "?api-version=2024-10-21%00",
      "?api-version=..%2F..",
      "?api-version=2024-10-21&api-version=2025-04-01-preview",
      "?Api-Version=2024-10-21",
      "?api-version=2024-10-21&deployment=unlisted",
    ]) {
      const res = await send(`/azure-openai/openai/deployments/chat-prod/chat/completions${query}`);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("BadRequest");
    }
    await expectRefused(await send("/azure-openai/openai/v1/chat/completions?api-version=2024-10-21", { body: JSON.stringify({ model: "chat-prod", messages: [] }) }), 400, "BadRequest", /api-version/);
  });
});

describe("azure-openai: credentials", () => {
  it("sends only the org key in api-key: the caller's api-key and Authorization never reach Azure", async () => {
    const variants: Array<Record<string, string>> = [
      { ...auth, "api-key": ATTACKER_KEY },
      { "content-type": "application/json", "cf-access-token": CLIENT_TOKEN, "api-key": ATTACKER_KEY, authorization: `Bearer ${ATTACKER_KEY}` },
      { "content-type": "application/json", "api-key": CLIENT_TOKEN },
    ];
    for (const headers of variants) {
      h.fake.reset();
      const res = await send(`/azure-openai/openai/deployments/chat-prod/chat/completions${V}`, { headers });
      expect(res.status).toBe(200);
      const arrived = h.fake.requests[0]?.headers ?? {};
      expect(arrived["api-key"]).toBe(h.fake.keys.azure);
      expect(arrived["authorization"]).toBeUndefined();
      expect(arrived["cf-access-token"]).toBeUndefined();
      expect(JSON.stringify(arrived)).not.toContain(ATTACKER_KEY);
      expect(JSON.stringify(arrived)).not.toContain(CLIENT_TOKEN);
    }
  });

  it("refuses a caller whose only credential is an Azure key of its own", async () => {
    await expectRefused(await send(`/azure-openai/openai/deployments/chat-prod/chat/completions${V}`, { headers: { "content-type": "application/json", "api-key": ATTACKER_KEY } }), 401, "401");
  });

  it("never serves the org key in discovery", async () => {
    const served = await (await fetch(`${h.gateway.url}/.well-known/opencode`)).text();
    expect(served).toContain("/azure-openai/openai/v1");
    expect(served).not.toContain(h.fake.keys.azure);
  });
});

describe("azure-openai: default deny", () => {
  it("refuses endpoints it does not declare, whatever their spelling", async () => {
    for (const path of [
      `/azure-openai/openai/deployments/chat-prod/completions${V}`,
      `/azure-openai/openai/deployments/chat-prod/chat/completions/${V}`,
      `/azure-openai/openai/deployments/chat-prod${V}`,
      `/azure-openai/openai/deployments/chat-prod/images/generations${V}`,
      `/azure-openai/openai/deployments/chat-prod/audio/transcriptions${V}`,
      `/azure-openai/openai/deployments/chat-prod/responses${V}`,
      `/azure-openai/openai/deployments/chat-prod/extensions/chat/completions${V}`,
      `/azure-openai/openai/Deployments/chat-prod/chat/completions${V}`,
      `/azure-openai/OpenAI/deployments/chat-prod/chat/completions${V}`,
      `/azure-openai/openai/responses?api-version=2025-03-01-preview`,
      `/azure-openai/openai/assistants${V}`,
      `/azure-openai/openai/v1/files`,
      `/azure-openai/openai/v1/batches`,
      `/azure-openai/openai/v1/fine_tuning/jobs`,
      `/azure-openai/openai/v1/vector_stores`,
      `/azure-openai/openai/chat/completions`,
      `/azure-openai/v1/chat/completions`,
    ]) {
      await expectRefused(await send(path), 404, "404");
    }
  });

  it("refuses other methods on a declared path, and methods never forwarded", async () => {
    for (const method of ["GET", "DELETE", "PATCH"]) await expectRefused(await send(`/azure-openai/openai/deployments/chat-prod/chat/completions${V}`, { method, body: method === "GET" ? null : chat }), 405, "405");
    for (const method of ["PUT", "OPTIONS"]) {
      const res = await send(`/azure-openai/openai/deployments/chat-prod/chat/completions${V}`, { method });
      expect([404, 405]).toContain(res.status);
    }
    expect(h.fake.requests).toHaveLength(0);
  });

  it("keeps no conversation state at Azure: store: true, previous_response_id and the stored-object endpoints are refused", async () => {
    await expectRefused(await send(`/azure-openai/openai/deployments/chat-prod/chat/completions${V}`, { body: JSON.stringify({ messages: [], store: true }) }), 403, "403", /store/);
    await expectRefused(await send("/azure-openai/openai/v1/responses", { body: JSON.stringify({ model: "chat-prod", input: "hi", previous_response_id: "resp_1" }) }), 403, "403", /previous_response_id/);
    await expectRefused(await send("/azure-openai/openai/v1/responses/resp_123", { method: "GET", body: null }), 403, "403");
    await expectRefused(await send("/azure-openai/openai/v1/chat/completions?api-version=preview", { method: "GET", body: null }), 403, "403");
  });
});

describe("azure-openai: nothing secret in what the attacker saw or the gateway logged", () => {
  it("keeps the org key out of every response and log line", () => {
    expect(seen.length).toBeGreaterThan(20);
    for (const text of [...seen, ...h.logs]) expect(text).not.toContain(h.fake.keys.azure);
  });
});
