import type { Command } from "commander";
import { registerServe } from "./serve.ts";
import { registerUsage } from "./usage.ts";

/** Every CLI command, in the order `gatehouse --help` lists them. Add one line per command. */
export const commands: ReadonlyArray<(program: Command) => void> = [registerServe, registerUsage];
