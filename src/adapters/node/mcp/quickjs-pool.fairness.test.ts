import { describe, expect, it, vi } from "vitest";
import { SandboxRunEnded, type ExecutionResult, type ToolBridge } from "../../../sandbox/index.ts";
import { WorkerPoolExecutor } from "./quickjs-pool.ts";

const ok = (value: unknown): string => JSON.stringify({ ok: true, value });

/** A bridge whose calls wait until the test releases them; `arrived` resolves as calls come in. */
function heldBridge(): { bridge: ToolBridge; calls: { tag: unknown; signal: AbortSignal; release: () => void }[]; waitFor: (n: number) => Promise<void> } {
  const calls: { tag: unknown; signal: AbortSignal; release: () => void }[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const bridge: ToolBridge = (_name, argsJson, signal) =>
    new Promise<string>((resolve) => {
      calls.push({ tag: (JSON.parse(argsJson) as { tag?: unknown }).tag, signal, release: () => resolve(ok("released")) });
      for (const waiter of waiters.splice(0))
        if (calls.length >= waiter.n) waiter.resolve();
        else waiters.push(waiter);
    });
  const waitFor = (n: number): Promise<void> => (calls.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })));
  return { bridge, calls, waitFor };
}

describe("sandbox pool: fairness between callers", () => {
  it("one caller's four infinite loops do not make another caller's `return 2` fail (deadlines count from start)", async () => {
    // A short grace: before the fix the watchdog counted from submission, so a loop queued behind
    // another loop on the same worker was killed at submission + deadline + grace, taking B with it.
    const pool = new WorkerPoolExecutor({ size: 2, watchdogGraceMs: 1_000 });
    try {
      // Both workers started first, so what is measured is scheduling, not thread start-up.
      await Promise.all(["w1", "w2"].map((callerId) => pool.execute("return 0", async () => ok(null), {}, { callerId })));
      expect(pool.stats().workers).toBe(2);
      const finished: string[] = [];
      const loops = Array.from({ length: 4 }, (_, i) =>
        pool
          .execute("for (;;) {}", async () => ok(null), { timeoutMs: 2_000 }, { callerId: "alice" })
          .then((result) => {
            finished.push(`alice${i}`);
            return result;
          }),
      );
      const bob = await pool.execute("return 2", async () => ok(null), {}, { callerId: "bob" });
      finished.push("bob");
      expect(bob.error).toBeUndefined();
      expect(bob.resultJson).toBe("2");
      const results = await Promise.all(loops);
      // Every loop ends by its own deadline, none by a terminated worker.
      expect(results.map((r) => r.error?.kind)).toEqual(["timeout", "timeout", "timeout", "timeout"]);
      // Bob did not wait behind Alice's loops: he finished before her second pair even started.
      expect(finished.indexOf("bob")).toBeLessThan(2);
      expect(pool.replacedWorkers).toBe(0);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it("a caller has at most perCallerConcurrency executions running; another caller is not held behind them", async () => {
    const pool = new WorkerPoolExecutor({ size: 2, runsPerWorker: 4, perCallerConcurrency: 2 });
    try {
      const held = heldBridge();
      const alice = Array.from({ length: 5 }, (_, i) => pool.execute(`return await codemode.s_t({ tag: "alice${i}" })`, held.bridge, { timeoutMs: 60_000 }, { callerId: "alice" }));
      await held.waitFor(2);
      const bob = pool.execute(`return await codemode.s_t({ tag: "bob" })`, held.bridge, { timeoutMs: 60_000 }, { callerId: "bob" });
      await held.waitFor(3);
      // Alice's third execution is still queued although slots are free: her limit is 2.
      // (Alice's two start side by side on one worker, so their calls may come in either order.)
      expect(
        held.calls
          .slice(0, 2)
          .map((c) => c.tag)
          .sort(),
      ).toEqual(["alice0", "alice1"]);
      expect(held.calls[2]!.tag).toBe("bob");
      expect(pool.stats()).toMatchObject({ queued: 3, running: { alice: 2, bob: 1 } });
      // Releasing calls lets Alice's queue drain two at a time.
      for (let released = 0; released < 6; released++) {
        await held.waitFor(released + 1);
        held.calls[released]!.release();
      }
      const results = await Promise.all([...alice, bob]);
      expect(results.map((r) => r.resultJson)).toEqual(Array.from({ length: 6 }, () => '"released"'));
    } finally {
      await pool.close();
    }
  }, 60_000);

  it("free slots go to waiting callers in turn (round robin), not first come first served", async () => {
    const pool = new WorkerPoolExecutor({ size: 1, runsPerWorker: 1, perCallerConcurrency: 1 });
    try {
      const order: string[] = [];
      const bridge: ToolBridge = async (_name, argsJson) => {
        order.push((JSON.parse(argsJson) as { tag: string }).tag);
        return ok(null);
      };
      const runs = ["a1", "a2", "a3", "b1", "b2", "b3"].map((tag) => pool.execute(`await codemode.s_t({ tag: "${tag}" })`, bridge, {}, { callerId: tag[0]! }));
      await Promise.all(runs);
      expect(order).toEqual(["a1", "b1", "a2", "b2", "a3", "b3"]);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it("refuses more waiting executions than maxQueuedPerCaller, and ones that waited past queueTimeoutMs", async () => {
    const pool = new WorkerPoolExecutor({ size: 1, runsPerWorker: 1, perCallerConcurrency: 1, maxQueuedPerCaller: 1, queueTimeoutMs: 1_000 });
    try {
      // Started first, on the real clock: a cold worker's start-up is real time.
      await pool.execute("return 0", async () => ok(null), {}, { callerId: "warm" });
      // The queue deadline is the pool's own timer in this thread: on the fake setTimeout it
      // is reached exactly, not waited for (the worker and its messages stay real).
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const held = heldBridge();
      const running = pool.execute(`return await codemode.s_t({ tag: 1 })`, held.bridge, { timeoutMs: 60_000 }, { callerId: "alice" });
      await held.waitFor(1);
      let timedOut: ExecutionResult | undefined;
      const waiting = pool.execute("return 2", held.bridge, {}, { callerId: "alice" }).then((r) => (timedOut = r));
      const refused = await pool.execute("return 3", held.bridge, {}, { callerId: "alice" });
      expect(refused.error).toEqual({ kind: "limit", message: expect.stringMatching(/1 Code Mode executions waiting \(the limit is 1\)/) });
      await vi.advanceTimersByTimeAsync(999);
      expect(timedOut).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await waiting;
      expect(timedOut?.error).toEqual({ kind: "limit", message: expect.stringMatching(/busy: this execution waited 1000 ms/) });
      held.calls[0]!.release();
      expect((await running).resultJson).toBe('"released"');
    } finally {
      vi.useRealTimers();
      await pool.close();
    }
  }, 60_000);
});

describe("sandbox pool: an execution's end cancels the tool calls it still has open", () => {
  const pool = new WorkerPoolExecutor({ size: 1, watchdogGraceMs: 20_000 });

  async function runHeld(code: string, timeoutMs: number, signal?: AbortSignal): Promise<{ result: ExecutionResult; calls: ReturnType<typeof heldBridge>["calls"] }> {
    const held = heldBridge();
    const result = await pool.execute(code, held.bridge, { timeoutMs }, { callerId: "alice", ...(signal ? { signal } : {}) });
    return { result, calls: held.calls };
  }

  it("a timeout aborts the call with a timeout reason", async () => {
    const { result, calls } = await runHeld("return await codemode.s_t({ tag: 1 })", 500);
    expect(result.error?.kind).toBe("timeout");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[0]!.signal.reason).toBeInstanceOf(SandboxRunEnded);
    expect((calls[0]!.signal.reason as SandboxRunEnded).kind).toBe("timeout");
  });

  it("code that returns without awaiting its calls cancels them as finished", async () => {
    const { result, calls } = await runHeld("codemode.s_t({ tag: 1 }); codemode.s_t({ tag: 2 }); return 'early'", 10_000);
    expect(result.resultJson).toBe('"early"');
    expect(calls.map((c) => [c.signal.aborted, (c.signal.reason as SandboxRunEnded).kind])).toEqual([
      [true, "finished"],
      [true, "finished"],
    ]);
  });

  it("a client cancel interrupts code that is busy computing, long before its deadline", async () => {
    const controller = new AbortController();
    const held = heldBridge();
    // The code starts a tool call without awaiting it, then computes forever: the call reaches
    // the host as the worker's thread enters the loop (it is sent synchronously), so the cancel
    // below comes while that thread is busy in JS, with no sleep to guess when.
    const running = pool.execute("codemode.s_t({ tag: 'looping' }); for (;;) {}", held.bridge, { timeoutMs: 120_000 }, { callerId: "carol", signal: controller.signal });
    await held.waitFor(1);
    controller.abort();
    const result = await running;
    expect(result.error?.kind).toBe("cancelled");
    expect((held.calls[0]!.signal.reason as SandboxRunEnded).kind).toBe("cancelled");
    // Ended by the interrupt flag, not by the watchdog replacing a stuck worker.
    expect(pool.replacedWorkers).toBe(0);
  }, 60_000);

  it("a client cancel stops the execution and its calls", async () => {
    const controller = new AbortController();
    const held = heldBridge();
    const running = pool.execute("return await codemode.s_t({ tag: 1 })", held.bridge, { timeoutMs: 60_000 }, { callerId: "alice", signal: controller.signal });
    await held.waitFor(1);
    controller.abort();
    const result = await running;
    expect(result.error?.kind).toBe("cancelled");
    expect((held.calls[0]!.signal.reason as SandboxRunEnded).kind).toBe("cancelled");
    await pool.close();
  });
});
