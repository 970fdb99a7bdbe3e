import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "gatehouse-config-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: "utf8" });
}

describe("gatehouse config validate / build (a real process)", () => {
  // The directory is named like the one in the report (e2), so a doubled prefix shows as e2/e2/.
  mkdirSync(join(work, "e2", "commands"), { recursive: true });
  writeFileSync(join(work, "e2", "gatehouse.yaml"), "providers:\n  openai:\n    apiKey: sk-live-never-echo-0000\n    upstream: https://api.openai.com/v1\n");
  writeFileSync(join(work, "e2", "commands", "review.md"), "---\ndescription: review\nmodel: google-ai-studio/gemini-2.5-pro\n---\nReview $ARGUMENTS\n");

  for (const command of ["validate", "build"]) {
    it(`${command} names each file once, relative to where it ran, at the field's line, with the fix`, () => {
      const result = run(["config", command, "e2"]);
      expect(result.status).toBe(1);
      const lines = result.stderr.trim().split("\n");
      expect(lines[0]).toBe("gatehouse: invalid config (1 problem):");
      // The YAML problem first; the command file's model is checked once gatehouse.yaml is clean.
      expect(lines[1]).toBe(
        'e2/gatehouse.yaml:3:5: providers.openai.apiKey: unknown key "apiKey": provider keys never go in the config; use apiKeyEnv: NAME (e.g. apiKeyEnv: OPENAI_API_KEY) and put the key in the gateway\'s environment (or GATEHOUSE_SECRETS_FILE)',
      );
      expect(result.stderr).not.toContain("e2/e2/");
      expect(result.stderr + result.stdout).not.toContain("sk-live-never-echo");
    });
  }

  it("a bad model in a command file is reported at its line", () => {
    writeFileSync(join(work, "e2", "gatehouse.yaml"), "providers:\n  openai: {}\n");
    const result = run(["config", "validate", "e2/"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('e2/commands/review.md:3:8: model: model "google-ai-studio/gemini-2.5-pro" is on provider "google-ai-studio", which this gateway does not serve (served: openai); add providers.google-ai-studio to gatehouse.yaml');
    expect(result.stderr).not.toContain("e2//");
  });
});
