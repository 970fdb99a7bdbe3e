import { describe, expect, it } from "vitest";
import { cutToBytes, isSecretField, redactBody, REDACTED } from "./capture-redact.ts";

const SECRETS = {
  openai: "sk-proj-Abcdefghijklmnop1234567890",
  anthropic: "sk-ant-api03-ZYXWVUTSRQPONMLK_0987654321",
  serviceAccount: "ghsa_Q2hhbmdlIG1lIHBsZWFzZSBpdCBpcyBhIGtleQ",
  github: "ghp_0123456789abcdefghijABCDEFGHIJ",
  aws: "AKIAIOSFODNN7EXAMPLE",
  awsSecret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  jwt: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIiwiZ3JvdXBzIjpbImFkbWluIl19.c2lnbmF0dXJlLXZhbHVl",
  // A fake in the shape of a Google API key (AIza + 35 characters), spelled in two parts so no secret scanner takes it for one.
  google: "AIza" + "Sy-FAKE-not-a-real-key-000000000000",
};

function assertClean(text: string): void {
  for (const [name, value] of Object.entries(SECRETS)) expect(text, name).not.toContain(value);
}

describe("isSecretField: the last word of the name decides", () => {
  it.each(["api_key", "apiKey", "x-api-key", "API_KEY", "access_token", "refresh_token", "client_secret", "password", "db_password", "authorization", "Authorization", "privateKey", "aws_secret_access_key", "token", "key", "credentials", "cookie"])(
    "%s is secret",
    (name) => {
      expect(isSecretField(name)).toBe(true);
    },
  );
  it.each(["max_tokens", "input_tokens", "totalTokenCount", "promptTokenCount", "keyword", "monkey", "token_type", "model", "content", "cache_read_input_tokens", "keys_count"])("%s is not", (name) => {
    expect(isSecretField(name)).toBe(false);
  });
});

describe("redactBody", () => {
  it("JSON: fields named like secrets lose their values, whatever their type; counts stay", () => {
    const body = JSON.stringify({ model: "gpt-5", max_tokens: 100, api_key: SECRETS.openai, nested: { password: 1234, auth: { token: "t0k3n-value" } }, usage: { input_tokens: 5, output_tokens: 7 } });
    const out = redactBody(body);
    const parsed = JSON.parse(out.text) as Record<string, unknown>;
    expect(parsed).toEqual({ model: "gpt-5", max_tokens: 100, api_key: REDACTED, nested: { password: REDACTED, auth: REDACTED }, usage: { input_tokens: 5, output_tokens: 7 } });
    expect(out.redactions).toBe(3);
  });

  it("credential shapes inside prompts are replaced: sk-, ghsa_, GitHub, AWS, JWT, Google, Bearer, .env lines, PEM keys", () => {
    const prompt = [
      `my key is ${SECRETS.openai} and ${SECRETS.anthropic}`,
      `use ${SECRETS.serviceAccount} for CI, ${SECRETS.github} for GitHub`,
      `AWS_ACCESS_KEY_ID=${SECRETS.aws}`,
      `AWS_SECRET_ACCESS_KEY=${SECRETS.awsSecret}`,
      `curl -H "Authorization: Bearer ${SECRETS.jwt}" https://x`,
      `GOOGLE=${SECRETS.google}`,
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretsecret\n-----END RSA PRIVATE KEY-----",
      `const apiKey = "hunter2-hunter2";`,
    ].join("\n");
    const out = redactBody(JSON.stringify({ messages: [{ role: "user", content: prompt }] }));
    assertClean(out.text);
    expect(out.text).not.toContain("hunter2");
    expect(out.text).not.toContain("MIIEowIBAAKCAQEA");
    expect(out.text).toContain("Authorization: [REDACTED]");
    expect(out.redactions).toBeGreaterThanOrEqual(9);
    // Ordinary words that end like a secret word stay.
    expect(redactBody("monkey: banana, max_tokens: 5").text).toBe("monkey: banana, max_tokens: 5");
  });

  it("an event stream: each data line's JSON is walked, other lines get the text patterns", () => {
    const sse = `event: message\ndata: {"type":"delta","text":"key ${SECRETS.openai}","secret":"s3cr3t-value"}\n\ndata: [DONE]\n`;
    const out = redactBody(sse);
    assertClean(out.text);
    expect(out.text).not.toContain("s3cr3t-value");
    expect(out.text).toContain("event: message\n");
    expect(out.text).toContain("data: [DONE]");
  });

  it("JSON cut in the middle (not parseable): secret members and shapes are still found", () => {
    const cut = `{"model":"m","api_key":"${SECRETS.openai.slice(0, 12)}plain-text-key","password":"pw-1234567`;
    const out = redactBody(cut);
    expect(out.text).not.toContain("plain-text-key");
    expect(out.text).not.toContain("pw-1234567");
  });

  it("the gateway's own keys are redacted by value, whatever they look like", () => {
    const out = redactBody(`{"note":"the key AIza-fake-real-key-003 leaked"}`, ["AIza-fake-real-key-003", "short"]);
    expect(out.text).toBe(`{"note":"the key ${REDACTED} leaked"}`);
  });
});

describe("cutToBytes", () => {
  it("cuts at a character boundary and drops a key-like run at the cut", () => {
    expect(cutToBytes("short", 10)).toEqual({ text: "short", cut: false });
    const partialKey = `prefix ${"x".repeat(5)} sk-abcdefghijk`;
    const cut = cutToBytes(partialKey, partialKey.length - 3);
    expect(cut.cut).toBe(true);
    expect(cut.text).toBe("prefix xxxxx ");
    // "é" is two bytes: a cut inside it drops it.
    expect(cutToBytes("a é", 3)).toEqual({ text: "a ", cut: true });
  });
});

describe("JSON quoted inside a string", () => {
  it("a prompt that quotes a config with a password loses the password", () => {
    const out = redactBody(JSON.stringify({ messages: [{ role: "user", content: 'my config: {"db_password": "hunter2-secret", "port": 5432}' }] }));
    expect(out.text).not.toContain("hunter2-secret");
    expect(out.text).toContain("5432");
  });
});

describe("a key streamed in pieces", () => {
  it("is found in the joined deltas and removed from every piece", () => {
    const key = "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2";
    const pieces = ["answer with sk-pr", "oj-Zz9Yy8Xx7Ww6Vv", "5Uu4Tt3Ss2 inside"];
    const sse = pieces.map((p) => `data: ${JSON.stringify({ choices: [{ delta: { content: p } }] })}\n\n`).join("") + "data: [DONE]\n\n";
    const out = redactBody(sse);
    const streamed = out.text
      .split("\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content: string } }> }).choices[0]?.delta.content ?? "")
      .join("");
    expect(streamed).toBe(`answer with ${REDACTED} inside`);
    expect(out.text).not.toContain("Zz9Yy8");
    expect(out.text).not.toContain(key.slice(0, 5));
    // Anthropic's text deltas the same way.
    const anthropic = ["AKIAIOSF", "ODNN7EXAMPLE done"].map((t) => `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", delta: { type: "text_delta", text: t } })}\n\n`).join("");
    expect(redactBody(anthropic).text).not.toContain("AKIAIOSF");
  });
});
