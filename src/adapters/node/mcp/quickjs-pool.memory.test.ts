import { afterAll, describe, expect, it } from "vitest";
import { MODULE_BASE_BYTES, type ToolBridge } from "../../../sandbox/index.ts";
import { WorkerPoolExecutor } from "./quickjs-pool.ts";

const MB = 1024 * 1024;
const SIZE = 2;
const RUNS_PER_WORKER = 2;
const MEMORY_BYTES = 32 * MB;
const WORKER_HEAP_MB = 64;
/** What one idle worker thread (V8 isolate + tsx + the sandbox code) costs, measured at ~35 MB. */
const WORKER_BASE_MB = 40;
/**
 * The stated bound on what the pool adds to the gateway's RSS: per worker its base, its heap
 * limit, and one capped WebAssembly memory per concurrent execution. Here 2 × (40 + 64 + 2 × 48) = 400 MB.
 * Before each execution had its own capped memory, one ArrayBuffer bomb alone added ~2.2 GB.
 */
const BOUND_MB = SIZE * (WORKER_BASE_MB + WORKER_HEAP_MB + RUNS_PER_WORKER * ((MEMORY_BYTES + MODULE_BASE_BYTES) / MB));

const pool = new WorkerPoolExecutor({ size: SIZE, runsPerWorker: RUNS_PER_WORKER, workerHeapMb: WORKER_HEAP_MB, watchdogGraceMs: 30_000, defaultLimits: { memoryBytes: MEMORY_BYTES, timeoutMs: 20_000 } });
const echo: ToolBridge = async (_name, argsJson) => JSON.stringify({ ok: true, value: argsJson.length });
const rssMb = (): number => process.memoryUsage().rss / MB;

afterAll(async () => {
  await pool.close();
});

const BOMBS: [string, string][] = [
  ["ArrayBuffers", "const kept = []; for (;;) kept.push(new ArrayBuffer(16 * 1024 * 1024));"],
  ["typed arrays", "const kept = []; for (;;) kept.push(new Float64Array(1024 * 1024).fill(1));"],
  ["one huge typed array", "return new Uint8Array(2 ** 31 - 1).length"],
  ["one huge string", "return 'x'.repeat(2 ** 28).length"],
  ["growing strings", "const kept = []; for (let i = 0; ; i++) kept.push('x'.repeat(1024 * 1024) + i);"],
  ["growing arrays", "const kept = []; for (;;) kept.push(kept.length);"],
  ["arrays of objects", "const kept = []; for (;;) kept.push({ x: new Array(1000).fill(1) });"],
  ["huge tool arguments", "const s = 'x'.repeat(8 * 1024 * 1024); await Promise.all(Array.from({ length: 50 }, () => codemode.s_t({ s })));"],
  ["huge result", "return 'y'.repeat(20 * 1024 * 1024)"],
];

describe("Code Mode memory is bounded for real (the sandbox heap and everything it allocates)", () => {
  it(`memory bombs, one after another and then all at once, end in clean errors and the process grows by less than ${BOUND_MB} MB`, async () => {
    await pool.execute("return 1", echo, {}, { callerId: "warm" });
    const baseline = rssMb();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb());
    }, 5);
    const outcomes: { label: string; kind: string | undefined; message: string | undefined }[] = [];
    try {
      for (const [label, code] of BOMBS) {
        const result = await pool.execute(code, echo, {}, { callerId: "alice" });
        outcomes.push({ label, kind: result.error?.kind, message: result.error?.message });
      }
      const concurrent = await Promise.all(BOMBS.slice(0, 6).map(([, code], i) => pool.execute(code, echo, {}, { callerId: `user${i % 4}` })));
      concurrent.forEach((result, i) => outcomes.push({ label: `${BOMBS[i]![0]} (concurrent)`, kind: result.error?.kind, message: result.error?.message }));
    } finally {
      clearInterval(sampler);
    }
    const kernelPeak = process.resourceUsage().maxRSS / 1024;
    const grown = Math.max(peak, kernelPeak) - baseline;
    console.info(`sandbox memory bombs: baseline ${baseline.toFixed(0)} MB, sampled peak ${peak.toFixed(0)} MB, kernel peak ${kernelPeak.toFixed(0)} MB, grown ${grown.toFixed(0)} MB, bound ${BOUND_MB} MB`);
    expect(grown).toBeLessThan(BOUND_MB);
    // Each bomb ended in a clean error: out of memory, or a limit QuickJS or the bridge enforces.
    for (const outcome of outcomes) {
      expect(outcome, outcome.label).toMatchObject({ kind: expect.stringMatching(/^(memory|runtime)$/) });
      if (outcome.kind === "runtime") expect(outcome.message, outcome.label).toMatch(/string too long|too many|Invalid array buffer length|RangeError|the arguments are \d+ characters/);
    }
    // The pool keeps serving, and no worker had to die for it.
    expect((await pool.execute("return 'still fine'", echo, {}, { callerId: "bob" })).resultJson).toBe('"still fine"');
    expect(pool.replacedWorkers).toBe(0);
  }, 240_000);

  it("a worker that outgrows its V8 heap (limits set far too high) dies alone: a clean error, and the next execution runs", async () => {
    const small = new WorkerPoolExecutor({ size: 1, workerHeapMb: 32, watchdogGraceMs: 30_000 });
    try {
      await small.execute("return 0", echo, {}, { callerId: "warm" });
      const before = small.replacedWorkers;
      // An operator raised the console cap to 1 G characters: 400 MB of log lines pile up in the worker's heap.
      const result = await small.execute("for (let i = 0; i < 40; i++) console.log('x'.repeat(10 * 1024 * 1024) + i); return 1", echo, { memoryBytes: 512 * MB, maxLogChars: 1024 * MB, timeoutMs: 60_000 }, { callerId: "alice" });
      expect(result.error).toEqual({ kind: "crashed", message: expect.stringMatching(/ran out of memory and was replaced/) });
      expect(small.replacedWorkers).toBe(before + 1);
      expect((await small.execute("return 2", echo, {}, { callerId: "bob" })).resultJson).toBe("2");
    } finally {
      await small.close();
    }
  }, 120_000);
});
