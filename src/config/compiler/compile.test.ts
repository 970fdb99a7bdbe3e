import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { compileConfig, formatIssue, orgConfigJsonSchema, type SourceFile } from "../index.ts";

const MAIN = `providers:
  anthropic: {}
  compat:
    upstream: http://127.0.0.1:11434/v1
model: anthropic/claude-sonnet-4-5
permission:
  bash:
    "*": ask
    "git status": allow
`;

function compile(files: Record<string, string>) {
  return compileConfig(Object.entries(files).map(([path, text]): SourceFile => ({ path, text })));
}

function messages(files: Record<string, string>): string[] {
  const result = compile(files);
  expect(result.config).toBeUndefined();
  return result.issues.map(formatIssue);
}

describe("config compiler (happy)", () => {
  it("compiles gatehouse.yaml, agents and commands (nested names, body = prompt/template)", () => {
    const result = compile({
      "gatehouse.yaml": MAIN,
      "agents/reviewer.md": "---\ndescription: Reviews\nmode: subagent\ntemperature: 0.1\npermission:\n  edit: deny\n---\nYou review code.\n",
      "agents/team/writer.md": "---\ndescription: Writes\n---\nYou write docs.",
      "commands/ship.md": "---\ndescription: Ship it\nagent: reviewer\nsubtask: true\n---\nShip $ARGUMENTS now\n",
    });
    expect(result.issues).toEqual([]);
    expect(result.config?.agent).toEqual({
      reviewer: { description: "Reviews", mode: "subagent", temperature: 0.1, permission: { edit: "deny" }, prompt: "You review code." },
      "team/writer": { description: "Writes", prompt: "You write docs." },
    });
    expect(result.config?.command).toEqual({ ship: { description: "Ship it", agent: "reviewer", subtask: true, template: "Ship $ARGUMENTS now" } });
    expect(result.config?.permission).toEqual({ bash: { "*": "ask", "git status": "allow" } });
  });

  it("compiles the example directory that npm start serves", () => {
    const dir = new URL("../../../examples/config", import.meta.url).pathname;
    const files: SourceFile[] = [];
    const walk = (d: string) => {
      for (const name of readdirSync(d)) {
        const full = join(d, name);
        if (statSync(full).isDirectory()) walk(full);
        else files.push({ path: relative(dir, full), text: readFileSync(full, "utf8") });
      }
    };
    walk(dir);
    const result = compileConfig(files);
    expect(result.issues.map(formatIssue)).toEqual([]);
    expect(Object.keys(result.config?.agent ?? {}).sort()).toEqual(["docs-writer", "reviewer"]);
    expect(result.config?.providers.openai?.zeroDataRetention).toBe(true);
  });

  it("publishes a JSON Schema generated from the zod schema", () => {
    const schema = orgConfigJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["providers", "pricing", "model", "permission", "mcp", "agent", "command"]));
  });
});

