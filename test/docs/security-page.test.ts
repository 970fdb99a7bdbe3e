import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SECURITY_PAGE, withCurrentTables } from "../../tools/docs/security-endpoints.ts";

describe("docs/security.md", () => {
  it("has the endpoint tables the provider descriptors declare (npm run docs:security)", () => {
    const page = readFileSync(SECURITY_PAGE, "utf8");
    expect(withCurrentTables(page)).toBe(page);
  });
});
