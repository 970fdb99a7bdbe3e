import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { ConfigCompileError, formatIssue, orgConfigJsonSchema } from "../../config/index.ts";
import { buildWellKnown } from "../../discovery/index.ts";
import { parseSettings } from "../../core/settings.ts";
import { loadConfigDirectory } from "../../adapters/node/identity/config-dir.ts";

export function registerConfig(program: Command): void {
  const config = program
    .command("config")
    .description("Config as code: compile and check an organisation config directory (gatehouse.yaml, agents/*.md, commands/*.md).")
    .addHelpText(
      "after",
      `
Directory layout:
  gatehouse.yaml        providers, models, pricing, permission, instructions, mcp
  agents/<name>.md      OpenCode agents: YAML frontmatter (description, mode, model, temperature,
                        permission…), the body is the prompt; nested folders give group/name
  commands/<name>.md    OpenCode commands: frontmatter (description, agent, model, subtask),
                        the body is the template ($ARGUMENTS, !\`shell\`)

Errors name the file, line and field. See docs/config.md.`,
    );

  config
    .command("build")
    .description("Compile a config directory into one validated JSON (stdout, or --out file).")
    .argument("<dir>", "the config directory")
    .option("-o, --out <file>", "write the JSON here instead of stdout")
    .option("--opencode <baseUrl>", "print the /.well-known/opencode document a gateway at <baseUrl> would serve, instead of the org config")
    .addHelpText("after", "\nExamples:\n  gatehouse config build examples/config > config.json\n  gatehouse config build examples/config --opencode https://gateway.example.com")
    .action((dir: string, opts: { out?: string; opencode?: string }) => {
      const compiled = compileOrExplain(dir);
      const output = opts.opencode ? buildWellKnown(compiled, parseSettings(process.env), opts.opencode.replace(/\/+$/, ""), { listModels: () => [] }) : compiled;
      const json = `${JSON.stringify(output, null, 2)}\n`;
      if (opts.out) writeFileSync(opts.out, json);
      else process.stdout.write(json);
    });

  config
    .command("validate")
    .description("Check a config directory; prints every problem as file:line:column: field: message and exits 1 if any.")
    .argument("<dir>", "the config directory")
    .action((dir: string) => {
      const compiled = compileOrExplain(dir);
      process.stdout.write(`${dir}: OK (${Object.keys(compiled.providers).length} providers, ${Object.keys(compiled.agent).length} agents, ${Object.keys(compiled.command).length} commands, ${Object.keys(compiled.mcp).length} MCP servers)\n`);
    });

  config
    .command("schema")
    .description("Print the JSON Schema of gatehouse.yaml (generated from the zod schema), for editors and CI.")
    .action(() => {
      process.stdout.write(`${JSON.stringify(orgConfigJsonSchema(), null, 2)}\n`);
    });
}

function compileOrExplain(dir: string) {
  try {
    return loadConfigDirectory(dir);
  } catch (err) {
    if (err instanceof ConfigCompileError) {
      // The issues already name each file under <dir> (clickable from where the command ran).
      const lines = err.issues.map(formatIssue);
      throw new Error(`invalid config (${err.issues.length} ${err.issues.length === 1 ? "problem" : "problems"}):\n${lines.join("\n")}`);
    }
    throw err;
  }
}
