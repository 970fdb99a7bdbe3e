import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe("GET / and unknown routes (the real gateway)", () => {
  it("GET / is a small HTML page: what the gateway is, its routes, links to the dashboard and the well-known document", async () => {
    const res = await fetch(`${h.gateway.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain("An AI gateway");
    expect(html).toContain(`href="/dashboard"`);
    expect(html).toContain(`href="/.well-known/opencode"`);
    for (const route of ["/anthropic", "/openai", "/google-ai-studio", "/compat", "/mcp", "/metrics", "/healthz"]) expect(html).toContain(`<code>${route}</code>`);
    expect(html).toContain(`base URL ${h.gateway.url}/openai/v1`);
  });

  it("POST /v1/chat/completions is a 404 in OpenAI's shape that points to /openai/v1 and /compat/v1", async () => {
    const res = await fetch(`${h.gateway.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; type: string; code: string; param: null } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.code).toBe("not_found");
    expect(body.error.param).toBeNull();
    expect(body.error.message).toContain(`/openai/v1/chat/completions for OpenAI (base URL ${h.gateway.url}/openai/v1)`);
    expect(body.error.message).toContain("/compat/v1/chat/completions");
  });

  it("an unknown route lists the routes in the gateway's error shape", async () => {
    const res = await fetch(`${h.gateway.url}/nothing-here`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe("not_found");
    expect(body.error.message).toMatch(/^No route for GET \/nothing-here\. Routes: \/anthropic, \/openai, \/google-ai-studio, \/compat, /);
    expect(body.error.requestId).not.toBe("");
  });
});
