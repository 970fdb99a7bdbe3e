import { describe, expect, it } from "vitest";
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
    const started = Date.now();
    const report = await runReadiness({ store: () => new Promise<undefined>(() => undefined), config: () => undefined }, 200);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(report).toEqual({ ready: false, checks: { store: "no answer within 200 ms", config: "ok" } });
  });
});
