import type { Command } from "commander";
import { parseSettings } from "../../core/settings.ts";
import { shutdownExitCode, startGateway } from "../../adapters/node/server.ts";
import { startupSummary } from "../../adapters/node/startup-summary.ts";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("Start the gateway (embedded SQLite store under ./.gatehouse by default).")
    .option("-c, --config <dir>", "organisation config directory (gatehouse.yaml, agents/, commands/…); env GATEHOUSE_CONFIG; without one no provider is served")
    .option("-H, --host <host>", "interface to bind; env GATEHOUSE_HOST (default 127.0.0.1)")
    .option("-p, --port <port>", "port to listen on, 0 for any free one; env GATEHOUSE_PORT (default 8787)")
    .option("-d, --data-dir <dir>", "directory for the SQLite database and local state; env GATEHOUSE_DATA_DIR (default ./.gatehouse)")
    .addHelpText(
      "after",
      `
Provider keys are read server-side from the environment (ANTHROPIC_API_KEY, OPENAI_API_KEY,
GEMINI_API_KEY, COMPAT_API_KEY, or the names set in the config) or GATEHOUSE_SECRETS_FILE.
In dev auth mode (GATEHOUSE_AUTH_MODE, default dev) a token is generated into
<data-dir>/dev-token and printed at start. DATABASE_URL=postgres://… uses PostgreSQL instead
of SQLite; GATEHOUSE_LOG_LEVEL sets the log level (default info). At start it prints the
config, store, providers with their key found or missing, and the dashboard and OpenCode URLs.

Example:
  gatehouse serve --config examples/config`,
    )
    .action(async (opts: { config?: string; host?: string; port?: string; dataDir?: string }) => {
      const settings = parseSettings(process.env, { configDir: opts.config, host: opts.host, port: opts.port, dataDir: opts.dataDir });
      const gateway = await startGateway({ settings });
      const { config, secrets } = gateway.deps;
      process.stderr.write(startupSummary({ url: gateway.url, settings, config: config.current(), secrets, ...(gateway.devToken ? { devToken: gateway.devToken } : {}) }));
      const stop = (signal: string) => {
        process.stderr.write(`${signal}: finishing in-flight requests and flushing the ledger…\n`);
        gateway.close().then(
          (report) => {
            // Non-zero when the store did not take every row (docs/deploy.md, "When the store fails").
            const code = shutdownExitCode(report);
            if (report.spooled > 0) process.stderr.write(`${report.spooled} ledger rows could not be written to the store; they are spooled in ${report.spoolFile ?? "the data dir"} and replayed at the next start (exit ${code}).\n`);
            if (report.lost > 0) process.stderr.write(`${report.lost} ledger rows were lost (exit ${code}); see the log for why.\n`);
            process.exit(code);
          },
          (err: unknown) => {
            process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
}
