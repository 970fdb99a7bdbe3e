import type { Command } from "commander";
import { systemClock } from "../../core/clock.ts";
import { parseSettings, type Settings } from "../../core/settings.ts";
import { openStore } from "../../adapters/node/server.ts";
import { openExistingStore } from "../../adapters/node/existing-store.ts";
import { AdminService, DEFAULT_ROLLOVER_GRACE_MS } from "../../identity/index.ts";
import { cliAdminContext } from "../admin-context.ts";
import { renderTable } from "../table.ts";
import { PROVIDER_IDS } from "../../providers/index.ts";

const DATA_DIR_HELP = "data directory of the gateway; env GATEHOUSE_DATA_DIR (DATABASE_URL for PostgreSQL)";

/**
 * `gatehouse service-account …`: non-human callers (CI, bots, batch jobs) with scoped keys.
 * Run where the gateway's store is reachable; the gateway itself reads the same tables.
 */
export function registerServiceAccount(program: Command): void {
  const sa = program.command("service-account").description("Create and list service accounts (CI, bots, batch jobs) and add or revoke their ghsa_ keys. Keys work in every auth mode; running gateways see a revocation within 2 x GATEHOUSE_REVOCATION_POLL_MS.");

  sa.command("create")
    .description("Create a service account and its first key; prints the key on stdout, once (only its hash is stored).")
    .argument("<name>", "account name: 2-63 characters of a-z, 0-9, '.', '_', '-'")
    .requiredOption("-g, --group <group>", "required: owning group: its policy applies, and the ledger shows spend under it")
    .requiredOption("--route <provider...>", `required: provider routes the key may call (${PROVIDER_IDS.join(", ")}, or *)`)
    .option("--model <glob...>", 'model globs the key may use, "provider/model" with *, e.g. "openai/gpt-4o-mini*"')
    .option("--mcp <server...>", "MCP portal servers the key may use (* = those the group may use)")
    .option("--scope <scope...>", "extra scopes: metrics:read (scrape /metrics), admin (call the admin API, /admin/v1)")
    .option("--daily-usd <amount>", "the account's own daily budget (the tighter of this and the group's per-member cap applies)")
    .option("--monthly-usd <amount>", "the account's own monthly budget")
    .option("--rpm <n>", "the account's own requests per minute")
    .option("--tpm <n>", "the account's own tokens per minute")
    .option("--expires <when>", "when the account expires: an ISO date or a duration (90d, 12h, 30m)")
    .option("--key-ttl <duration>", "lifetime of the first key (90d, 12h, 30m); default: until revoked")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .addHelpText("after", '\nExample:\n  gatehouse service-account create ci-reviewer --group eng --route openai --model "openai/gpt-4o-mini*" --daily-usd 5 --key-ttl 90d > ci-key.txt')
    .action(async (name: string, opts: CreateOptions) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      const scopes = (opts.scope ?? []).map((s) => s.trim());
      const unknown = scopes.filter((s) => s !== "metrics:read" && s !== "admin");
      if (unknown.length) throw new Error(`unknown --scope ${unknown.join(", ")}; the extra scopes are metrics:read and admin`);
      const now = systemClock.now();
      await withStore(settings, openStore, async (service) => {
        const { account, key } = await service.createServiceAccount(
          cliAdminContext(),
          {
            name,
            ownerGroup: opts.group,
            scopes: { routes: opts.route, models: opts.model ?? [], mcpServers: opts.mcp ?? [], metricsRead: scopes.includes("metrics:read"), admin: scopes.includes("admin") },
            limits: {
              ...(opts.dailyUsd !== undefined ? { dailyUsd: number(opts.dailyUsd, "--daily-usd") } : {}),
              ...(opts.monthlyUsd !== undefined ? { monthlyUsd: number(opts.monthlyUsd, "--monthly-usd") } : {}),
              ...(opts.rpm !== undefined ? { requestsPerMinute: number(opts.rpm, "--rpm") } : {}),
              ...(opts.tpm !== undefined ? { tokensPerMinute: number(opts.tpm, "--tpm") } : {}),
            },
            ...(opts.expires !== undefined ? { expiresAt: instant(opts.expires, now, "--expires") } : {}),
          },
          opts.keyTtl !== undefined ? duration(opts.keyTtl, "--key-ttl") : undefined,
        );
        process.stderr.write(`Service account ${account.name} (id ${account.id}, group ${account.ownerGroup}); key ${key.record.id}${expiryText(key.record.expiresAt)}. Store the key now: it is not shown again.\n`);
        process.stdout.write(`${key.key}\n`);
      });
    });

  sa.command("list")
    .description("List service accounts: name, id, owning group, scopes, own limits, expiry, active keys.")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .action(async (opts: { dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      await withStore(settings, openExistingStore, async (service) => {
        const rows = await service.listServiceAccounts();
        const limits = (l: Record<string, number | undefined>) =>
          Object.entries(l)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ");
        process.stdout.write(
          `${renderTable(
            ["name", "id", "group", "routes", "models", "mcp", "scopes", "limits", "expires", "active keys"],
            rows.map((a) => [
              a.name,
              a.id,
              a.ownerGroup,
              a.scopes.routes.join(" "),
              a.scopes.models.join(" "),
              a.scopes.mcpServers.join(" "),
              [a.scopes.metricsRead ? "metrics:read" : "", a.scopes.admin ? "admin" : ""].filter(Boolean).join(" "),
              limits(a.limits),
              a.expiresAt ? iso(a.expiresAt) : "",
              String(a.activeKeys),
            ]),
          )}\n`,
        );
      });
    });

  const key = sa.command("key").description("Add, list and revoke a service account's keys (rotation: add a new key, roll it out, revoke the old one).");

  key
    .command("add")
    .description("Add a key to an account and print it on stdout, once; the account's other keys keep working.")
    .argument("<name>", "the service account")
    .option("--ttl <duration>", "lifetime of the key (90d, 12h, 30m); default: until revoked")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .action(async (name: string, opts: { ttl?: string; dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      await withStore(settings, openExistingStore, async (service) => {
        const created = await service.addKey(cliAdminContext(), name, opts.ttl !== undefined ? duration(opts.ttl, "--ttl") : undefined);
        process.stderr.write(`Key ${created.record.id} for ${name}${expiryText(created.record.expiresAt)}. Store it now: it is not shown again.\n`);
        process.stdout.write(`${created.key}\n`);
      });
    });

  key
    .command("list")
    .description("List an account's keys: id, hint (the first characters), created, expires, revoked.")
    .argument("<name>", "the service account")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .action(async (name: string, opts: { dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      await withStore(settings, openExistingStore, async (service) => {
        const rows = await service.listKeys(name);
        process.stdout.write(
          `${renderTable(
            ["key id", "hint", "created", "expires", "revoked", "reason"],
            rows.map((k) => [k.id, k.hint, iso(k.createdAt), k.expiresAt ? iso(k.expiresAt) : "", k.revokedAt ? iso(k.revokedAt) : "", k.revokedReason ?? ""]),
          )}\n`,
        );
      });
    });

  key
    .command("revoke")
    .description("Revoke one key by id; running gateways refuse it within 2 x GATEHOUSE_REVOCATION_POLL_MS (6 s by default).")
    .argument("<name>", "the service account")
    .argument("<keyId>", "the key id from `gatehouse service-account key list <name>`")
    .option("-r, --reason <text>", "why (kept with the revocation)", "revoked by admin")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .action(async (name: string, keyId: string, opts: { reason: string; dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      await withStore(settings, openExistingStore, async (service) => {
        await service.revokeKey(cliAdminContext(), name, keyId, opts.reason);
        process.stdout.write(`revoked key ${keyId} of ${name}\n`);
      });
    });

  key
    .command("rollover")
    .description("Roll a key over: print a new key on stdout, once, and keep the old one working only for --grace more (then it expires); both work until then.")
    .argument("<name>", "the service account")
    .argument("<keyId>", "the key to replace, from `gatehouse service-account key list <name>`")
    .option("--grace <duration>", "how long the old key keeps working (90d, 12h, 30m)", "24h")
    .option("--ttl <duration>", "lifetime of the new key (90d, 12h, 30m); default: until revoked")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .action(async (name: string, keyId: string, opts: { grace: string; ttl?: string; dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      const graceMs = opts.grace === "24h" ? DEFAULT_ROLLOVER_GRACE_MS : duration(opts.grace, "--grace");
      await withStore(settings, openExistingStore, async (service) => {
        const { created, old } = await service.rollOverKey(cliAdminContext(), name, keyId, graceMs, opts.ttl !== undefined ? duration(opts.ttl, "--ttl") : undefined);
        process.stderr.write(`Key ${created.record.id} for ${name}${expiryText(created.record.expiresAt)}; the old key ${old.id}${expiryText(old.expiresAt)}. Store the new key now: it is not shown again.\n`);
        process.stdout.write(`${created.key}\n`);
      });
    });

  sa.command("disable")
    .description("Disable a service account: every key of it is refused by running gateways within 2 x GATEHOUSE_REVOCATION_POLL_MS.")
    .argument("<name>", "the service account")
    .option("-r, --reason <text>", "why (kept in the admin audit log)", "disabled by admin")
    .option("-d, --data-dir <dir>", DATA_DIR_HELP)
    .action(async (name: string, opts: { reason: string; dataDir?: string }) => {
      const settings = parseSettings(process.env, { dataDir: opts.dataDir });
      await withStore(settings, openExistingStore, async (service) => {
        await service.disableServiceAccount(cliAdminContext(), name, opts.reason);
        process.stdout.write(`disabled service account ${name}\n`);
      });
    });
}

interface CreateOptions {
  group: string;
  route: string[];
  model?: string[];
  mcp?: string[];
  scope?: string[];
  dailyUsd?: string;
  monthlyUsd?: string;
  rpm?: string;
  tpm?: string;
  expires?: string;
  keyTtl?: string;
  dataDir?: string;
}

async function withStore(settings: Settings, open: typeof openStore, run: (service: AdminService) => Promise<void>): Promise<void> {
  const db = await open(settings);
  try {
    await run(new AdminService(db, systemClock));
  } finally {
    await db.destroy();
  }
}

function number(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number, got "${text}"`);
  return value;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90d", "12h", "30m" in milliseconds. */
export function duration(text: string, flag: string): number {
  const match = /^(\d+)([mhd])$/.exec(text.trim());
  if (!match) throw new Error(`${flag} must be a duration such as 90d, 12h or 30m, got "${text}"`);
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

/** A duration from now, or an ISO date. */
export function instant(text: string, now: number, flag: string): number {
  if (/^\d+[mhd]$/.test(text.trim())) return now + duration(text, flag);
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new Error(`${flag} must be an ISO date (2027-01-31) or a duration (90d), got "${text}"`);
  return at;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

function expiryText(expiresAt: number | null): string {
  return expiresAt === null ? ", valid until revoked" : `, valid until ${iso(expiresAt)}`;
}
