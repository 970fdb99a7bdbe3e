import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginPage } from "../../src/dashboard/login-page.ts";
import { startHarness, type Harness } from "../gateway/harness.ts";

// The dashboard's sign-in page tells a new admin which command makes a token; following it
// literally must give a token that signs in (it once suggested one without --group admin).

const bin = fileURLToPath(new URL("../../bin/gatehouse.js", import.meta.url));
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function issue(args: string[]): string {
  return execFileSync(process.execPath, [bin, ...args, "--data-dir", join(h.dir, "data")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

async function signIn(token: string): Promise<number> {
  const res = await fetch(`${h.gateway.url}/dashboard/login`, { method: "POST", body: new URLSearchParams({ token }), redirect: "manual" });
  await res.arrayBuffer();
  return res.status;
}

describe("dashboard sign-in hint", { timeout: 120_000 }, () => {
  it("the command on the sign-in page issues a token that opens the dashboard", async () => {
    const command = /<code>(gatehouse token issue [^<]+)<\/code>/.exec(loginPage())?.[1];
    expect(command).toBeDefined();
    const args = (command as string).replace(/^gatehouse /, "").split(" ");
    expect(await signIn(issue(args))).toBe(303);
  });

  it("a token without an admin group is refused, so the hint's --group matters", async () => {
    expect(await signIn(issue(["token", "issue", "--email", "someone@example.com"]))).toBe(403);
  });
});
