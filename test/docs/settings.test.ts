// docs/settings.md is generated from the settings schema and must be current; every
// environment variable the code reads by name is on it.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { settingsEnvNames, settingsSchema } from "../../src/core/settings.ts";
import { renderSettingsPage, settingsPagePath } from "../../tools/docs/settings-page.ts";
import { repoRoot } from "./markdown.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [full] : [];
  });
}

/** Variable names read literally: process.env.X, process.env["X"], env["X"], defaultApiKeyEnv: "X". */
function envReads(): Map<string, string> {
  const reads = new Map<string, string>();
  for (const file of sourceFiles(join(repoRoot, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:process\.env\.([A-Z][A-Z0-9_]+)\b|\benv\[\s*"([A-Z][A-Z0-9_]+)"\s*\]|defaultApiKeyEnv:\s*"([A-Z][A-Z0-9_]+)")/g)) {
      const name = m[1] ?? m[2] ?? m[3];
      if (name && !reads.has(name)) reads.set(name, relative(repoRoot, file));
    }
  }
  return reads;
}

describe("docs/settings.md", () => {
  it("is current (regenerate with `npm run docs:settings`)", () => {
    expect(readFileSync(settingsPagePath, "utf8")).toBe(renderSettingsPage());
  });

  it("every setting has an env name and a description", () => {
    for (const [key, schema] of Object.entries(settingsSchema.shape)) {
      expect(settingsEnvNames[key as keyof typeof settingsEnvNames], key).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(schema.description, key).toBeTruthy();
    }
  });

  it("names every environment variable the code reads", () => {
    const page = readFileSync(settingsPagePath, "utf8");
    const reads = envReads();
    expect(reads.size).toBeGreaterThan(15);
    const missing = [...reads].filter(([name]) => !page.includes(`\`${name}\``)).map(([name, file]) => `${name} (read in ${file})`);
    expect(missing).toEqual([]);
  });
});
