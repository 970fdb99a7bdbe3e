import { describe, expect, it } from "vitest";
import { uuidv7 } from "./ids.ts";

describe("uuidv7", () => {
  it("is a version-7, variant-10 UUID", () => {
    expect(uuidv7()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("sorts by time and stays strictly increasing within one millisecond", () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(4_000_000_000_000));
    const later = uuidv7(4_000_000_100_000);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(later > (ids.at(-1) as string)).toBe(true);
  });

  it("encodes the millisecond timestamp in the first 48 bits", () => {
    const id = uuidv7(4_000_000_123_456);
    expect(Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(4_000_000_123_456);
  });
});
