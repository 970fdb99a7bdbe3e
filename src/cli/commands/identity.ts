import { userInfo } from "node:os";
import type { Command } from "commander";
import { parseSettings } from "../../core/settings.ts";
import { systemClock } from "../../core/clock.ts";
import { openExistingStore } from "../../adapters/node/existing-store.ts";
import { IdentityAdmin } from "../../identity/index.ts";
import { renderTable } from "../table.ts";

export function registerIdentity(program: Command): void {
  const identity = program.command("identity").description("Admin: anonymous ids. Upstreams and the ledger only see ids; resolving one to an email is audited.");

  identity
    .command("resolve")
    .description("Print the email behind an anonymous id. Writes an audit row (who, when, why) before answering.")
    .argument("<id>", "the anonymous id (UUID) from the ledger or a provider's logs")
    .requiredOption("-r, --reason <text>", "required: why you need to know (kept in the audit log)")
    .option("--actor <name>", "who is asking; defaults to the OS user")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .addHelpText("after", '\nExample:\n  gatehouse identity resolve 3f0c…-… --reason "INC-1234: runaway spend"')
    .action(async (id: string, opts: { reason: string; actor?: string; dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      const db = await openExistingStore(settings);
      try {
        const email = await new IdentityAdmin(db, systemClock).resolve(id, opts.actor ?? userInfo().username, opts.reason);
        if (!email) throw new Error(`no identity with id ${id} (the lookup was still audited)`);
        process.stdout.write(`${email}\n`);
      } finally {
        await db.destroy();
      }
    });

  identity
    .command("audit")
    .description("Show the audit log of resolved ids, newest first.")
    .option("-n, --limit <n>", "rows to show", "50")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .action(async (opts: { limit: string; dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      const db = await openExistingStore(settings);
      try {
        const rows = await new IdentityAdmin(db, systemClock).auditLog(Number(opts.limit));
        process.stdout.write(
          `${renderTable(
            ["time", "actor", "action", "id", "reason"],
            rows.map((r) => [new Date(r.ts).toISOString(), r.actor, r.action, r.callerId, r.reason]),
          )}\n`,
        );
      } finally {
        await db.destroy();
      }
    });
}
