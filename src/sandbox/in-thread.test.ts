import { describe, expect, it } from "vitest";
import { InThreadQuickJSExecutor } from "./in-thread.ts";
import { wrapUserCode } from "./prelude.ts";

const executor = new InThreadQuickJSExecutor();
const bridge = async (name: string): Promise<string> => JSON.stringify({ ok: true, value: name });

describe("QuickJS runner", () => {
  it("accepts a function body or an async arrow function", async () => {
    expect((await executor.execute("return 1 + 1", bridge)).resultJson).toBe("2");
    expect((await executor.execute("async () => { return await codemode.a_b({}) }", bridge)).resultJson).toBe('"a_b"');
    expect(wrapUserCode("async function () { return 1 }")).toContain("return await (async function () { return 1 })();");
  });

  it("reports syntax errors, thrown errors and undefined results", async () => {
    expect((await executor.execute("return (", bridge)).error?.kind).toBe("syntax");
    expect((await executor.execute("throw new TypeError('nope')", bridge)).error).toEqual({ kind: "runtime", message: "TypeError: nope" });
    const none = await executor.execute("const x = 1;", bridge);
    expect(none.resultJson).toBeUndefined();
    expect(none.error).toBeUndefined();
  });

  it("recovers from a stack overflow inside async code (QuickJS aborts when freeing that runtime)", async () => {
    for (let i = 0; i < 3; i++) {
      const result = await executor.execute("function f() { return f() + 1 } return f()", bridge);
      expect(result.error?.message).toMatch(/stack/);
    }
    expect((await executor.execute("return 'still fine'", bridge)).resultJson).toBe('"still fine"');
  });

  it("enforces the memory limit", async () => {
    for (const bomb of ["return 'x'.repeat(2 ** 26).length", "const a = new Array(1e7).fill(1); return a.length"]) {
      const result = await executor.execute(bomb, bridge, { memoryBytes: 8 * 1024 * 1024 });
      expect(result.error?.kind).toBe("memory");
    }
  });

  it("contains a slow memory bomb (GC thrash near the limit) by the deadline", async () => {
    const started = performance.now();
    const result = await executor.execute("const a = []; for (;;) a.push({ x: new Array(1000).fill(1) });", bridge, { memoryBytes: 8 * 1024 * 1024, timeoutMs: 1_000 });
    expect(["memory", "timeout"]).toContain(result.error?.kind);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("truncates results and console output with a marker", async () => {
    const result = await executor.execute("console.log('x'.repeat(500)); return 'y'.repeat(500)", bridge, { maxResultChars: 100, maxLogChars: 50 });
    expect(result.resultJson).toMatch(/^"y{99}…\[truncated by gatehouse: 402 more characters\]$/);
    expect(result.logs).toEqual(["x".repeat(50), "…[console output truncated by gatehouse: 450 more characters]"]);
  });

  it("bounds ArrayBuffer and typed-array storage too (QuickJS's own limit does not count it)", async () => {
    const before = process.memoryUsage().rss;
    for (const bomb of ["const a = []; for (;;) a.push(new ArrayBuffer(1 << 20));", "const a = []; for (;;) a.push(new Float64Array(1 << 17));"]) {
      const result = await executor.execute(bomb, bridge, { memoryBytes: 8 * 1024 * 1024, timeoutMs: 20_000 });
      expect(result.error?.kind).toBe("memory");
    }
    // Without the capped WebAssembly memory these grew the process by ~2 GB.
    expect((process.memoryUsage().rss - before) / 1024 / 1024).toBeLessThan(200);
  }, 60_000);

  it("uses the intrinsics it captured: replacing JSON.stringify cannot change what crosses the bridge", async () => {
    const seen: string[] = [];
    const recording = async (_name: string, argsJson: string): Promise<string> => {
      seen.push(argsJson);
      return JSON.stringify({ ok: true, value: "fine" });
    };
    const result = await executor.execute("const original = JSON.stringify; JSON.stringify = () => 'x'.repeat(1000); JSON.parse = () => ({ ok: false, error: 'forged' }); const r = await codemode.a_b({ n: 1 }); JSON.stringify = original; return r", recording);
    expect(seen).toEqual(['{"n":1}']);
    expect(result.resultJson).toBe('"fine"');
  });

  it("refuses oversized tool arguments inside the sandbox, per call and per execution, without calling the host", async () => {
    const seen: number[] = [];
    const recording = async (_name: string, argsJson: string): Promise<string> => {
      seen.push(argsJson.length);
      return JSON.stringify({ ok: true, value: null });
    };
    const one = await executor.execute("try { await codemode.a_b({ s: 'x'.repeat(2 * 1024 * 1024) }) } catch (e) { return e.message }", recording);
    expect(JSON.parse(one.resultJson ?? "null")).toMatch(/arguments are 2097160 characters of JSON; the limit is 1048576 per call/);
    expect(seen).toEqual([]);
    const total = await executor.execute(
      "const s = 'x'.repeat(900 * 1024); const out = []; for (let i = 0; i < 12; i++) { try { await codemode.a_b({ s }); out.push('ok') } catch (e) { out.push(e.message.includes('in total') ? 'total' : e.message) } } return out",
      recording,
    );
    const outcomes = JSON.parse(total.resultJson ?? "[]") as string[];
    expect(outcomes.slice(0, 9)).toEqual(Array.from({ length: 9 }, () => "ok"));
    expect(outcomes.slice(9)).toEqual(["total", "total", "total"]);
    expect(seen).toHaveLength(9);
  }, 30_000);

  it("turns a tool result over the reply cap into an error inside the sandbox", async () => {
    const huge = async (): Promise<string> => JSON.stringify({ ok: true, value: "y".repeat(5 * 1024 * 1024) });
    const result = await executor.execute("try { await codemode.a_b({}) } catch (e) { return e.message }", huge);
    expect(JSON.parse(result.resultJson ?? "null")).toMatch(/codemode\.a_b returned 5242902 characters; the sandbox accepts at most 4194304 per call/);
  }, 30_000);
});
