import { mkdirSync, mkdtempSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConfigHolder } from "../../../config/index.ts";
import { silentLogger } from "../../../core/logger.ts";
import { loadConfigDirectory, watchConfigDirectory } from "./config-dir.ts";

// The file-system events are real (inotify); the debounce after them runs on vitest's fake
// setTimeout. A test knows the watcher under test has had its events when a watcher of its
// own on the same folder sees the last write: one inotify queue feeds both, in order, and a
// setImmediate later every handle has been called for that batch. Nothing waits for time.

const agent = (description: string) => `---\ndescription: ${description}\nmode: subagent\n---\nYou review code.\n`;
let stop: (() => void) | undefined;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
});
afterEach(() => {
  stop?.();
  vi.useRealTimers();
});

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-watch-"));
  writeFileSync(join(dir, "gatehouse.yaml"), "providers:\n  openai: {}\n");
  mkdirSync(join(dir, "agents", "team"), { recursive: true });
  writeFileSync(join(dir, "agents", "team", "reviewer.md"), agent("first"));
  return dir;
}

/** Resolves once an fs event for `name` in `folder` was delivered to every watcher of that folder. */
function delivered(folder: string, name: string): Promise<void> {
  return new Promise((resolve) => {
    const own = watch(folder, (_event, filename) => {
      if (filename?.toString() !== name) return;
      own.close();
      // The other handles on this folder are called in the same poll phase, before the check phase.
      setImmediate(resolve);
    });
  });
}

describe("watchConfigDirectory", () => {
  it("reloads once, a debounce after an agent file in a nested folder changed", async () => {
    const dir = configDir();
    const holder = new ConfigHolder(loadConfigDirectory(dir));
    let reloads = 0;
    holder.onChange(() => reloads++);
    stop = watchConfigDirectory(dir, holder, silentLogger, 50);
    expect(holder.current().agent["team/reviewer"]?.description).toBe("first");
    const seen = delivered(join(dir, "agents", "team"), "reviewer.md");
    writeFileSync(join(dir, "agents", "team", "reviewer.md"), agent("second"));
    await seen;
    // The change is known; the reload waits for the debounce, so a burst of writes reloads once.
    expect(holder.current().agent["team/reviewer"]?.description).toBe("first");
    vi.advanceTimersByTime(49);
    expect(reloads).toBe(0);
    vi.advanceTimersByTime(1);
    expect(reloads).toBe(1);
    expect(holder.current().agent["team/reviewer"]?.description).toBe("second");
  });

  it("ignores a data directory inside the config directory (SQLite writing there is not a config change)", async () => {
    const dir = configDir();
    const holder = new ConfigHolder(loadConfigDirectory(dir));
    let reloads = 0;
    holder.onChange(() => reloads++);
    stop = watchConfigDirectory(dir, holder, silentLogger, 20);
    const seen = delivered(dir, "not-config.txt");
    mkdirSync(join(dir, "data"));
    for (let i = 0; i < 50; i++) writeFileSync(join(dir, "data", "gatehouse.db-wal"), `page ${i}`);
    // A last, unrelated top-level write: once it is delivered, everything before it was too.
    writeFileSync(join(dir, "not-config.txt"), "x");
    await seen;
    // Creating "data" itself is one top-level event, which the filter drops too: no reload pending.
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(reloads).toBe(0);

    // The same watcher still hears a real config change (the check above could not pass by deafness).
    const yaml = delivered(dir, "gatehouse.yaml");
    writeFileSync(join(dir, "gatehouse.yaml"), "providers:\n  openai: {}\n  anthropic: {}\n");
    await yaml;
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(20);
    expect(reloads).toBe(1);
    expect(Object.keys(holder.current().providers).sort()).toEqual(["anthropic", "openai"]);
  });
});
