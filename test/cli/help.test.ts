import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { settingsEnvNames } from "../../src/core/settings.ts";
import { providers } from "../../src/providers/index.ts";
import { buildProgram } from "../../src/cli/main.ts";

// Every `--help` of every command, rendered in-process as a user sees it (addHelpText included).

interface Rendered {
  path: string;
  command: Command;
  text: string;
}

function render(command: Command, path: string): Rendered[] {
  let text = "";
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  const own = { path, command, text };
  return [own, ...command.commands.filter((c) => c.name() !== "help").flatMap((c) => render(c, `${path} ${c.name()}`))];
}

const program = await buildProgram();
const pages = render(program, "gatehouse");
const commandPaths = new Set(pages.map((p) => p.path));

describe("--help of every command", () => {
  it("covers every command and subcommand", () => {
    expect([...commandPaths]).toEqual(
      expect.arrayContaining(["gatehouse serve", "gatehouse token issue", "gatehouse identity resolve", "gatehouse config validate", "gatehouse codex lint", "gatehouse mcp audit", "gatehouse login", "gatehouse usage", "gatehouse review"]),
    );
  });

  it('marks every required option as "required:"', () => {
    const unmarked = pages.flatMap((p) => p.command.options.filter((o) => o.mandatory && !o.description.startsWith("required: ")).map((o) => `${p.path} ${o.flags}`));
    expect(unmarked).toEqual([]);
    expect(pages.find((p) => p.path === "gatehouse identity resolve")?.text).toMatch(/-r, --reason <text>\s+required: /);
  });

  it("names only environment variables the gateway reads", () => {
    // What the gateway's settings read, the providers' default key variables, and what a CLI command reads itself.
    const cliDir = new URL("../../src/cli/commands/", import.meta.url).pathname;
    const readByCommands = readdirSync(cliDir)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) => [...readFileSync(join(cliDir, f), "utf8").matchAll(/env\[\s*"([A-Z_]+)"\s*\]|process\.env\.([A-Z_]+)/g)].map((m) => (m[1] ?? m[2]) as string));
    const known = new Set<string>([...Object.values(settingsEnvNames), ...providers.map((p) => p.defaultApiKeyEnv), "GATEHOUSE_TOKEN", ...readByCommands]);
    const platform = /^(GITHUB|GITLAB|CI)_/;
    const unknown = pages.flatMap((p) =>
      [...p.text.matchAll(/\b(GATEHOUSE_[A-Z_]+|DATABASE_URL|[A-Z]+_API_KEY)\b/g)]
        .map((m) => m[1] as string)
        .filter((name) => !known.has(name) && !platform.test(name))
        .map((name) => `${p.path}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("examples call commands and options that exist", () => {
    const problems: string[] = [];
    for (const page of pages) {
      for (const line of page.text.split("\n")) {
        const example = /(?:^|\$\(|\s)gatehouse ((?:[a-z-]+ ?)+)(.*)$/.exec(line.trim());
        if (!example?.[1]) continue;
        // The longest known command path the example starts with.
        const words = example[1].trim().split(" ");
        let path = "gatehouse";
        for (const word of words) if (commandPaths.has(`${path} ${word}`)) path = `${path} ${word}`;
        if (path === "gatehouse") continue; // prose ("gatehouse review enforces"), not a command line
        const command = pages.find((p) => p.path === path)?.command as Command;
        // A subcommand also takes its parents' options (review eval -c …).
        const lineage: Command[] = [];
        for (let c: Command | null = command; c; c = c.parent) lineage.push(c);
        const flags = [...line.matchAll(/\s(--?[a-z][a-z-]*)/g)].map((m) => m[1] as string);
        for (const flag of flags) {
          const known = lineage.some((c) => c.options.some((o) => o.long === flag || o.short === flag)) || flag === "--help" || flag === "-h";
          // Flags after a pipe or inside curl belong to other programs.
          if (!known && !/\|\s|curl|opencode auth/.test(line)) problems.push(`${page.path}: "${line.trim()}": ${path} has no ${flag}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
