import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigHolder } from "../../../config/index.ts";
import { silentLogger } from "../../../core/logger.ts";
import { loadConfigDirectory, watchConfigDirectory } from "./config-dir.ts";

const agent = (description: string) => `---\ndescription: ${description}\nmode: subagent\n---\nYou review code.\n`;
let stop: (() => void) | undefined;
afterEach(() => stop?.());

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-watch-"));
  writeFileSync(join(dir, "gatehouse.yaml"), "providers:\n  openai: {}\n");
  mkdirSync(join(dir, "agents", "team"), { recursive: true });
  writeFileSync(join(dir, "agents", "team", "reviewer.md"), agent("first"));
  return dir;
}

describe("watchConfigDirectory", () => {
  it("reloads when an agent file in a nested folder changes", async () => {
    const dir = configDir();
    const holder = new ConfigHolder(loadConfigDirectory(dir));
    stop = watchConfigDirectory(dir, holder, silentLogger, 50);
    expect(holder.current().agent["team/reviewer"]?.description).toBe("first");
    writeFileSync(join(dir, "agents", "team", "reviewer.md"), agent("second"));
    await expect.poll(() => holder.current().agent["team/reviewer"]?.description, { timeout: 30_000 }).toBe("second");
  });

  it("ignores a data directory inside the config directory (SQLite writing there is not a config change)", async () => {
    const dir = configDir();
    const holder = new ConfigHolder(loadConfigDirectory(dir));
    let reloads = 0;
    holder.onChange(() => reloads++);
    stop = watchConfigDirectory(dir, holder, silentLogger, 20);
    mkdirSync(join(dir, "data"));
    for (let i = 0; i < 50; i++) writeFileSync(join(dir, "data", "gatehouse.db-wal"), `page ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Creating "data" itself is one top-level event, which the filter drops too.
    expect(reloads).toBe(0);
  });
});