describe("config compiler (errors name file, line and field)", () => {
  it("reports a bad field in gatehouse.yaml at its line", () => {
    expect(messages({ "gatehouse.yaml": `${MAIN}small_model: not-a-ref\n` })).toEqual([expect.stringMatching(/^gatehouse\.yaml:10:\d+: small_model: must be "provider\/model"/)]);
  });

  it("reports an unknown key with its own line", () => {
    expect(messages({ "gatehouse.yaml": "providers:\n  anthropic:\n    upstrem: https://x.example\n" })).toEqual(['gatehouse.yaml:3:5: providers.anthropic.upstrem: unknown key "upstrem": did you mean "upstream"?']);
  });

  it("reports YAML syntax errors with a position", () => {
    expect(messages({ "gatehouse.yaml": "providers:\n  anthropic: {\n" })[0]).toMatch(/^gatehouse\.yaml:\d+:\d+: invalid YAML/);
  });

  it("reports frontmatter errors in the markdown file at the frontmatter line", () => {
    const out = messages({ "gatehouse.yaml": MAIN, "agents/bad.md": "---\ndescription: ok\nmode: boss\ntemperature: 0.2\n---\nPrompt\n" });
    expect(out).toEqual([expect.stringMatching(/^agents\/bad\.md:3:7: mode: Invalid option/)]);
  });

  it("refuses unknown frontmatter keys and a prompt in the frontmatter", () => {
    expect(messages({ "gatehouse.yaml": MAIN, "agents/x.md": "---\ndescripton: typo\n---\nP" })).toEqual(['agents/x.md:2:1: descripton: unknown key "descripton": did you mean "description"?']);
    expect(messages({ "gatehouse.yaml": MAIN, "commands/y.md": "---\ntemplate: inline\n---\n" })).toEqual([expect.stringMatching(/^commands\/y\.md:2:1: template: write the template as the markdown body/)]);
  });

  it("requires a command body and an unterminated frontmatter is an error", () => {
    expect(messages({ "gatehouse.yaml": MAIN, "commands/empty.md": "---\ndescription: nothing\n---\n" })[0]).toMatch(/^commands\/empty\.md:\d+:\d+: template:/);
    expect(messages({ "gatehouse.yaml": MAIN, "agents/open.md": "---\ndescription: x\n" })[0]).toMatch(/^agents\/open\.md:1:1: frontmatter starts with --- but never ends/);
  });

  it("checks references: models on served providers, commands naming known agents", () => {
    const out = messages({ "gatehouse.yaml": MAIN, "agents/a.md": "---\nmodel: openai/gpt-5\n---\nP", "commands/c.md": "---\nagent: ghost\n---\nT" });
    expect(out).toEqual([
      // At the line of the field in the file's frontmatter, not 1:1.
      expect.stringMatching(/^agents\/a\.md:2:8: model: model "openai\/gpt-5" is on provider "openai", which this gateway does not serve \(served: anthropic, compat\); add providers\.openai to gatehouse\.yaml, or use a model of a served provider/),
      expect.stringMatching(/^commands\/c\.md:2:8: agent: agent "ghost" is not defined/),
    ]);
  });

  it("refuses the same agent defined twice", () => {
    const out = messages({ "gatehouse.yaml": `${MAIN}agent:\n  dup:\n    prompt: inline\n`, "agents/dup.md": "---\ndescription: d\n---\nP" });
    expect(out[0]).toMatch(/^gatehouse\.yaml:\d+:\d+: agent\.dup: also defined in agents\/dup\.md/);
  });

  it("needs a gatehouse.yaml and never puts a key in the config", () => {
    expect(messages({ "agents/a.md": "P" })).toEqual(["gatehouse.yaml:1:1: not found: a config directory needs a gatehouse.yaml"]);
    const inline = messages({ "gatehouse.yaml": "providers:\n  openai:\n    apiKey: sk-live-123\n" });
    expect(inline).toEqual([
      'gatehouse.yaml:3:5: providers.openai.apiKey: unknown key "apiKey": provider keys never go in the config; use apiKeyEnv: NAME (e.g. apiKeyEnv: OPENAI_API_KEY) and put the key in the gateway\'s environment (or GATEHOUSE_SECRETS_FILE)',
    ]);
    expect(inline.join("\n")).not.toContain("sk-live-123");
  });

  it("a bad model in a command file is reported at its line, with the fix", () => {
    const out = messages({ "gatehouse.yaml": MAIN, "commands/review.md": "---\ndescription: review\n\nmodel: google-ai-studio/gemini-2.5-pro\n---\nReview $ARGUMENTS" });
    expect(out).toEqual([
      expect.stringMatching(/^commands\/review\.md:4:8: model: model "google-ai-studio\/gemini-2\.5-pro" is on provider "google-ai-studio", which this gateway does not serve \(served: anthropic, compat\); add providers\.google-ai-studio to gatehouse\.yaml/),
    ]);
  });

  it("models are written with the gateway's provider ids, one name everywhere; OpenCode's name gets the fix", () => {
    const main = `${MAIN.replace("  anthropic: {}", "  anthropic: {}\n  google-ai-studio: {}")}`;
    const out = messages({ "gatehouse.yaml": main, "agents/g.md": "---\ndescription: g\nmodel: google/gemini-2.5-pro\n---\nHi" });
    expect(out).toEqual([expect.stringContaining('uses OpenCode\'s name "google"; write "google-ai-studio/gemini-2.5-pro"')]);
    expect(compile({ "gatehouse.yaml": main, "agents/g.md": "---\ndescription: g\nmodel: google-ai-studio/gemini-2.5-pro\n---\nHi" }).issues).toEqual([]);
  });

  it("a non-URL upstream gets an example URL for that provider", () => {
    expect(messages({ "gatehouse.yaml": "providers:\n  openai:\n    upstream: api.openai.com/v1\n" })).toEqual(["gatehouse.yaml:3:15: providers.openai.upstream: Invalid URL: write a full URL with its scheme, e.g. https://api.openai.com/v1"]);
    expect(messages({ "gatehouse.yaml": "providers:\n  compat:\n    upstream: 127.0.0.1:11434\n" })[0]).toContain("e.g. http://127.0.0.1:11434/v1");
  });

  it("did you mean: the nearest known key, at any depth; none when nothing is close", () => {
    expect(messages({ "gatehouse.yaml": `${MAIN}modle: anthropic/claude-sonnet-4-5\n` })[0]).toMatch(/modle: unknown key "modle": did you mean "model"\?$/);
    expect(messages({ "gatehouse.yaml": "providers:\n  openai:\n    whitelst: [gpt-5]\n" })[0]).toContain('did you mean "whitelist"?');
    expect(messages({ "gatehouse.yaml": `${MAIN}zzzzzz: 1\n` })[0]).toMatch(/unknown key "zzzzzz" \(known here: providers, pricing, /);
  });

  it("lists the problems of every file in one run: a broken agent file does not hide gatehouse.yaml's", () => {
    const out = messages({ "gatehouse.yaml": "providers:\n  anthropic:\n    upstreem: https://x.example\n", "agents/a.md": "---\ntemprature: 0.2\n---\nP" });
    expect(out).toEqual([expect.stringMatching(/^agents\/a\.md:2:1: temprature: .*"temperature"/), expect.stringMatching(/^gatehouse\.yaml:3:5: providers\.anthropic\.upstreem: .*"upstream"/)]);
  });
});
