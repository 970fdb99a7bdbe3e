import type { Command } from "commander";
import { z } from "zod";
import { cachedToken, gatewayKey, jwtExpiry, storeToken } from "../token-cache.ts";

const deviceStartSchema = z.object({
  device_code: z.string(),
  user_code: z.string(),
  verification_uri: z.string(),
  verification_uri_complete: z.string(),
  expires_in: z.number(),
  interval: z.number(),
});
const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.number().optional() });
const errorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description("Sign in to a Gatehouse gateway and print a gateway token on stdout (and nothing else); the token is also kept in ~/.config/gatehouse/tokens.json. This is the auth.command OpenCode runs for `opencode auth login <gateway>`.")
    .argument("<url>", "the gateway, e.g. https://gateway.example.com")
    .option("--timeout <seconds>", "give up after this long", "600")
    .option("--print-token", "print the kept token for this gateway without signing in (a client's key helper runs this); fails when there is none or it expires within a minute")
    .addHelpText(
      "after",
      `
How it works: the gateway gives a short code and a link (printed on stderr). Open the link,
check the code and sign in at your identity provider (or, in dev mode, type your email).
The command then prints the token and keeps it (per gateway, file mode 0600) for
--print-token, which Claude Code's apiKeyHelper and Codex's provider auth command run (see
\`gatehouse setup --help\`): they pick up a new sign-in without any change to their config.

Examples:
  opencode auth login https://gateway.example.com     # runs this for you
  export GATEHOUSE_TOKEN=$(gatehouse login http://127.0.0.1:8787)
  gatehouse login --print-token http://127.0.0.1:8787  # the kept token, no sign-in`,
    )
    .action(async (url: string, opts: { timeout: string; printToken?: boolean }) => {
      if (opts.printToken) {
        const cached = cachedToken(url);
        if (!cached) throw new Error(`no valid Gatehouse token for ${gatewayKey(url)} (none kept, or it expires within a minute); run \`gatehouse login ${gatewayKey(url)}\` to sign in`);
        process.stdout.write(`${cached.token}\n`);
        return;
      }
      const token = await signIn(url, Number(opts.timeout));
      process.stdout.write(`${token}\n`);
    });
}

/**
 * The device-code sign-in (link and code on stderr); keeps the token for `--print-token` and
 * returns it. `gatehouse setup` runs it too when no valid token is kept.
 */
export async function signIn(url: string, timeoutSeconds: number): Promise<string> {
  const base = gatewayKey(url);
  const start = await postJson(`${base}/auth/device`, {});
  if (!start.ok) throw new Error(`${base} does not offer login (HTTP ${start.status}); is its auth mode oidc or dev?`);
  const device = deviceStartSchema.parse(start.body);
  process.stderr.write(`\nTo sign in, open this link in a browser:\n\n  ${device.verification_uri_complete}\n\nand check that it shows the code  ${device.user_code}\n\nWaiting for you to finish signing in…\n`);
  const deadline = Date.now() + Math.min(timeoutSeconds, device.expires_in) * 1000;
  let interval = Math.max(device.interval, 1) * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, interval));
    const poll = await postJson(`${base}/auth/device/token`, { device_code: device.device_code });
    if (poll.ok) {
      process.stderr.write("Signed in.\n");
      const answer = tokenSchema.parse(poll.body);
      const expiresAt = jwtExpiry(answer.access_token) ?? Date.now() + (answer.expires_in ?? 0) * 1000;
      storeToken(base, answer.access_token, expiresAt);
      return answer.access_token;
    }
    const error = errorSchema.safeParse(poll.body);
    if (!error.success) throw new Error(`unexpected answer from ${base} (HTTP ${poll.status})`);
    if (error.data.error === "authorization_pending") continue;
    if (error.data.error === "slow_down") {
      interval += 1000;
      continue;
    }
    throw new Error(error.data.error_description ?? error.data.error);
  }
  throw new Error("timed out waiting for the sign-in; run the command again");
}

async function postJson(url: string, body: unknown): Promise<{ ok: boolean; status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify(body) });
  } catch (err) {
    throw new Error(`cannot reach ${new URL(url).origin}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    json = undefined;
  }
  return { ok: response.ok, status: response.status, body: json };
}
