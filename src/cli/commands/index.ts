import type { Command } from "commander";

type Register = (program: Command) => void;

/**
 * Every CLI command, in the order `gatehouse --help` lists them: its name and how to load the
 * module that registers it. Modules load on demand, so `gatehouse login` does not load the
 * server and `--version` loads no command at all. Add one line per command.
 */
export const commandModules: ReadonlyArray<{ name: string; load: () => Promise<Register> }> = [
  { name: "serve", load: async () => (await import("./serve.ts")).registerServe },
  { name: "usage", load: async () => (await import("./usage.ts")).registerUsage },
  { name: "login", load: async () => (await import("./login.ts")).registerLogin },
  { name: "setup", load: async () => (await import("./setup.ts")).registerSetup },
  { name: "token", load: async () => (await import("./token.ts")).registerToken },
  { name: "identity", load: async () => (await import("./identity.ts")).registerIdentity },
  { name: "config", load: async () => (await import("./config.ts")).registerConfig },
  { name: "review", load: async () => (await import("./review.ts")).registerReview },
  { name: "codex", load: async () => (await import("./codex.ts")).registerCodex },
  { name: "mcp", load: async () => (await import("./mcp.ts")).registerMcp },
  { name: "knowledge", load: async () => (await import("./knowledge.ts")).registerKnowledge },
  { name: "agents-md", load: async () => (await import("./agents-md.ts")).registerAgentsMd },
  { name: "service-account", load: async () => (await import("./service-account.ts")).registerServiceAccount },
  { name: "budget", load: async () => (await import("./budget.ts")).registerBudget },
];

/**
 * The commands an argv needs registered: the named one (also after `help`); none for a bare
 * `--version`; all of them otherwise (top-level help, an unknown command, so commander can list
 * them and suggest the nearest).
 */
export function commandsFor(argv: readonly string[]): typeof commandModules {
  const args = argv.slice(2);
  const first = args.find((a) => !a.startsWith("-"));
  const named = (name: string | undefined) => commandModules.filter((c) => c.name === name);
  if (first === "help") {
    const topic = args.slice(args.indexOf("help") + 1).find((a) => !a.startsWith("-"));
    return topic && named(topic).length > 0 ? named(topic) : commandModules;
  }
  if (first !== undefined && named(first).length > 0) return named(first);
  if (first === undefined && args.length > 0 && args.every((a) => a === "-V" || a === "--version")) return [];
  return commandModules;
}
