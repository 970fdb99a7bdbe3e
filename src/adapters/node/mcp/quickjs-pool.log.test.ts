import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("sandbox diagnostics reach the JSON log as JSON", () => {
  it("QuickJS's assertion on an aborted runtime is a structured log line, never a raw line in the log stream", async () => {
    const child = fileURLToPath(new URL("../../../../test/sandbox/json-log-child.ts", import.meta.url));
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", child], { timeout: 120_000, env: { PATH: process.env["PATH"] ?? "" } });
    const lines = stderr.split("\n").filter((line) => line.trim() !== "");
    const notJson = lines.filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch (err) {
        if (err instanceof SyntaxError) return true;
        throw err;
      }
    });
    expect(notJson).toEqual([]);
    const diagnostics = lines.map((line) => JSON.parse(line) as { msg?: string; line?: string }).filter((entry) => entry.msg === "sandbox runtime diagnostic");
    expect(diagnostics.length).toBeGreaterThan(0);
    expect(diagnostics[0]!.line).toMatch(/Assertion failed/);
    expect(
      stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([{ result: "memory" }, { result: "memory" }, { after: '"still fine"' }]);
  }, 150_000);
});
