/**
 * Standalone fake upstream for benchmarks and manual runs:
 *   node --import tsx test/fake-upstream/main.ts --port 9999 [--delay-ms 20]
 * Prints its URL on the first line of stdout, then serves until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { defaultKeys, startFakeUpstream } from "./index.ts";

const help = `Usage: node --import tsx test/fake-upstream/main.ts [options]

Fake Anthropic, OpenAI and Gemini APIs on one port, speaking their real wire formats
(Anthropic /v1/messages, OpenAI /v1/chat/completions and /v1/responses, Gemini
/v1beta/models/{model}:generateContent and :streamGenerateContent). For benchmarks and
manual runs; tests import startFakeUpstream from test/fake-upstream/index.ts instead.

Options:
  --port <n>            port to listen on (default 0 = any free port)
  --host <addr>         address to bind (default 127.0.0.1)
  --delay-ms <n>        wait before response headers, like a model's time to first token (default 0)
  --chunk-delay-ms <n>  wait before each streamed text delta (default 0)
  --chunks <n>          text deltas per streamed answer (default 4)
  --anthropic-key <k>   accepted x-api-key (default ${defaultKeys.anthropic})
  --openai-key <k>      accepted Bearer key (default ${defaultKeys.openai})
  --google-key <k>      accepted x-goog-api-key / ?key= (default ${defaultKeys.google})
  -h, --help            show this help

Prints "fake-upstream listening on http://HOST:PORT" once ready.`;

function nonNegativeInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    process.stderr.write(`fake-upstream: --${name} must be a non-negative integer, got "${value}"\n`);
    process.exit(2);
  }
  return parsed;
}

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    "delay-ms": { type: "string" },
    "chunk-delay-ms": { type: "string" },
    chunks: { type: "string" },
    "anthropic-key": { type: "string" },
    "openai-key": { type: "string" },
    "google-key": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  strict: true,
});

if (values.help) {
  process.stdout.write(`${help}\n`);
  process.exit(0);
}

const chunkDelayMs = nonNegativeInt("chunk-delay-ms", values["chunk-delay-ms"]);
const chunks = nonNegativeInt("chunks", values.chunks);
const keys = {
  ...(values["anthropic-key"] ? { anthropic: values["anthropic-key"] } : {}),
  ...(values["openai-key"] ? { openai: values["openai-key"] } : {}),
  ...(values["google-key"] ? { google: values["google-key"] } : {}),
};
const fake = await startFakeUpstream({
  port: nonNegativeInt("port", values.port) ?? 0,
  host: values.host ?? "127.0.0.1",
  delayMs: nonNegativeInt("delay-ms", values["delay-ms"]) ?? 0,
  keys,
  // Benchmarks send many requests; recording every body would grow memory without bound.
  record: false,
});
fake.setDefault({
  ...(chunkDelayMs !== undefined ? { chunkDelayMs } : {}),
  ...(chunks !== undefined && chunks > 0 ? { chunks } : {}),
});
process.stdout.write(`fake-upstream listening on ${fake.url}\n`);

const shutdown = (): void => {
  fake.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`fake-upstream: close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
