import { describe, expect, it } from "vitest";
import { claudeCloudRoute, isCloudClaudeModel, type ClaudeCloudRoute } from "./claude-cloud.ts";
import { mergeClaudeCodeSettings, mismatchedModelSetting, type ClaudeCodeSetup } from "./claude-code.ts";
import { discoverySchema } from "./discovery.ts";

const GW = "https://gw.example.com";
const document = (config: Record<string, unknown>) => discoverySchema.parse({ auth: { command: ["gatehouse", "login", GW], env: "GATEHOUSE_TOKEN" }, config });
const bedrockProvider = { options: { baseURL: `${GW}/bedrock`, apiKey: "gatehouse", region: "eu-central-1" }, models: { "eu.anthropic.claude-sonnet-4-5-20250929-v1:0": {}, "meta.llama3-70b-instruct-v1:0": {} } };
const vertexProvider = {
  options: { baseURL: `${GW}/vertex/v1/projects/gatehouse/locations/global/publishers/google`, apiKey: "gatehouse", project: "gatehouse", location: "global" },
  whitelist: ["gemini-2.5-pro", "claude-sonnet-4-5@20250929", "claude-haiku-4-5@20251001"],
};

describe("discovery → Claude Code's Bedrock and Vertex routes", () => {
  it("Bedrock: the /bedrock base, the gateway's AWS region, the org's default model when it is a Bedrock Claude model", () => {
    const doc = document({ model: "amazon-bedrock/eu.anthropic.claude-sonnet-4-5-20250929-v1:0", small_model: "amazon-bedrock/eu.anthropic.claude-haiku-4-5-20251001-v1:0", provider: { "amazon-bedrock": bedrockProvider } });
    expect(claudeCloudRoute(doc, "bedrock", GW)).toEqual({
      cloud: "bedrock",
      baseUrl: `${GW}/bedrock`,
      region: "eu-central-1",
      model: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
      smallModel: "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
    });
  });
  it("Vertex: the base before projects/…, the served location, Claude models from the whitelist (Gemini skipped; the small one a Haiku)", () => {
    const doc = document({ model: "anthropic/claude-sonnet-4-5", provider: { "google-vertex": vertexProvider } });
    expect(claudeCloudRoute(doc, "vertex", GW)).toEqual({ cloud: "vertex", baseUrl: `${GW}/vertex/v1`, region: "global", model: "claude-sonnet-4-5@20250929", smallModel: "claude-haiku-4-5@20251001" });
  });
  it("a default of another provider, or a non-Claude one, is not taken; nothing named leaves Claude Code's own default", () => {
    const doc = document({ model: "amazon-bedrock/meta.llama3-70b-instruct-v1:0", provider: { "amazon-bedrock": bedrockProvider } });
    expect(claudeCloudRoute(doc, "bedrock", GW)).toMatchObject({ model: undefined, smallModel: undefined });
  });
  it("a gateway without the cloud gives no route (the CLI refuses); one that does not say its Bedrock region is refused, never guessed", () => {
    expect(claudeCloudRoute(document({ provider: { anthropic: { options: { baseURL: `${GW}/anthropic/v1` } } } }), "bedrock", GW)).toBeUndefined();
    expect(claudeCloudRoute(document({ provider: { "amazon-bedrock": bedrockProvider } }), "vertex", GW)).toBeUndefined();
    expect(() => claudeCloudRoute(document({ provider: { "amazon-bedrock": { options: { baseURL: `${GW}/bedrock` } } } }), "bedrock", GW)).toThrow(/does not say which AWS region/);
  });
  it("knows each cloud's spelling of a Claude model id", () => {
    expect(["anthropic.claude-opus-4-8", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-gov.anthropic.claude-haiku-4-5-20251001-v1:0"].every((m) => isCloudClaudeModel("bedrock", m))).toBe(true);
    expect(["claude-sonnet-4-5", "claude-sonnet-4-5@20250929", "meta.llama3-70b-instruct-v1:0"].some((m) => isCloudClaudeModel("bedrock", m))).toBe(false);
    expect(isCloudClaudeModel("vertex", "claude-sonnet-4-5@20250929")).toBe(true);
    expect(["claude-sonnet-4-5", "anthropic.claude-opus-4-8", "gemini-2.5-pro"].some((m) => isCloudClaudeModel("vertex", m))).toBe(false);
  });
});

const helper = `gatehouse login --print-token ${GW}`;
const plain: ClaudeCodeSetup = { baseUrl: `${GW}/anthropic`, apiKeyHelper: helper, model: undefined };
const bedrock: ClaudeCloudRoute = { cloud: "bedrock", baseUrl: `${GW}/bedrock`, region: "eu-central-1", model: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", smallModel: undefined };
const vertex: ClaudeCloudRoute = { cloud: "vertex", baseUrl: `${GW}/vertex/v1`, region: "global", model: "claude-sonnet-4-5@20250929", smallModel: "claude-haiku-4-5@20251001" };
const env = (text: string) => (JSON.parse(text) as { env: Record<string, string> }).env;

describe("Claude Code settings.json in Bedrock and Vertex mode", () => {
  it("--bedrock: the Bedrock variables and the helper, the user's other settings kept, keys that would win removed; a re-run changes nothing", () => {
    const mine = { theme: "dark", permissions: { allow: ["Read"] }, env: { KEEP_ME: "1", ANTHROPIC_API_KEY: "sk-ant-mine", AWS_BEARER_TOKEN_BEDROCK: "ABSK-bedrock-api-key" } };
    const first = mergeClaudeCodeSettings(JSON.stringify(mine), { ...plain, cloud: bedrock });
    expect(JSON.parse(first.text)).toEqual({
      theme: "dark",
      permissions: { allow: ["Read"] },
      apiKeyHelper: helper,
      env: { KEEP_ME: "1", CLAUDE_CODE_USE_BEDROCK: "1", ANTHROPIC_BEDROCK_BASE_URL: `${GW}/bedrock`, CLAUDE_CODE_SKIP_BEDROCK_AUTH: "1", AWS_REGION: "eu-central-1", ANTHROPIC_MODEL: bedrock.model },
    });
    expect(first.removed.map((r) => r.name)).toEqual(["env.ANTHROPIC_API_KEY", "env.AWS_BEARER_TOKEN_BEDROCK"]);
    expect(first.text).not.toMatch(/sk-ant-mine|ABSK/);
    expect(mergeClaudeCodeSettings(first.text, { ...plain, cloud: bedrock })).toEqual({ text: first.text, removed: [] });
  });
  it("--vertex: the Vertex variables, a placeholder project (the gateway puts the org's), both models", () => {
    expect(env(mergeClaudeCodeSettings(undefined, { ...plain, cloud: vertex }).text)).toEqual({
      CLAUDE_CODE_USE_VERTEX: "1",
      ANTHROPIC_VERTEX_BASE_URL: `${GW}/vertex/v1`,
      CLAUDE_CODE_SKIP_VERTEX_AUTH: "1",
      ANTHROPIC_VERTEX_PROJECT_ID: "gatehouse",
      CLOUD_ML_REGION: "global",
      ANTHROPIC_MODEL: "claude-sonnet-4-5@20250929",
      ANTHROPIC_SMALL_FAST_MODEL: "claude-haiku-4-5@20251001",
    });
  });
  it("switching modes leaves no variable of the previous one: plain → bedrock → vertex → plain", () => {
    const start = JSON.stringify({ env: { KEEP_ME: "1" } });
    const p1 = mergeClaudeCodeSettings(start, plain).text;
    const b = mergeClaudeCodeSettings(p1, { ...plain, cloud: bedrock });
    expect(env(b.text)).not.toHaveProperty("ANTHROPIC_BASE_URL");
    const v = mergeClaudeCodeSettings(b.text, { ...plain, cloud: vertex });
    expect(Object.keys(env(v.text)).filter((k) => /BEDROCK|AWS_/.test(k))).toEqual([]);
    expect(env(v.text)["ANTHROPIC_MODEL"]).toBe(vertex.model);
    const p2 = mergeClaudeCodeSettings(v.text, plain);
    expect(env(p2.text)).toEqual({ KEEP_ME: "1", ANTHROPIC_BASE_URL: `${GW}/anthropic` });
    expect(p2.removed.map((r) => r.name)).toEqual([
      "env.CLAUDE_CODE_USE_VERTEX",
      "env.ANTHROPIC_VERTEX_BASE_URL",
      "env.CLAUDE_CODE_SKIP_VERTEX_AUTH",
      "env.ANTHROPIC_VERTEX_PROJECT_ID",
      "env.CLOUD_ML_REGION",
      "env.ANTHROPIC_MODEL",
      "env.ANTHROPIC_SMALL_FAST_MODEL",
    ]);
    expect(p2.text).toBe(p1);
  });
  it("--bedrock straight back to plain: exactly the plain variables remain", () => {
    const mine = JSON.stringify({ env: { KEEP_ME: "1" } });
    const b = mergeClaudeCodeSettings(mine, { ...plain, cloud: bedrock }).text;
    expect(env(mergeClaudeCodeSettings(b, plain).text)).toEqual({ KEEP_ME: "1", ANTHROPIC_BASE_URL: `${GW}/anthropic` });
  });
  it("a top-level model in the Anthropic spelling is reported (not removed) in a cloud mode with no model of the gateway's; aliases and cloud ids are fine", () => {
    const written = (model: string, route: ClaudeCloudRoute) => mergeClaudeCodeSettings(JSON.stringify({ model }), { ...plain, cloud: route }).text;
    const none = { ...bedrock, model: undefined };
    expect(mismatchedModelSetting(written("claude-sonnet-4-5", none), "bedrock")).toBe("claude-sonnet-4-5");
    expect(JSON.parse(written("claude-sonnet-4-5", none))).toMatchObject({ model: "claude-sonnet-4-5" });
    expect(mismatchedModelSetting(written("sonnet", none), "bedrock")).toBeUndefined();
    expect(mismatchedModelSetting(written("us.anthropic.claude-opus-4-8", none), "bedrock")).toBeUndefined();
    // ANTHROPIC_MODEL written: it wins over the settings' model.
    expect(mismatchedModelSetting(written("claude-sonnet-4-5", bedrock), "bedrock")).toBeUndefined();
    expect(mismatchedModelSetting(written("claude-sonnet-4-5", none), undefined)).toBeUndefined();
  });
  it("a model the user set in the wrong spelling for the mode is removed when the gateway names none; one in the right spelling stays", () => {
    const anthropicSpelled = JSON.stringify({ env: { ANTHROPIC_MODEL: "claude-opus-4-8", ANTHROPIC_SMALL_FAST_MODEL: "us.anthropic.claude-haiku-4-5-20251001-v1:0" } });
    const out = mergeClaudeCodeSettings(anthropicSpelled, { ...plain, cloud: { ...bedrock, model: undefined } });
    expect(env(out.text)["ANTHROPIC_MODEL"]).toBeUndefined();
    expect(env(out.text)["ANTHROPIC_SMALL_FAST_MODEL"]).toBe("us.anthropic.claude-haiku-4-5-20251001-v1:0");
  });
});
