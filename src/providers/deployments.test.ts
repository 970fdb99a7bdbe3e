import { describe, expect, it } from "vitest";
import { GatewayError } from "../core/errors.ts";
import { azureOpenai, azureErrorBody } from "./azure-openai.ts";
import { checkedQuery, matchEndpoint, shapeOf } from "./endpoints.ts";
import { servedByDeployment, UndeclaredDeployment, upstreamModelNames } from "./deployments.ts";
import { openai } from "./openai.ts";

const deployments = { "chat-prod": "gpt-4o-mini", "chat-big": "gpt-4o", embed: "text-embedding-3-small" };

function shapeFor(method: string, path: string, query: Array<[string, string]>, body?: Record<string, unknown>) {
  const match = matchEndpoint(azureOpenai, method, path);
  return servedByDeployment(azureOpenai, shapeOf(match, checkedQuery(azureOpenai, match.spec, query, false), body), deployments);
}

describe("Azure deployments", () => {
  it("reads the deployment from the path or the v1 body and governs the model it serves", () => {
    expect(shapeFor("POST", "/openai/deployments/chat-prod/chat/completions", [["api-version", "2024-10-21"]], { messages: [] })).toMatchObject({ model: "gpt-4o-mini", deployment: "chat-prod", endpoint: "chat" });
    expect(shapeFor("POST", "/openai/v1/responses", [], { model: "chat-big", input: "hi" })).toMatchObject({ model: "gpt-4o", deployment: "chat-big", endpoint: "responses" });
    expect(shapeFor("POST", "/openai/deployments/embed/embeddings", [["api-version", "2025-04-01-preview"]], { input: "x" })).toMatchObject({ model: "text-embedding-3-small", deployment: "embed" });
  });

  it("refuses an undeclared deployment, a case variant and an inherited property name", () => {
    for (const name of ["other", "Chat-Prod", "CHAT-PROD", "constructor", "toString", "hasOwnProperty"]) {
      expect(() => shapeFor("POST", "/openai/v1/chat/completions", [], { model: name, messages: [] })).toThrow(UndeclaredDeployment);
      expect(() => shapeFor("POST", `/openai/deployments/${name}/chat/completions`, [["api-version", "2024-10-21"]], {})).toThrow(UndeclaredDeployment);
    }
    expect(() => servedByDeployment(azureOpenai, { endpoint: "chat", format: "openai-chat", model: "chat-prod", streaming: false, metered: true }, undefined)).toThrow(UndeclaredDeployment);
  });

  it("requires a dated api-version on the deployments API and refuses another shape", () => {
    const missing = (() => {
      try {
        shapeFor("POST", "/openai/deployments/chat-prod/chat/completions", [], {});
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(missing).toBeInstanceOf(GatewayError);
    expect((missing as GatewayError).status).toBe(404);
    expect((missing as GatewayError).message).toContain("?api-version=2024-10-21");
    for (const version of ["latest", "2024-13-01", "2024-10-21-beta", "2024-10-21 ", "v1"]) {
      expect(() => shapeFor("POST", "/openai/deployments/chat-prod/chat/completions", [["api-version", version]], {})).toThrow(/api-version/);
    }
    expect(() => shapeFor("POST", "/openai/v1/chat/completions", [["api-version", "2024-10-21"]], { model: "chat-prod" })).toThrow(/api-version/);
    expect(shapeFor("POST", "/openai/v1/chat/completions", [["api-version", "preview"]], { model: "chat-prod", messages: [] }).model).toBe("gpt-4o-mini");
  });

  it("leaves a policy alias to the policy, and still refuses a name that is neither", () => {
    const shape = { endpoint: "chat", format: "openai-chat" as const, model: "fast", streaming: false, metered: true };
    expect(servedByDeployment(azureOpenai, shape, deployments, { fast: [] })).toEqual(shape);
    expect(upstreamModelNames(azureOpenai, shape, ["gpt-4o", "gpt-4o-mini"], deployments)).toEqual(["chat-big", "chat-prod"]);
    expect(() => upstreamModelNames(azureOpenai, shape, ["fast"], deployments)).toThrow(/no deployment/);
    expect(() => servedByDeployment(azureOpenai, shape, deployments, { constructor: [] as unknown })).toThrow(UndeclaredDeployment);
    expect(() => servedByDeployment(azureOpenai, { ...shape, model: "toString" }, deployments, {})).toThrow(UndeclaredDeployment);
  });

  it("names each routed model by a deployment serving it, and refuses a route to a model none serves", () => {
    const shape = shapeFor("POST", "/openai/v1/chat/completions", [], { model: "chat-prod", messages: [] });
    expect(upstreamModelNames(azureOpenai, shape, ["gpt-4o-mini", "gpt-4o"], deployments)).toEqual(["chat-prod", "chat-big"]);
    expect(() => upstreamModelNames(azureOpenai, shape, ["gpt-4o-mini", "gpt-5"], deployments)).toThrow(/no deployment of provider azure-openai serves it/);
    // Other providers' models are their own names.
    expect(upstreamModelNames(openai, { ...shape, deployment: undefined }, ["gpt-4o", "gpt-5"], undefined)).toEqual(["gpt-4o", "gpt-5"]);
  });

  it("speaks Azure's error shape", () => {
    expect(azureErrorBody(new UndeclaredDeployment("azure-openai", "x"))).toMatchObject({ error: { code: "DeploymentNotFound" } });
    expect(azureErrorBody(new GatewayError("unauthenticated", "no"))).toEqual({ error: { code: "401", message: "no" } });
    expect(azureErrorBody(new GatewayError("bad_request", "bad"))).toEqual({ error: { code: "BadRequest", message: "bad" } });
  });
});
