// Generates docs/settings.md from the zod settings schema (src/core/settings.ts) and the
// provider registry, so the page lists every variable with its real default and meaning.
//   npm run docs:settings            write docs/settings.md
//   npm run docs:settings -- --check exit 1 when docs/settings.md is not current
// test/docs/settings.test.ts fails when the page is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { settingsEnvNames, settingsSchema, type Settings } from "../../src/core/settings.ts";
import { providers } from "../../src/providers/registry.ts";

export const settingsPagePath = join(import.meta.dirname, "../../docs/settings.md");

interface JsonSchemaField {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  pattern?: string;
  description?: string;
}

/** Variables read outside the settings schema: the reviewer in CI. Meaning per name. */
export const reviewVariables: ReadonlyArray<{ name: string; meaning: string }> = [
  { name: "GATEHOUSE_REVIEW_CONFIG", meaning: "Default of `gatehouse review -c`: the review config file (else `.gatehouse/review.yaml`)." },
  { name: "GATEHOUSE_TOKEN", meaning: "The reviewer's gateway token (the review config's `gateway.tokenEnv` names the variable; this is its default)." },
  { name: "GITHUB_ACTIONS", meaning: "`true` in GitHub Actions: `--post auto` posts to GitHub." },
  { name: "GITHUB_EVENT_PATH", meaning: "`--post github`: the event file holding `pull_request.number`, title and body." },
  { name: "GITHUB_TOKEN", meaning: "`--post github`: token that may write pull request reviews." },
  { name: "GITHUB_REPOSITORY", meaning: "`--post github`: `owner/name` of the repository." },
  { name: "GITHUB_API_URL", meaning: "`--post github`: REST API base; default `https://api.github.com` (GitHub Enterprise: `https://<host>/api/v3`)." },
  { name: "GITHUB_BASE_REF", meaning: "`--post github`: the pull request's target branch, the default `--base` (`origin/<ref>`)." },
  { name: "GITLAB_CI", meaning: "`true` in GitLab CI: `--post auto` posts to GitLab." },
  { name: "GITLAB_TOKEN", meaning: "`--post gitlab`: a project access token with `api` scope (`CI_JOB_TOKEN` cannot write discussions)." },
  { name: "CI_API_V4_URL", meaning: "`--post gitlab`: API base; default `https://gitlab.com/api/v4`." },
  { name: "CI_PROJECT_ID", meaning: "`--post gitlab`: the project." },
  { name: "CI_MERGE_REQUEST_IID", meaning: "`--post gitlab`: the merge request." },
  { name: "CI_MERGE_REQUEST_DIFF_BASE_SHA", meaning: "`--post gitlab`: the default `--base`." },
  { name: "CI_MERGE_REQUEST_TITLE", meaning: "`--post gitlab`: change title given to the reviewers." },
  { name: "CI_MERGE_REQUEST_DESCRIPTION", meaning: "`--post gitlab`: change description given to the reviewers." },
];

/** Variables other commands read (not the gateway, not the reviewer). Meaning per name. */
export const commandVariables: ReadonlyArray<{ name: string; meaning: string }> = [
  { name: "GATEHOUSE_AGENTS_MD_MODEL", meaning: "Default of `gatehouse agents-md generate --model`: the model that writes the prose through the gateway (see [knowledge.md](knowledge.md))." },
  { name: "GATEHOUSE_URL", meaning: "Default of `gatehouse agents-md generate --gateway-url`: the gateway the model is called through." },
];

/** Variables read on a developer's machine by `gatehouse login` and `gatehouse setup` (docs/clients/). */
export const clientSetupVariables: ReadonlyArray<{ name: string; meaning: string }> = [
  { name: "HOME", meaning: "`gatehouse setup`: the home directory whose client config is written (`--home` wins); with `XDG_CONFIG_HOME` unset, the token cache is under it." },
  { name: "XDG_CONFIG_HOME", meaning: "`gatehouse login`: the token cache is `$XDG_CONFIG_HOME/gatehouse/tokens.json` (default `~/.config/gatehouse/tokens.json`, mode 0600)." },
  { name: "PATH", meaning: "`gatehouse setup`: when `gatehouse` on PATH is this CLI, the written config runs `gatehouse`; else this Node and this script by absolute path (`--helper` wins)." },
  { name: "ANTHROPIC_AUTH_TOKEN", meaning: "`gatehouse setup claude-code` warns when it (or `ANTHROPIC_API_KEY`) is set: Claude Code prefers them to apiKeyHelper." },
  {
    name: "AWS_BEARER_TOKEN_BEDROCK",
    meaning: "`gatehouse setup claude-code --bedrock` warns when it is set: Claude Code would send it instead of the gateway token. It also warns when `CLAUDE_CODE_USE_BEDROCK` or `CLAUDE_CODE_USE_VERTEX` is set for another mode than the one set up.",
  },
];

/** A table cell: pipes escaped; outside code spans also `<`, `>` and `*` (GitHub would read them as HTML or emphasis). */
function cell(text: string): string {
  return text
    .replace(/\n/g, " ")
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith("`") ? part : part.replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\*/g, "\\*")))
    .join("")
    .replace(/\|/g, "\\|");
}

