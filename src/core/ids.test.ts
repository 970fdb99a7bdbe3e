import { describe, expect, it, vi } from "vitest";
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

  it("writes every timestamp's 48 bits exactly, across the halves' boundary and the cache of the last millisecond", async () => {
    // A fresh module (ids never go back in time, and the tests above used later timestamps).
    vi.resetModules();
    const fresh = (await import("./ids.ts")).uuidv7;
    for (const ms of [1, 2, 0xffffff, 0x1000000, 0x1000001, 1_764_000_000_000, 0xabcdef000000 - 1, 0xabcdef000000, 2 ** 48 - 1]) {
      const id = fresh(ms);
      expect(id.replace(/-/g, "").slice(0, 12)).toBe(ms.toString(16).padStart(12, "0"));
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});
