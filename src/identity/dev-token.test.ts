import { describe, expect, it } from "vitest";
import { DevTokens } from "./dev-token.ts";

describe("DevTokens", () => {
  it("maps each token to its email and nothing else to anything", async () => {
    const tokens = new DevTokens(
      new Map([
        ["first-token-0123456789", "a@localhost"],
        ["second-token-0123456789", "b@localhost"],
      ]),
    );
    expect(await tokens.emailFor("first-token-0123456789")).toBe("a@localhost");
    expect(await tokens.emailFor("second-token-0123456789")).toBe("b@localhost");
    expect(await tokens.emailFor("first-token-012345678")).toBeUndefined();
    expect(await tokens.emailFor("")).toBeUndefined();
  });

  it("refuses to hold a token shorter than 16 characters (a guessable one) and says how to fix it", () => {
    expect(() => new DevTokens(new Map([["short", "a@localhost"]]))).toThrow(/at least 16 characters: set GATEHOUSE_DEV_TOKEN/);
    expect(() => new DevTokens(new Map([["", "a@localhost"]]))).toThrow(/at least 16/);
  });
});
