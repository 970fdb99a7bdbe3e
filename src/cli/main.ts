import { Command, CommanderError } from "commander";
import packageJson from "../../package.json" with { type: "json" };
import { commandModules, commandsFor } from "./commands/index.ts";

/** Builds the `gatehouse` program with the given commands (each lives in commands/<name>.ts). */
export async function buildProgram(commands: typeof commandModules = commandModules): Promise<Command> {
  const program = new Command("gatehouse").description("Gatehouse: one control point for your organisation's AI coding tools.").version(packageJson.version).showHelpAfterError().exitOverride();
  const registers = await Promise.all(commands.map((c) => c.load()));
  for (const register of registers) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `gatehouse … | head` closes the pipe early: end quietly instead of an EPIPE stack.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(process.exitCode ?? 0);
  });
  try {
    const program = await buildProgram(commandsFor(argv));
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
