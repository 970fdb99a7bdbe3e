import * as semconv from "@opentelemetry/semantic-conventions";
import * as incubating from "@opentelemetry/semantic-conventions/incubating";
import { describe, expect, it } from "vitest";
import { blankLedgerRow } from "../ledger/index.ts";
import { ATTR, serverAttributes, usageAttributes } from "./attributes.ts";

describe("attribute names", () => {
  it("are the semantic conventions' own (package 1.45), not look-alikes", () => {
    const names: Record<string, string> = {
      operationName: incubating.ATTR_GEN_AI_OPERATION_NAME,
      providerName: incubating.ATTR_GEN_AI_PROVIDER_NAME,
      requestModel: incubating.ATTR_GEN_AI_REQUEST_MODEL,
      requestStream: incubating.ATTR_GEN_AI_REQUEST_STREAM,
      responseModel: incubating.ATTR_GEN_AI_RESPONSE_MODEL,
      timeToFirstChunk: incubating.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
      inputTokens: incubating.ATTR_GEN_AI_USAGE_INPUT_TOKENS,
      outputTokens: incubating.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
      cacheReadInputTokens: incubating.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
      cacheCreationInputTokens: incubating.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
      reasoningOutputTokens: incubating.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
      callerPseudoId: incubating.ATTR_ENDUSER_PSEUDO_ID,
      serverAddress: semconv.ATTR_SERVER_ADDRESS,
      serverPort: semconv.ATTR_SERVER_PORT,
      errorType: semconv.ATTR_ERROR_TYPE,
      httpMethod: semconv.ATTR_HTTP_REQUEST_METHOD,
      httpRoute: semconv.ATTR_HTTP_ROUTE,
      httpStatus: semconv.ATTR_HTTP_RESPONSE_STATUS_CODE,
    };
    for (const [key, name] of Object.entries(names)) expect(ATTR[key as keyof typeof ATTR], key).toBe(name);
    // Everything else is ours, under our own namespace.
    for (const [key, name] of Object.entries(ATTR)) if (!(key in names)) expect(name, key).toMatch(/^gatehouse\./);
  });

  it("uses the convention's provider values", () => {
    expect([incubating.GEN_AI_PROVIDER_NAME_VALUE_ANTHROPIC, incubating.GEN_AI_PROVIDER_NAME_VALUE_OPENAI, incubating.GEN_AI_PROVIDER_NAME_VALUE_GCP_GEMINI]).toEqual(["anthropic", "openai", "gcp.gemini"]);
  });
});

describe("serverAttributes", () => {
  it.each([
    ["api.anthropic.com", { "server.address": "api.anthropic.com" }],
    ["127.0.0.1:8443", { "server.address": "127.0.0.1", "server.port": 8443 }],
    ["[::1]:4000", { "server.address": "::1", "server.port": 4000 }],
    ["[::1]", { "server.address": "::1" }],
  ])("%s", (hostPort, expected) => {
    expect(serverAttributes(hostPort)).toEqual(expected);
  });
});

describe("usage attributes of an unpriced request", () => {
  it("carry no cost (its cost is unknown, not $0) and say it is unpriced", () => {
    const row = blankLedgerRow({ request_id: "r", ts: 0, day: "2026-12-01", caller_id: "c", team: null, provider: "openai", model: "gpt-6.2-sol", endpoint: "responses", status: 200, outcome: "completed", duration_ms: 1 });
    const unpriced = usageAttributes({ ...row, input_tokens: 10, unpriced: 1 });
    expect(unpriced).not.toHaveProperty(ATTR.costUsd);
    expect(unpriced[ATTR.unpriced]).toBe(true);
    expect(usageAttributes({ ...row, input_tokens: 10, cost_usd: 0.01 })[ATTR.costUsd]).toBe(0.01);
  });
});
