import { describe, expect, it } from "vitest";
import { TokenCipher } from "./cipher.ts";

describe("token encryption at rest", () => {
  const secret = "a-secret-that-is-long-enough-0123456789";

  it("round-trips and never contains the plaintext", async () => {
    const cipher = new TokenCipher(secret);
    const sealed = await cipher.encrypt("gho_supersecret", "gh\u0000alice");
    expect(sealed).not.toContain("gho_supersecret");
    expect(await cipher.decrypt(sealed, "gh\u0000alice")).toBe("gho_supersecret");
    expect(await cipher.encrypt("gho_supersecret", "gh\u0000alice")).not.toBe(sealed); // fresh IV
  });

  it("refuses a row moved to another user, a tampered ciphertext, or another key", async () => {
    const cipher = new TokenCipher(secret);
    const sealed = await cipher.encrypt("token", "gh\u0000alice");
    await expect(cipher.decrypt(sealed, "gh\u0000bob")).rejects.toThrow();
    const tampered = sealed.slice(0, -2) + (sealed.endsWith("AA") ? "BB" : "AA");
    await expect(cipher.decrypt(tampered, "gh\u0000alice")).rejects.toThrow();
    await expect(new TokenCipher(`${secret}-other`).decrypt(sealed, "gh\u0000alice")).rejects.toThrow();
  });

  it("demands a long secret", () => {
    expect(() => new TokenCipher("short")).toThrow(/at least 32/);
  });
});
