import { describe, expect, it } from "vitest";
import { providerById } from "../providers/index.ts";
import { upstreamSecretValues } from "./upstream-auth.ts";

const secretsOf = (values: Record<string, string>) => ({ get: (name: string): string | undefined => values[name] });

describe("upstreamSecretValues: every secret a route's upstream authentication reads (redacted by value in captured bodies)", () => {
  it("a key route: its key, nothing else", () => {
    const openai = providerById("openai");
    expect(upstreamSecretValues(openai, openai.defaultApiKeyEnv, secretsOf({ OPENAI_API_KEY: "sk-openai", AWS_SECRET_ACCESS_KEY: "not-this" }))).toEqual(["sk-openai"]);
  });

  it("Bedrock: the access key id, the secret access key and the session token", () => {
    const bedrock = providerById("bedrock");
    const values = upstreamSecretValues(bedrock, bedrock.defaultApiKeyEnv, secretsOf({ AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG", AWS_SESSION_TOKEN: "FwoGZXIvYXdzEXAMPLE" }));
    expect(values).toEqual(expect.arrayContaining(["AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG", "FwoGZXIvYXdzEXAMPLE"]));
  });

  it("Vertex: the key's JSON, its private key and its key id; a key that is not JSON is still redacted whole", () => {
    const vertex = providerById("vertex");
    const json = JSON.stringify({ type: "service_account", private_key_id: "0123abcd", private_key: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", client_email: "sa@p.iam.gserviceaccount.com" });
    expect(upstreamSecretValues(vertex, vertex.defaultApiKeyEnv, secretsOf({ GOOGLE_SERVICE_ACCOUNT_KEY: json }))).toEqual([json, "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", "0123abcd"]);
    expect(upstreamSecretValues(vertex, vertex.defaultApiKeyEnv, secretsOf({ GOOGLE_SERVICE_ACCOUNT_KEY: "not json" }))).toEqual(["not json"]);
  });
});
