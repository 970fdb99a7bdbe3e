import type { Logger } from "../../core/logger.ts";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type Level = (typeof LEVELS)[number];

/** One JSON line per entry on the console, which Workers Logs and `wrangler tail` collect. */
export function createConsoleLogger(level: Level): Logger {
  const min = LEVELS.indexOf(level);
  const write = (at: Level, fields: Record<string, unknown>, message: string) => {
    if (LEVELS.indexOf(at) < min) return;
    const line = JSON.stringify({ level: at, msg: message, time: Date.now(), ...fields });
    if (at === "error" || at === "warn") console.error(line);
    else console.log(line);
  };
  return {
    debug: (fields, message) => write("debug", fields, message),
    info: (fields, message) => write("info", fields, message),
    warn: (fields, message) => write("warn", fields, message),
    error: (fields, message) => write("error", fields, message),
  };
}
