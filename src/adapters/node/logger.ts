import pino from "pino";
import type { Logger } from "../../core/logger.ts";
import type { Settings } from "../../core/settings.ts";

/**
 * JSON logs via pino. Redaction is a second line of defence: the code never passes bodies,
 * keys or tokens as fields in the first place.
 */
export function createPinoLogger(level: Settings["logLevel"], destination: NodeJS.WritableStream = process.stderr): Logger {
  const logger = pino(
    {
      level,
      base: { service: "gatehouse" },
      redact: {
        paths: ["*.authorization", "*.apiKey", "*.api_key", "*.token", "*.key", "*.password", "*.secret", "headers", "body"],
        censor: "[redacted]",
      },
    },
    destination,
  );
  return {
    debug: (fields, message) => logger.debug(fields, message),
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error: (fields, message) => logger.error(fields, message),
  };
}
