import { afterAll, describe, expect, it } from "vitest";
import { WorkerPoolExecutor } from "./quickjs-pool.ts";

// The watchdog (deadline + grace, then terminate) is the second line behind QuickJS's own
// interrupt; a generous grace keeps a loaded machine from reaching it before the interrupt.
const pool = new WorkerPoolExecutor({ size: 2, watchdogGraceMs: 20_000 });
const echo = async (name: string, argsJson: string): Promise<string> => JSON.stringify({ ok: true, value: { name, args: JSON.parse(argsJson) as unknown } });

afterAll(async () => {
  await pool.close();
});

describe("QuickJS worker-thread pool", () => {
  it("runs many executions concurrently, each in a fresh runtime", async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.execute(`globalThis.seen = (globalThis.seen ?? 0) + 1; const r = await codemode.s_t({ i: ${i} }); return [globalThis.seen, r.args.i]`, echo)));
    expect(results.map((r) => JSON.parse(r.resultJson ?? "null") as unknown)).toEqual(Array.from({ length: 12 }, (_, i) => [1, i]));
  });

  it("gives the sandbox thread no environment and no host globals", async () => {
    const result = await pool.execute(`return [typeof process, typeof require, typeof fetch, typeof setTimeout, typeof WebAssembly, typeof globalThis.__gatehouseLog]`, echo);
    expect(JSON.parse(result.resultJson ?? "null")).toEqual(["undefined", "undefined", "undefined", "undefined", "undefined", "undefined"]);
  });

  it("bridges only JSON: host functions and prototypes never cross", async () => {
    const result = await pool.execute(`const r = await codemode.s_t({ f: () => 1, d: new Date(0), n: NaN }); return r.args`, echo);
    expect(JSON.parse(result.resultJson ?? "null")).toEqual({ d: "1970-01-01T00:00:00.000Z", n: null });
  });

  it("a failing bridge surfaces as an exception in the sandbox, not a crash", async () => {
    const result = await pool.execute(`try { await codemode.s_t({}) } catch (e) { return e.message }`, async () => {
      throw new Error("upstream down");
    });
    expect(result.resultJson).toBe('"upstream down"');
  });

  it("keeps serving after a runaway execution and reports the timeout", async () => {
    const [runaway, normal] = await Promise.all([pool.execute("for (;;) {}", echo, { timeoutMs: 300 }), pool.execute("return 7", echo)]);
    expect(runaway.error?.kind).toBe("timeout");
    expect(normal.resultJson).toBe("7");
    expect((await pool.execute("return 8", echo)).resultJson).toBe("8");
  });

  it("fails in-flight executions cleanly when closed", async () => {
    const local = new WorkerPoolExecutor({ size: 1 });
    // Closed while the execution waits on its tool call (signalled by the bridge itself, not a guessed sleep).
    let bridged!: () => void;
    const inBridge = new Promise<void>((resolve) => (bridged = resolve));
    const running = local.execute(
      "await codemode.s_t({}); return 1",
      () => {
        bridged();
        return new Promise<string>(() => undefined);
      },
      { timeoutMs: 60_000 },
    );
    await inBridge;
    await local.close();
    expect((await running).error?.kind).toBe("crashed");
    await expect(local.execute("return 1", echo)).rejects.toThrow(/closed/);
  });
});