function typeOf(field: JsonSchemaField): string {
  if (field.enum) return field.enum.map((v) => `\`${String(v)}\``).join(" \\| ");
  const types = Array.isArray(field.type) ? field.type : field.type ? [field.type] : [];
  if (types.includes("boolean")) return "`true` \\| `false`";
  if (field.format === "uri") return "URL";
  if (types.includes("integer") || types.includes("number")) {
    const maximum = field.maximum !== undefined && field.maximum < Number.MAX_SAFE_INTEGER ? field.maximum : undefined;
    const range = field.minimum !== undefined && maximum !== undefined ? ` ${field.minimum}–${maximum}` : field.minimum !== undefined ? ` ≥ ${field.minimum}` : field.exclusiveMinimum !== undefined ? ` > ${field.exclusiveMinimum}` : "";
    return `integer${range}`;
  }
  return "string";
}

function defaultOf(value: unknown): string {
  return value === undefined ? "—" : `\`${String(value)}\``;
}

/** The meaning without the "(ENV_NAME)" the schema texts carry for the error messages' sake. */
function meaningOf(description: string | undefined, envName: string): string {
  if (!description) throw new Error(`settings schema: field for ${envName} has no .describe() text; add one (it is the docs)`);
  return description.replace(new RegExp(`\\s*\\(${envName}\\)`), "").trim();
}

export function renderSettingsPage(): string {
  const json = z.toJSONSchema(settingsSchema, { io: "input" }) as { properties: Record<string, JsonSchemaField> };
  const defaults = settingsSchema.parse({}) as Partial<Settings>;
  const keys = Object.keys(settingsSchema.shape) as Array<keyof Settings>;
  const rows = keys.map((key) => {
    const env = settingsEnvNames[key];
    const field = json.properties[key] ?? {};
    return `| \`${env}\` | ${typeOf(field)} | ${defaultOf(defaults[key])} | ${cell(meaningOf(field.description, env))} |`;
  });
  const keyNote = (p: (typeof providers)[number]): string => {
    if (p.upstreamAuth === "aws-sigv4")
      return "with `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN` for temporary keys); unset, on Node, the standard AWS sources: `AWS_PROFILE` and the shared config files, SSO, web identity, an ECS or EC2 role (docs/providers/bedrock.md)";
    if (p.upstreamAuth === "google-service-account") return "the service-account key file's JSON; unset, on Node, the file `GOOGLE_APPLICATION_CREDENTIALS` names (docs/providers/vertex.md)";
    return p.keyOptional ? "optional (a local open-weight server may need none)" : "required to forward";
  };
  const keyRows = providers.map((p) => `| \`${p.defaultApiKeyEnv}\` | ${cell(p.displayName)} (\`${p.routePrefix}\`) | ${keyNote(p)} |`);
  const commandRows = commandVariables.map((v) => `| \`${v.name}\` | ${cell(v.meaning)} |`);
  const reviewRows = reviewVariables.map((v) => `| \`${v.name}\` | ${cell(v.meaning)} |`);
  const setupRows = clientSetupVariables.map((v) => `| \`${v.name}\` | ${cell(v.meaning)} |`);
  return `<!-- Generated by tools/docs/settings-page.ts from src/core/settings.ts and src/providers/registry.ts. Do not edit: run \`npm run docs:settings\`. -->
# Settings reference

Every environment variable Gatehouse reads. Process settings are parsed once at start by
the zod schema in \`src/core/settings.ts\`; an invalid value stops the process with a message
naming the variable. An empty variable counts as unset. The flags of \`gatehouse serve\`
(\`--config\`, \`--host\`, \`--port\`, \`--data-dir\`) win over the variables they name. The
organisation config (providers, policy, MCP servers…) is separate: see [config.md](config.md).

This page is generated from the schema: change a \`.describe()\` text there and run
\`npm run docs:settings\`; \`test/docs/settings.test.ts\` fails when the page is not current.

## Gateway process

| variable | type | default | meaning |
|---|---|---|---|
${rows.join("\n")}

\`GATEHOUSE_LOG_LEVEL=debug\` is the first thing to set when a request fails without a clear
reason. Logs are JSON lines (pino) on stderr; they never hold provider keys or bodies.

## Provider keys

Read by the gateway from its environment, or from \`GATEHOUSE_SECRETS_FILE\` (a JSON object of
the same names; a set variable wins). A provider's \`apiKeyEnv\` in \`gatehouse.yaml\` renames
its variable. Clients never send these: they send their gateway token.

| variable | provider (route) | |
|---|---|---|
${keyRows.join("\n")}

## \`gatehouse review\` in CI

Read by the reviewer (see [review.md](review.md)), not by the gateway.

| variable | meaning |
|---|---|
${reviewRows.join("\n")}

## Other commands

Read by the command named, on the machine it runs on, not by the gateway.

| variable | meaning |
|---|---|
${commandRows.join("\n")}

## \`gatehouse login\` and \`gatehouse setup\` on a developer's machine

Read by the CLI (see [clients/sdks.md](clients/sdks.md)), not by the gateway.

| variable | meaning |
|---|---|
${setupRows.join("\n")}
`;
}

function main(args: readonly string[]): void {
  const page = renderSettingsPage();
  if (args.includes("--check")) {
    const current = readFileSync(settingsPagePath, "utf8");
    if (current !== page) {
      process.stderr.write("docs/settings.md is not current: run `npm run docs:settings`\n");
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(settingsPagePath, page);
  process.stderr.write(`wrote ${settingsPagePath}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
