import { Command, CommanderError } from "commander";
import { commands } from "./commands/index.ts";

/** Builds the `gatehouse` program; each command lives in commands/<name>.ts. */
export function buildProgram(): Command {
  const program = new Command("gatehouse")
    .description("Gatehouse: one control point for your organisation's AI coding tools.")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`gatehouse: ${message}\n`);
    process.exitCode = 1;
  }
}
