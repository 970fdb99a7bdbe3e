import { request as httpRequest } from "node:http";
import WebSocket from "ws";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLIENT_TOKEN, ledgerRows, readChunks, startHarness, type Harness } from "./harness.ts";

/**
 * The ledger's client, client_version and session_id, as each coding client's real user
 * agent and session header put them there (src/ledger/client.ts), over HTTP and over the
 * Responses WebSocket (the handshake's headers), and what an attacker's headers leave.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

async function post(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${h.gateway.url}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_TOKEN}`, ...headers }, body: JSON.stringify(body) });
}

async function rowOf(res: Response) {
  await readChunks(res);
  const id = res.headers.get("x-gatehouse-request-id");
  const row = (await ledgerRows(h)).find((r) => r.request_id === id);
  if (!row) throw new Error(`no ledger row for ${id}`);
  return row;
}

const anthropicBody = { model: "claude-sonnet-4-5", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hi" }] };

describe("the client and session of each request", () => {
  it("Claude Code: client, version and its session header", async () => {
    h.fake.enqueue({ usage: { input: 10, output: 2 } });
    const res = await post("/anthropic/v1/messages", anthropicBody, { "user-agent": "claude-cli/2.1.332 (external, cli)", "x-claude-code-session-id": "7d0c7a4e-3f7b-4f52-9a2b-0c1f6f1e2a3b", "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(200);
    expect(await rowOf(res)).toMatchObject({ client: "claude-code", client_version: "2.1.332", session_id: "7d0c7a4e-3f7b-4f52-9a2b-0c1f6f1e2a3b" });
  });

  it("OpenCode and the official SDKs", async () => {
    h.fake.enqueue({ usage: { input: 10, output: 2 } });
    const oc = await post("/openai/v1/chat/completions", { model: "gpt-5", stream: true, messages: [{ role: "user", content: "hi" }] }, { "user-agent": "opencode/1.18.33 ai-sdk/provider-utils/3.0.9 runtime/bun/1.3.0", "x-session-id": "ses_5f1e2a3b4c" });
    expect(await rowOf(oc)).toMatchObject({ client: "opencode", client_version: "1.18.33", session_id: "ses_5f1e2a3b4c" });
    h.fake.enqueue({ usage: { input: 10, output: 2 } });
    const sdk = await post("/openai/v1/chat/completions", { model: "gpt-5", messages: [{ role: "user", content: "hi" }] }, { "user-agent": "OpenAI/JS 6.49.0" });
    expect(await rowOf(sdk)).toMatchObject({ client: "sdk", client_version: "openai-js/6.49.0", session_id: null });
  });

  it("a request refused before it is forwarded still records who sent it", async () => {
    const res = await post("/anthropic/v1/messages", { ...anthropicBody, model: 42 }, { "user-agent": "GeminiCLI/0.61.0/gemini-3-pro-preview (linux; x64; terminal)", "x-session-id": "s1" });
    expect(res.status).toBe(400);
    expect(await rowOf(res)).toMatchObject({ outcome: "not_forwarded", client: "gemini-cli", client_version: "0.61.0", session_id: "s1" });
    expect(h.fake.requests).toHaveLength(0);
  });

  it("an attacker's long user agent and a session id with markup leave a bounded, printable row", async () => {
    h.fake.enqueue({ usage: { input: 10, output: 2 } });
    // node:http refuses headers over 16 KiB in all with 431 before any code runs; this is just below.
    const res = await post("/anthropic/v1/messages", anthropicBody, { "user-agent": `claude-cli/2.${"1".repeat(12_000)} <script>`, "x-claude-code-session-id": `"><script>alert(1)</script>`, "anthropic-version": "2023-06-01" });
    expect(res.status).toBe(200);
    const row = await rowOf(res);
    expect(row.client).toBe("claude-code");
    expect(row.client_version?.length).toBeLessThanOrEqual(48);
    expect(row.client_version).toMatch(/^[0-9.]+$/);
    expect(row.session_id).toBeNull();
  });

  it("a 1 MB user agent is refused by the server before anything is forwarded or recorded", async () => {
    const before = (await ledgerRows(h)).length;
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${h.gateway.url}/anthropic/v1/messages`);
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "user-agent": "x".repeat(1_000_000), authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(JSON.stringify(anthropicBody));
    });
    expect(status).toBe(431);
    expect(h.fake.requests).toHaveLength(0);
    expect((await ledgerRows(h)).length).toBe(before);
  });
});

describe("the client and session of a Responses WebSocket", () => {
  it("every response on the socket carries the handshake's client and Codex's session_id", async () => {
    h.fake.enqueue({ usage: { input: 20, output: 3 }, chunks: 1 });
    h.fake.enqueue({ usage: { input: 30, output: 4 }, chunks: 1 });
    const ws = new WebSocket(`${h.gateway.url.replace("http", "ws")}/openai/v1/responses`, {
      headers: { authorization: `Bearer ${CLIENT_TOKEN}`, "openai-beta": "responses_websockets=2026-02-06", "user-agent": "codex_cli_rs/0.171.0 (Ubuntu 24.4.0; x86_64) xterm-256color", session_id: "019a7b2c-codex-session" },
    });
    const completed: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      ws.on("message", (data) => {
        const event = JSON.parse(data.toString()) as { type?: string };
        if (event.type === "response.completed" && completed.push(event) === 2) resolve();
        if (event.type === "error") reject(new Error(data.toString()));
      });
      ws.once("error", reject);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res) => reject(new Error(`handshake refused: ${res.statusCode ?? 0}`)));
    });
    const create = JSON.stringify({ type: "response.create", model: "gpt-5", input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }] });
    ws.send(create);
    ws.send(create);
    await done;
    ws.close();
    const rows = (await ledgerRows(h)).filter((r) => r.endpoint === "responses" && r.session_id === "019a7b2c-codex-session");
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ client: "codex", client_version: "0.171.0", outcome: "completed" });
  });
});
