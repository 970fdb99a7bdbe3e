import { describe, expect, it } from "vitest";
import { aiGatewayBase, aiGatewayPath } from "./ai-gateway.ts";
import { providers } from "./registry.ts";

const account = { region: "eu-west-1", project: "p", location: "us-east5" };
const gatewayUrl = (id: string, path: string): string => {
  const provider = providers.find((p) => p.id === id);
  if (!provider?.aiGateway) throw new Error(`${id} has no AI Gateway route`);
  return `${aiGatewayBase(provider.aiGateway, "https://gateway.ai.cloudflare.com/v1/", "acc", "gw", account)}${aiGatewayPath(provider.aiGateway, path)}`;
};

describe("AI Gateway URLs per provider (Cloudflare's provider pages)", () => {
  it("puts each provider's path after its slug as Cloudflare documents it", () => {
    expect(gatewayUrl("anthropic", "/v1/messages")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/anthropic/v1/messages");
    expect(gatewayUrl("openai", "/v1/chat/completions")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/openai/chat/completions");
    expect(gatewayUrl("openai", "/chat/completions")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/openai/chat/completions");
    expect(gatewayUrl("openai", "/v1")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/openai/");
    expect(gatewayUrl("groq", "/v1/chat/completions")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/groq/chat/completions");
    expect(gatewayUrl("google-ai-studio", "/v1beta/models/gemini-2.5-flash:generateContent")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent");
    expect(gatewayUrl("compat", "/chat/completions")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/workers-ai/v1/chat/completions");
    expect(gatewayUrl("compat", "/v1/embeddings")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/workers-ai/v1/embeddings");
    expect(gatewayUrl("bedrock", "/model/anthropic.claude-v1%3A0/invoke")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/aws-bedrock/bedrock-runtime/eu-west-1/model/anthropic.claude-v1%3A0/invoke");
    expect(gatewayUrl("vertex", "/v1/projects/p/locations/us-east5/publishers/google/models/g:generateContent")).toBe("https://gateway.ai.cloudflare.com/v1/acc/gw/google-vertex-ai/v1/projects/p/locations/us-east5/publishers/google/models/g:generateContent");
  });

  it("only removes a whole leading /v1 segment (a /v1beta or /v10 path is left alone)", () => {
    const route = { slug: "openai", path: "without-version", byok: true } as const;
    expect(aiGatewayPath(route, "/v1beta/x")).toBe("/v1beta/x");
    expect(aiGatewayPath(route, "/v10/x")).toBe("/v10/x");
  });

  it("escapes the account and gateway ids into one segment each", () => {
    expect(aiGatewayBase({ slug: "anthropic", path: "as-sent", byok: true }, "https://g/v1", "a/b", "c?d", account)).toBe("https://g/v1/a%2Fb/c%3Fd/anthropic");
  });

  it("refuses a {region} path without a region", () => {
    expect(() => aiGatewayBase({ slug: "aws-bedrock", path: "as-sent", prefix: "bedrock-runtime/{region}", byok: false }, "https://g/v1", "a", "b", { region: undefined, project: undefined, location: undefined })).toThrow(/AWS region/);
  });

  it("azure-openai: /openai/deployments/{d}/{rest} continues as /{resource}/{d}/{rest} (Cloudflare's Azure page)", () => {
    const azure = { ...account, resource: "contoso" };
    const route = providers.find((p) => p.id === "azure-openai")?.aiGateway;
    if (!route) throw new Error("azure-openai has no AI Gateway route");
    expect(`${aiGatewayBase(route, "https://gateway.ai.cloudflare.com/v1", "acc", "gw", azure)}${aiGatewayPath(route, "/openai/deployments/chat-prod/chat/completions", azure)}`).toBe(
      "https://gateway.ai.cloudflare.com/v1/acc/gw/azure-openai/contoso/chat-prod/chat/completions",
    );
    expect(aiGatewayPath(route, "/openai/deployments/gpt-4o.2024_08/embeddings", azure)).toBe("/contoso/gpt-4o.2024_08/embeddings");
    expect(route.byok).toBe(false);
  });

  it("azure-openai: refuses the v1 API, saying to call the deployments API, and a route without its resource", () => {
    const route = { slug: "azure-openai", path: "azure-resource-deployment", byok: false } as const;
    const azure = { ...account, resource: "contoso" };
    for (const path of ["/openai/v1/chat/completions", "/openai/v1/responses", "/openai/v1/models", "/openai/deployments", "/openai/deployments/chat-prod", "/v1/chat/completions"]) {
      expect(() => aiGatewayPath(route, path, azure), path).toThrow(/not the v1 API\. Call the deployments API instead: POST \/azure-openai\/openai\/deployments\/<deployment>\/chat\/completions/);
    }
    expect(() => aiGatewayPath(route, "/openai/deployments/chat-prod/chat/completions", account)).toThrow(/set providers\.azure-openai\.resource/);
  });

  it("azure-openai: a deployment or endpoint segment spelled with an escaped slash, a dot segment or a non-name character never becomes another path", () => {
    const route = { slug: "azure-openai", path: "azure-resource-deployment", byok: false } as const;
    const azure = { ...account, resource: "contoso" };
    for (const path of [
      "/openai/deployments/chat-prod%2F..%2F..%2Fother%2Fchat-prod/chat/completions",
      "/openai/deployments/%2E%2E/other/chat-prod/chat/completions",
      "/openai/deployments/../other/chat/completions",
      "/openai/deployments/./chat/completions",
      "/openai/deployments/chat-prod%5Cother/chat/completions",
      "/openai/deployments/chat-prod/..%2F..%2Fother/chat/completions",
      "/openai/deployments/chat-prod/../../other/chat/completions",
      "/openai/deployments/chat-prod/./chat/completions",
      "/openai/deployments/other@host/chat/completions",
      "/openai/deployments/a:b/chat/completions",
      "/openai/deployments/-lead/chat/completions",
    ]) {
      expect(() => aiGatewayPath(route, path, azure), path).toThrow(/one path segment of letters, digits/);
    }
  });
});
