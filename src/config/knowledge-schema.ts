import { z } from "zod";

/**
 * The `knowledge:` part of the org config (gatehouse.yaml): where the service catalog comes
 * from and how often it is refreshed. The one source of truth for the sources: `gatehouse
 * serve` refreshes them periodically, `gatehouse knowledge refresh --source <name>` on
 * demand. Tokens are named, never written here: `tokenSecret` is an env var or a key of the
 * secrets file, resolved by the gateway.
 */
const sourceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "source names use lower-case letters, digits, '.', '_' and '-'")
  .describe("Source id: entities remember it, `gatehouse knowledge refresh --source <name>` and the status name it.");

/** Prefixes of GitHub and GitLab tokens: a value with one is a token pasted where its name belongs. */
const TOKEN_PREFIXES = /^(ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|glpat-|gldt-|glptt-)/;

const secretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of an env var or secrets-file key, not the token itself")
  .refine((name) => !TOKEN_PREFIXES.test(name), "this looks like a token: put the token in an env var or the secrets file and write that name here");

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/** A token goes to this URL: https, or plain http to loopback only (tests, a local Backstage). */
const tokenUrl = (what: string) =>
  z.url().refine((value) => {
    const url = new URL(value);
    return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
  }, `${what} must be https:// (plain http only to 127.0.0.1, ::1 or localhost): a token is sent there`);

const maxFileBytes = z
  .number()
  .int()
  .positive()
  .max(16 * 1024 * 1024)
  .default(1024 * 1024)
  .describe("Larger descriptors are reported, not downloaded.");
const descriptorPath = z
  .string()
  .regex(/^[^/.][^\0]*$/, "a path inside the repository, without a leading / or .")
  .refine((path) => !path.split("/").includes(".."), "may not contain ..")
  .default("catalog-info.yaml")
  .describe("Descriptor path in each repository.");

export const localSourceSchema = z
  .object({
    type: z.literal("local"),
    name: sourceName,
    path: z.string().min(1).describe("A checkout, or a directory of checkouts, on the gateway's machine."),
    depth: z.number().int().min(0).max(10).default(4).describe("Directory levels searched below `path`."),
  })
  .strict();

export const githubSourceSchema = z
  .object({
    type: z.literal("github"),
    name: sourceName,
    org: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, "a GitHub organization login"),
    apiUrl: tokenUrl("apiUrl").default("https://api.github.com").describe("REST API root; GitHub Enterprise Server: https://<host>/api/v3."),
    tokenSecret: secretName.describe("Secret holding a token with contents: read on the org's repositories."),
    path: descriptorPath,
    includeArchived: z.boolean().default(false),
    includeForks: z.boolean().default(false),
    maxFileBytes,
  })
  .strict();

export const gitlabSourceSchema = z
  .object({
    type: z.literal("gitlab"),
    name: sourceName,
    group: z.string().min(1).describe("Group id or full path (platform/services)."),
    apiUrl: tokenUrl("apiUrl").default("https://gitlab.com/api/v4").describe("REST API root: https://<host>/api/v4."),
    tokenSecret: secretName.describe("Secret holding a token with read_api."),
    path: descriptorPath,
    includeSubgroups: z.boolean().default(true),
    includeArchived: z.boolean().default(false),
    maxFileBytes,
  })
  .strict();

export const backstageSourceSchema = z
  .object({
    type: z.literal("backstage"),
    name: sourceName,
    url: tokenUrl("url").describe("The Backstage backend's base URL (backend.baseUrl); the catalog API is /api/catalog."),
    tokenSecret: secretName.optional().describe("Secret holding a static external-access token (backend.auth.externalAccess)."),
    filter: z
      .record(z.string().min(1), z.union([z.string(), z.array(z.string())]))
      .optional()
      .describe("Catalog API filter, e.g. {kind: [Component, API]}; default: every kind this catalog validates."),
    pageSize: z.number().int().min(1).max(1000).default(500),
  })
  .strict();

export const knowledgeSourceSchema = z.discriminatedUnion("type", [localSourceSchema, githubSourceSchema, gitlabSourceSchema, backstageSourceSchema]);

export const knowledgeRefreshSchema = z
  .object({
    enabled: z.boolean().default(true).describe("Refresh the sources periodically in `gatehouse serve`."),
    intervalMinutes: z
      .number()
      .positive()
      .max(7 * 24 * 60)
      .default(60)
      .describe("Time between two refreshes of a source that succeeded."),
    jitter: z.number().min(0).max(0.5).default(0.1).describe("Each interval is stretched or shrunk at random by up to this share, so sources and instances do not refresh in step."),
    retryMinutes: z.number().positive().default(1).describe("First retry of a failing source; doubled on each failure in a row."),
    maxRetryMinutes: z.number().positive().default(60).describe("Longest wait between retries of a failing source."),
  })
  .strict();

const DEFAULT_REFRESH = { enabled: true, intervalMinutes: 60, jitter: 0.1, retryMinutes: 1, maxRetryMinutes: 60 };

export const knowledgeConfigSchema = z
  .object({
    sources: z.array(knowledgeSourceSchema).default([]).describe("Where catalog-info.yaml descriptors and entities come from; refreshed one at a time, in this order."),
    refresh: knowledgeRefreshSchema.default(DEFAULT_REFRESH),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    for (const [index, source] of config.sources.entries()) {
      if (seen.has(source.name)) ctx.addIssue({ code: "custom", path: ["sources", index, "name"], message: `source "${source.name}" is defined twice; names must be unique` });
      seen.add(source.name);
    }
  });

export type KnowledgeConfig = z.infer<typeof knowledgeConfigSchema>;
export type KnowledgeSourceConfig = z.infer<typeof knowledgeSourceSchema>;
export type KnowledgeRefreshConfig = z.infer<typeof knowledgeRefreshSchema>;
