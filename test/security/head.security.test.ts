import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Logger } from "../../src/core/logger.ts";
import { CLIENT_TOKEN, startHarness, type Harness } from "../gateway/harness.ts";
import { rawRequest } from "./raw-http.ts";

const logged: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
const capture: Logger = {
  debug: (fields, message) => logged.push({ level: "debug", message, fields }),
  info: (fields, message) => logged.push({ level: "info", message, fields }),
  warn: (fields, message) => logged.push({ level: "warn", message, fields }),
  error: (fields, message) => logged.push({ level: "error", message, fields }),
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ logger: capture });
});
afterAll(async () => {
  await h.close();
});

describe("HEAD on a proxy route", () => {
  it.each(["/openai/v1/models", "/anthropic/v1/messages", "/google-ai-studio/v1beta/models", "/compat/v1/chat/completions"])("%s is answered 405 without a body, a forward or a logged error", async (path) => {
    const consoleError = vi.spyOn(console, "error");
    logged.length = 0;
    const res = await rawRequest(h.gateway.url, "HEAD", path, { authorization: `Bearer ${CLIENT_TOKEN}` });
    // A second request on a fresh connection proves the server is still answering.
    const after = await rawRequest(h.gateway.url, "GET", "/openai/v1/models", { authorization: `Bearer ${CLIENT_TOKEN}` });
    expect(res.status).toBe(405);
    expect(res.text).toBe("");
    expect(after.status).toBe(200);
    expect(h.fake.requests.filter((r) => r.method === "HEAD")).toHaveLength(0);
    expect(logged.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
    expect(consoleError).not.toHaveBeenCalled();
    consoleError.mockRestore();
  });
});
