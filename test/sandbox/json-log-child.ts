/**
 * Child process for the sandbox log test: the real pino JSON logger on stderr (as the
 * gateway runs it) and the real worker pool, then code that makes QuickJS abort while
 * freeing its runtime (emscripten prints an assertion line).
 * The parent checks every line this process writes is JSON.
 */
import { WorkerPoolExecutor } from "../../src/adapters/node/mcp/index.ts";
import { createPinoLogger } from "../../src/adapters/node/logger.ts";

const pool = new WorkerPoolExecutor({ size: 1, watchdogGraceMs: 30_000, logger: createPinoLogger("info") });
const echo = async (): Promise<string> => JSON.stringify({ ok: true, value: null });
// Each of these ends in a memory error; QuickJS then asserts while freeing the runtime (the big
// string's failed JSON.stringify leaks an object) and emscripten prints "Aborted(Assertion failed…)".
const bombs = ["function f() { return f() + 1 } return f()", "const big = 'x'.repeat(30e6); return big"];
for (const code of bombs) {
  const result = await pool.execute(code, echo, {}, { callerId: "alice" });
  process.stdout.write(`${JSON.stringify({ result: result.error?.kind })}\n`);
}
const after = await pool.execute("return 'still fine'", echo, {}, { callerId: "alice" });
process.stdout.write(`${JSON.stringify({ after: after.resultJson })}\n`);
await pool.close();
