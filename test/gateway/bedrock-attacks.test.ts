import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { missingAwsCredentials } from "../../src/proxy/index.ts";
import { CLIENT_TOKEN, rowWhenWritten } from "./harness.ts";
import { AWS_SESSION_TOKEN, startCloudHarness, type CloudHarness } from "./bedrock-vertex-harness.ts";

/** The attacker's side of the Bedrock route: what must be refused before anything is forwarded, and what must never leak. */
let h: CloudHarness;
beforeAll(async () => {
  h = await startCloudHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.fake.reset();
});

const MODEL = "anthropic.claude-sonnet-4-5-20250929-v1%3A0";
const body = JSON.stringify({ anthropic_version: "bedrock-2023-05-31", max_tokens: 10, messages: [{ role: "user", content: "hi" }] });
const auth = { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": "application/json" };
const responses: string[] = [];

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${h.gateway.url}${path}`, { method: "POST", headers: auth, body, ...init });
  // A stream the upstream cut ends in an error here: what arrived before it is what the client saw.
  const text = await res
    .clone()
    .text()
    .catch(() => "(cut)");
  responses.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
  return res;
}

/** A refusal in Bedrock's shape: `{"message"}` and the exception's name in x-amzn-ErrorType, and nothing reached the upstream. */
async function expectRefused(res: Response, status: number, errorType: string): Promise<void> {
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(json)).toBe(status);
  expect(res.headers.get("x-amzn-errortype")).toBe(errorType);
  expect(Object.keys(json)).toEqual(["message"]);
  expect(typeof json["message"]).toBe("string");
  expect(h.fake.requests).toHaveLength(0);
}

describe("bedrock route, refused before forwarding", () => {
  it("refuses paths it does not declare, whatever their spelling", async () => {
    for (const path of [
      `/bedrock/model/${MODEL}/Invoke`,
      `/bedrock/model/${MODEL}/invoke/extra`,
      `/bedrock/model/${MODEL}/count-tokens/`,
      `/bedrock/model/${MODEL}/retrieve`,
      `/bedrock/model/${MODEL}/invoke-with-bidirectional-stream`,
      "/bedrock/guardrail/g1/version/1/apply",
      "/bedrock/async-invoke",
      `/bedrock/models/${MODEL}/invoke`,
      `/bedrock/model/${MODEL}/%2e%2e/%2e%2e/async-invoke`,
    ]) {
      await expectRefused(await send(path), 404, "ResourceNotFoundException");
    }
  });

  it("refuses an ARN (an encoded / in the model segment), a climb out of the route, and a query", async () => {
    await expectRefused(await send(`/bedrock/model/${encodeURIComponent("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc")}/invoke`), 400, "ValidationException");
    await expectRefused(await send(`/bedrock/model/..%2f..%2fanthropic/invoke`), 400, "ValidationException");
    await expectRefused(await send(`/bedrock/model/${MODEL}/invoke?trace=ENABLED`), 400, "ValidationException");
  });

  it("refuses other methods on a declared path, and methods never forwarded", async () => {
    for (const method of ["GET", "DELETE", "PATCH"]) await expectRefused(await send(`/bedrock/model/${MODEL}/invoke`, { method, body: method === "GET" ? null : body }), 405, "UnknownOperationException");
    for (const method of ["OPTIONS", "PUT"]) {
      const res = await send(`/bedrock/model/${MODEL}/invoke`, { method });
      expect([404, 405]).toContain(res.status);
      expect(h.fake.requests).toHaveLength(0);
    }
  });

  it("refuses a caller without a gateway token, and one that signed the request with AWS keys of its own", async () => {
    await expectRefused(await send(`/bedrock/model/${MODEL}/invoke`, { headers: { "content-type": "application/json" } }), 401, "UnrecognizedClientException");
    const selfSigned = "AWS4-HMAC-SHA256 Credential=AKIAATTACKER0000/20261201/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0".repeat(64);
    await expectRefused(await send(`/bedrock/model/${MODEL}/invoke`, { headers: { "content-type": "application/json", authorization: selfSigned, "x-amz-date": "20261201T000000Z" } }), 401, "UnrecognizedClientException");
  });

  it("refuses a body that is not JSON, in Bedrock's shape", async () => {
    await expectRefused(await send(`/bedrock/model/${MODEL}/invoke`, { body: "{not json" }), 400, "ValidationException");
  });

  it("never puts the AWS secret, the session token or the signature in a response or a log line", async () => {
    h.fake.enqueue({ status: 500 });
    await send(`/bedrock/model/${MODEL}/invoke`);
    h.fake.enqueue({ failAfterEvents: 2, chunks: 4 });
    const cut = await send(`/bedrock/model/${MODEL}/invoke-with-response-stream`);
    await cut.arrayBuffer().catch(() => undefined);
    await rowWhenWritten(h, cut.headers.get("x-gatehouse-request-id") ?? "");
    const signature = /Signature=([0-9a-f]{64})/.exec(h.fake.requests[0]?.headers["authorization"] ?? "")?.[1];
    expect(signature).toBeDefined();
    const everything = [...responses, ...h.logs].join("\n");
    expect(h.logs.length).toBeGreaterThan(0);
    for (const secret of [h.fake.aws.secretAccessKey, AWS_SESSION_TOKEN, signature ?? "x", "AWS4-HMAC-SHA256 Credential"]) expect(everything).not.toContain(secret);
  });
});

describe("bedrock route, credentials", () => {
  it("a wrong AWS secret is caught by the fake's signature check: the client sees Bedrock's 403, nothing is billed", async () => {
    const wrong = await startCloudHarness({ env: { AWS_SECRET_ACCESS_KEY: "not-the-secret-the-fake-knows" } });
    try {
      const res = await fetch(`${wrong.gateway.url}/bedrock/model/${MODEL}/invoke`, { method: "POST", headers: auth, body });
      expect(res.status).toBe(403);
      expect(res.headers.get("x-amzn-errortype")).toMatch(/^InvalidSignatureException/);
      expect(((await res.json()) as { message: string }).message).toMatch(/signature we calculated does not match/);
      const row = await rowWhenWritten(wrong, res.headers.get("x-gatehouse-request-id") ?? "");
      expect(row).toMatchObject({ status: 403, input_tokens: 0, output_tokens: 0, cost_usd: 0 });
    } finally {
      await wrong.close();
    }
  });

  it("a gateway with no AWS credentials refuses with a 503 saying what to set, and sends nothing", async () => {
    const none = await startCloudHarness({ env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }, gateway: { cloudCredentials: { aws: () => Promise.reject(missingAwsCredentials()) } } });
    try {
      const res = await fetch(`${none.gateway.url}/bedrock/model/${MODEL}/invoke`, { method: "POST", headers: auth, body });
      expect(res.status).toBe(503);
      expect(res.headers.get("x-amzn-errortype")).toBe("ServiceUnavailableException");
      expect(((await res.json()) as { message: string }).message).toMatch(/AWS_ACCESS_KEY_ID/);
      expect(none.fake.requests).toHaveLength(0);
      const row = await rowWhenWritten(none, res.headers.get("x-gatehouse-request-id") ?? "");
      expect(row).toMatchObject({ outcome: "not_forwarded", status: 503 });
    } finally {
      await none.close();
    }
  });
});
