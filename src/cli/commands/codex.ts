import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { Command } from "commander";
import { formatRuleProblem, lintRules, rulesForFiles, type RuleFileText } from "../../codex/index.ts";

/** Every `*.md` rule file under a directory (recursively), sorted for stable output. */
export function readRuleFiles(dir: string): RuleFileText[] {
  if (!existsSync(dir)) throw new Error(`${dir}: no such directory`);
  const out: RuleFileText[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current).sort()) {
      const full = join(current, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith(".md") && entry.toLowerCase() !== "readme.md") out.push({ source: relative(process.cwd(), full) || full, text: readFileSync(full, "utf8") });
    }
  };
  walk(dir);
  return out;
}

export function registerCodex(program: Command): void {
  const codex = program
    .command("codex")
    .description('Engineering Codex: the team\'s "if you need X, use Y" rules that `gatehouse review` enforces.')
    .addHelpText("after", "\nA rule is a Markdown file with YAML frontmatter (id, title, rfc, severity, languages, paths, exceptions)\nand `## Bad` / `## Good` sections holding a fenced code example each. See docs/codex.md.");

  codex
    .command("lint")
    .description("Validate every rule file in a directory; lists all problems as file:line: message and exits 1 if there are any.")
    .argument("[dir]", "directory of rule files", "codex")
    .option("--json", "print the result as JSON")
    .action((dir: string, opts: { json?: boolean }) => {
      const { rules, problems } = lintRules(readRuleFiles(dir));
      if (opts.json) process.stdout.write(`${JSON.stringify({ rules: rules.map((r) => r.id), problems }, null, 2)}\n`);
      else {
        for (const p of problems) process.stderr.write(`${formatRuleProblem(p)}\n`);
        process.stdout.write(`${rules.length} valid rule(s), ${problems.length} problem(s)\n`);
      }
      if (problems.length > 0) process.exitCode = 1;
    });

  codex
    .command("list")
    .description("List the rules, or only those that apply to the given changed files (what the Codex reviewer is given).")
    .argument("[dir]", "directory of rule files", "codex")
    .option("-f, --files <paths...>", "changed file paths to select rules for")
    .action((dir: string, opts: { files?: string[] }) => {
      const { rules, problems } = lintRules(readRuleFiles(dir));
      if (problems.length > 0) throw new Error(`invalid rules; run \`gatehouse codex lint ${dir}\``);
      const shown = opts.files ? rulesForFiles(rules, opts.files) : rules;
      for (const r of shown) process.stdout.write(`${r.id}\t${r.severity}\t${r.title}\n`);
    });
}
