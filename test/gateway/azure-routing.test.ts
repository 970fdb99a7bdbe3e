import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, rowWhenWritten } from "./harness.ts";
import { startAzureHarness, type AzureHarness } from "./azure-harness.ts";

/**
 * Policy routing on Azure: a route or fallback names a model, and Azure is called by
 * deployment, so each routed model goes to a deployment declared for it — in the path on the
 * deployments API, as the body's model on v1 — and one no deployment serves is refused before
 * anything is forwarded (sent to the client's deployment, it would run one model and be priced as another).
 */
let h: AzureHarness;
beforeAll(async () => {
  h = await startAzureHarness({
    extraConfig: [
      "policy:",
      "  defaultGroup: all",
      "  groups:",
      '    all: { models: ["azure-openai/*"] }',
      "  routing:",
      "    aliases:",
      "      gpt-4o: [azure-openai/gpt-4o, azure-openai/gpt-4o-mini]",
      "      gpt-5-mini: [azure-openai/gpt-5-mini, azure-openai/o3]",
      "      fast: [azure-openai/gpt-4o-mini, azure-openai/gpt-4o]",
    ],
  });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const headers = { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" };

describe("azure-openai: fallbacks go to the deployment serving each model", () => {
  it("moves a deployments-API call from chat-big (gpt-4o, overloaded) to chat-prod (gpt-4o-mini) in the path", async () => {
    h.fake.enqueue({ status: 503 });
    h.fake.enqueue({ usage: { input: 20, output: 4 } });
    const res = await fetch(`${h.gateway.url}/azure-openai/openai/deployments/chat-big/chat/completions?api-version=2024-10-21`, { method: "POST", headers, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(200);
    expect(h.fake.requests.map((r) => `${r.rawPath}${r.search}`)).toEqual(["/openai/deployments/chat-big/chat/completions?api-version=2024-10-21", "/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21"]);
    const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
    expect({ model: row.model, requested: row.requested_model, attempts: row.attempts }).toEqual({ model: "gpt-4o-mini", requested: "chat-big", attempts: 2 });
  });

  it("moves a v1 call the same way, the fallback's deployment as the body's model", async () => {
    h.fake.enqueue({ status: 429 });
    h.fake.enqueue({ usage: { input: 20, output: 4 } });
    const res = await fetch(`${h.gateway.url}/azure-openai/openai/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "chat-big", messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(200);
    expect(h.fake.requests.map((r) => (JSON.parse(r.bodyText) as { model: string }).model)).toEqual(["chat-big", "chat-prod"]);
  });

  it("refuses, before forwarding, a route to a model no declared deployment serves", async () => {
    const res = await fetch(`${h.gateway.url}/azure-openai/openai/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "reasoner", messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: "503", message: expect.stringMatching(/routed to o3, and no deployment of provider azure-openai serves it/) } });
    expect(h.fake.requests).toHaveLength(0);
  });

  it("serves a policy alias as the model: each routed model goes to its deployment, the alias kept as the requested model", async () => {
    h.fake.setDefault({ usage: { input: 20, output: 4 } });
    const v1 = await fetch(`${h.gateway.url}/azure-openai/openai/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "hi" }] }) });
    const onPath = await fetch(`${h.gateway.url}/azure-openai/openai/deployments/fast/chat/completions?api-version=2024-10-21`, { method: "POST", headers, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }) });
    for (const res of [v1, onPath]) expect(res.status).toBe(200);
    expect(JSON.parse(h.fake.requests[0]?.bodyText ?? "{}")).toMatchObject({ model: "chat-prod" });
    expect(h.fake.requests[1]?.rawPath).toBe("/openai/deployments/chat-prod/chat/completions");
    for (const res of [v1, onPath]) {
      const row = await rowWhenWritten(h, res.headers.get("x-gatehouse-request-id") ?? "");
      expect([row.requested_model, row.model]).toEqual(["fast", "gpt-4o-mini"]);
    }
    // A name that is neither a deployment nor an alias is still refused.
    const other = await fetch(`${h.gateway.url}/azure-openai/openai/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "slow", messages: [] }) });
    expect(other.status).toBe(404);
    expect(h.fake.requests).toHaveLength(2);
  });
});
