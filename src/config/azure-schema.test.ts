import { describe, expect, it } from "vitest";
import { azureOpenai } from "../providers/azure-openai.ts";
import { orgConfigSchema } from "./schema.ts";

const parse = (azure: Record<string, unknown>, others: Record<string, unknown> = {}) => orgConfigSchema.safeParse({ providers: { "azure-openai": azure, ...others } });
const messages = (result: ReturnType<typeof parse>): string => (result.success ? "" : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"));

describe("azure-openai config", () => {
  it("takes a resource name (the upstream is built from it) or an upstream, and the deployments it may call", () => {
    expect(parse({ resource: "contoso-eastus", deployments: { "chat-prod": "gpt-4o" } }).success).toBe(true);
    expect(parse({ upstream: "https://contoso-apim.azure-api.net", deployments: { "chat-prod": "gpt-4o" } }).success).toBe(true);
    expect(azureOpenai.upstreamForAccount?.({ region: undefined, project: undefined, location: undefined, resource: "contoso-eastus" })).toBe("https://contoso-eastus.openai.azure.com");
    expect(azureOpenai.upstreamForAccount?.({ region: undefined, project: undefined, location: undefined })).toBeUndefined();
  });

  it("refuses neither resource nor upstream, an upstream ending in /openai, and a resource that is not a DNS label", () => {
    expect(messages(parse({ deployments: {} }))).toMatch(/azure-openai needs resource/);
    expect(messages(parse({ upstream: "https://contoso.openai.azure.com/openai/" }))).toMatch(/without \/openai/);
    for (const resource of ["Contoso", "contoso.evil.com", "contoso/x", "-contoso", "contoso-"]) expect(parse({ resource }).success, resource).toBe(false);
  });

  it("refuses deployment names Azure would not allow and azure settings on another provider", () => {
    for (const name of ["../x", "a/b", "", "-x", "x".repeat(65), "a b"]) expect(parse({ resource: "contoso", deployments: { [name]: "gpt-4o" } }).success, name).toBe(false);
    expect(messages(parse({ resource: "contoso" }, { openai: { deployments: { x: "gpt-4o" } } }))).toMatch(/openai.deployments: deployments is an azure-openai setting/);
  });
});
