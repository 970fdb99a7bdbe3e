import { describe, expect, it, vi } from "vitest";
import { runReadiness } from "./readiness.ts";

describe("readiness", () => {
  it("is ready only when every check is ok, and names each failing check's reason", async () => {
    expect(await runReadiness({ a: () => undefined, b: async () => undefined })).toEqual({ ready: true, checks: { a: "ok", b: "ok" } });
    const report = await runReadiness({
      store: async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      },
      catalog: () => "the model catalog is empty",
      config: () => undefined,
    });
    expect(report).toEqual({ ready: false, checks: { store: "connect ECONNREFUSED 127.0.0.1:5432", catalog: "the model catalog is empty", config: "ok" } });
  });

  it("counts a check that hangs as failed once the timeout passes, instead of hanging the probe", async () => {
    vi.useFakeTimers();
    try {
      let report;
      void runReadiness({ store: () => new Promise<undefined>(() => undefined), config: () => undefined }, 200).then((r) => (report = r));
      await vi.advanceTimersByTimeAsync(199);
      expect(report).toBeUndefined();
      // Only the hung check's timer is still armed: the one that answered cleared its own.
      expect(vi.getTimerCount()).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(report).toEqual({ ready: false, checks: { store: "no answer within 200 ms", config: "ok" } });
    } finally {
      vi.useRealTimers();
    }
  });
});
