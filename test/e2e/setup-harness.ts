import { spawn } from "node:child_process";
import { join } from "node:path";
import { GATEHOUSE_BIN, type ClientRun } from "./served-gateway.ts";

/**
 * Approves a `gatehouse login` device sign-in the way a person does in dev mode: open the
 * printed link (the confirm page sets its CSRF cookie and field), type an email, approve.
 */
export async function approveDeviceLogin(link: string, email: string): Promise<void> {
  const page = await fetch(link);
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0];
  const userCode = new URL(link).searchParams.get("user_code");
  if (!csrf || !cookie || !userCode) throw new Error(`the sign-in page at ${link} has no form:\n${html.slice(0, 500)}`);
  const done = await fetch(new URL("/auth/device/verify", link), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie, "sec-fetch-site": "same-origin" },
    body: new URLSearchParams({ user_code: userCode, action: "approve", email, csrf }).toString(),
  });
  if (done.status !== 200) throw new Error(`approving the sign-in failed: HTTP ${done.status}\n${await done.text()}`);
}

/** The environment `gatehouse setup` runs in: the temp HOME (its token cache under HOME/.config), PATH without a `gatehouse`. */
export function setupEnv(home: string): Record<string, string> {
  return { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, XDG_CONFIG_HOME: join(home, ".config") };
}

/**
 * Runs `gatehouse setup <client> <url>` (or any gatehouse command) as a person would; when
 * it prints a sign-in link, approves it as `email`. Resolves with what it printed.
 */
export function runGatehouse(args: string[], home: string, email?: string): Promise<ClientRun & { signedIn: boolean }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GATEHOUSE_BIN, ...args], { env: setupEnv(home), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let approval: Promise<void> | undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`gatehouse ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 60_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const link = /(http:\/\/\S+\/auth\/device\/verify\?user_code=\S+)/.exec(stderr)?.[1];
      if (link && !approval) {
        if (!email) {
          child.kill("SIGKILL");
          reject(new Error(`gatehouse ${args.join(" ")} asked for a sign-in nobody expected:\n${stderr}`));
          return;
        }
        approval = approveDeviceLogin(link, email);
        approval.catch((err: unknown) => {
          child.kill("SIGKILL");
          reject(err instanceof Error ? err : new Error(String(err)));
        });
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - started), signedIn: approval !== undefined });
    });
  });
}
