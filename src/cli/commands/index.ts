import type { Command } from "commander";
import { registerServe } from "./serve.ts";
import { registerUsage } from "./usage.ts";
import { registerLogin } from "./login.ts";
import { registerToken } from "./token.ts";
import { registerIdentity } from "./identity.ts";
import { registerConfig } from "./config.ts";
import { registerReview } from "./review.ts";
import { registerCodex } from "./codex.ts";
import { registerMcp } from "./mcp.ts";

/** Every CLI command, in the order `gatehouse --help` lists them. Add one line per command. */
export const commands: ReadonlyArray<(program: Command) => void> = [registerServe, registerUsage, registerLogin, registerToken, registerIdentity, registerConfig, registerReview, registerCodex, registerMcp];
