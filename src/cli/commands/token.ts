import type { Command } from "commander";
import { parseSettings, type Settings } from "../../core/settings.ts";
import { systemClock } from "../../core/clock.ts";
import { openStore } from "../../adapters/node/store.ts";
import { openExistingStore } from "../../adapters/node/existing-store.ts";
import { loadOrCreateSigningKey } from "../../adapters/node/identity/index.ts";
import { AdminService, assertDevModeAllowed, AnonymousIds, normalizeEmail, TokenIssuer } from "../../identity/index.ts";
import { cliAdminContext } from "../admin-context.ts";
import { renderTable } from "../table.ts";

export function registerToken(program: Command): void {
  const token = program.command("token").description("Issue, list and revoke Gatehouse-signed tokens (dev and oidc auth modes). Run on the gateway host: it uses the data directory's store and signing key.");

  token
    .command("issue")
    .description("Issue a token for an email and print it (stdout: the token only). In dev mode this is how you sign in on a laptop.")
    .requiredOption("-e, --email <email>", "required: whose token it is")
    .option("-g, --group <group...>", "groups to put in the token (the first is the ledger team); the dashboard needs one of policy.dashboard.adminGroups, by default admin")
    .option("--ttl <seconds>", "lifetime in seconds; env GATEHOUSE_TOKEN_TTL")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .addHelpText(
      "after",
      '\nExamples:\n  export GATEHOUSE_TOKEN=$(gatehouse token issue --email you@example.com)\n  curl -H "authorization: Bearer $GATEHOUSE_TOKEN" http://127.0.0.1:8787/anthropic/v1/messages …\n  gatehouse token issue --email you@example.com --group admin    # can sign in to /dashboard',
    )
    .action(async (opts: { email: string; group?: string[]; ttl?: string; dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir, tokenTtlSeconds: opts.ttl });
      if (settings.authMode === "jwt") throw new Error("GATEHOUSE_AUTH_MODE=jwt: callers use the identity-aware proxy's tokens; Gatehouse tokens would not be accepted.");
      assertDevModeAllowed(settings);
      const email = normalizeEmail(opts.email);
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new Error(`--email must be an email address, got "${opts.email}"`);
      await withStore(settings, openStore, async (db) => {
        const key = await loadOrCreateSigningKey(settings);
        const groups = opts.group ?? [];
        const callerId = await new AnonymousIds(db, systemClock).idFor(email);
        // Audited like every admin action; the token itself is never in the log.
        const issued = await new AdminService(db, systemClock).issueToken(cliAdminContext(), email, groups, () => new TokenIssuer(key, db, systemClock).issue({ email, callerId, groups, source: "cli", ttlSeconds: settings.tokenTtlSeconds }));
        process.stderr.write(`Token ${issued.jti} for ${email} (anonymous id ${callerId}), valid until ${new Date(issued.expiresAt).toISOString()}\n`);
        process.stdout.write(`${issued.token}\n`);
      });
    });

  token
    .command("list")
    .description("List live tokens (newest first): id, anonymous caller id, source, issue and expiry time, revocation.")
    .option("-e, --email <email>", "only this person's tokens")
    .option("--all", "include expired tokens")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .action(async (opts: { email?: string; all?: boolean; dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      await withStore(settings, openExistingStore, async (db) => {
        const rows = await new AdminService(db, systemClock).listTokens({ ...(opts.email ? { email: opts.email } : {}), includeExpired: Boolean(opts.all) });
        const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
        process.stdout.write(
          `${renderTable(
            ["token id", "caller id", "source", "issued", "expires", "revoked"],
            rows.map((r) => [r.jti, r.callerId, r.source, iso(r.issuedAt), iso(r.expiresAt), r.revokedAt ? iso(r.revokedAt) : ""]),
          )}\n`,
        );
      });
    });

  token
    .command("revoke")
    .description(
      "Revoke one token by id (a Gatehouse token, or in jwt mode the proxy's jti), every token of an email, every token carrying a group, or (jwt mode) every token of a subject, issued up to now. Running gateways refuse them within 2 x GATEHOUSE_REVOCATION_POLL_MS (6 s by default); a later sign-in works.",
    )
    .argument("[tokenId]", "the token id (jti) from `gatehouse token list`, or a jwt-mode token's jti")
    .option("-e, --email <email>", "revoke all of this person's tokens (Gatehouse-issued and, in jwt mode, the proxy's)")
    .option("--sub <subject>", "jwt mode: revoke every token with this `sub` claim issued up to now")
    .option("--group <group>", "revoke every person's token carrying this group (its groups claim) issued up to now")
    .option("-r, --reason <text>", "why (kept with the revocation)", "revoked by admin")
    .option("-d, --data-dir <dir>", "data directory of the gateway; env GATEHOUSE_DATA_DIR")
    .action(async (tokenId: string | undefined, opts: { email?: string; sub?: string; group?: string; reason: string; dataDir?: string }) => {
      const given = [tokenId, opts.email, opts.sub, opts.group].filter((v) => v !== undefined);
      if (given.length !== 1) throw new Error("give exactly one of a token id, --email, --sub or --group");
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      await withStore(settings, openExistingStore, async (db) => {
        const service = new AdminService(db, systemClock);
        const ctx = cliAdminContext();
        if (opts.sub !== undefined) {
          await service.revoke(ctx, "sub", opts.sub, opts.reason);
          process.stdout.write(`revoked every token of subject ${opts.sub} issued up to now\n`);
          return;
        }
        if (opts.group !== undefined) {
          await service.revoke(ctx, "group", opts.group, opts.reason);
          process.stdout.write(`revoked every token carrying group ${opts.group} issued up to now\n`);
          return;
        }
        // By id or email: Gatehouse-issued tokens are marked revoked, and the shared revocation
        // list covers the tokens Gatehouse did not sign (jwt mode) too.
        const { gatehouseTokens: count } = tokenId ? await service.revoke(ctx, "jti", tokenId, opts.reason) : await service.revoke(ctx, "email", opts.email as string, opts.reason);
        process.stdout.write(
          tokenId
            ? `revoked token ${tokenId}${count === 0 ? " (not a Gatehouse-issued token: refused as a jwt-mode token id)" : ""}\n`
            : `revoked ${count} Gatehouse token${count === 1 ? "" : "s"} of ${opts.email}, and every other token of that email issued up to now\n`,
        );
      });
    });
}

/** `issue` may create the store (first run on a laptop); `list` and `revoke` only read an existing one. */
async function withStore<T>(settings: Settings, open: typeof openStore, run: (db: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const db = await open(settings);
  try {
    return await run(db);
  } finally {
    await db.destroy();
  }
}
