import { existsSync, readdirSync, readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { join, relative, sep } from "node:path";
import { compileConfig, ConfigCompileError, type ConfigHolder, type OrgConfig, type SourceFile } from "../../../config/index.ts";
import type { Logger } from "../../../core/logger.ts";

const SKIP_DIRS = new Set(["node_modules", ".git"]);

/** Reads the files the config compiler looks at: gatehouse.yaml and every .md under agent(s)/ and command(s)/. */
export function readConfigDirectory(dir: string): SourceFile[] {
  let top: string[];
  try {
    top = readdirSync(dir);
  } catch (err) {
    throw new Error(`Cannot read the config directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
  const files: SourceFile[] = [];
  for (const name of top) {
    const full = join(dir, name);
    if (/^gatehouse\.ya?ml$/.test(name)) files.push({ path: name, text: readFileSync(full, "utf8") });
    else if (/^(agents?|commands?)$/.test(name) && statSync(full).isDirectory()) collectMarkdown(dir, full, files);
  }
  return files;
}

function collectMarkdown(root: string, dir: string, out: SourceFile[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) collectMarkdown(root, full, out);
    else if (entry.isFile() && entry.name.endsWith(".md")) out.push({ path: relative(root, full).split(sep).join("/"), text: readFileSync(full, "utf8") });
  }
}

/** Whether a path relative to the config directory is one the compiler reads. */
export function isConfigSource(relativePath: string): boolean {
  const path = relativePath.split(sep).join("/");
  return /^gatehouse\.ya?ml$/.test(path) || /^(agents?|commands?)(\/|$)/.test(path);
}

/** Compiles a config directory; throws ConfigCompileError naming file, line and field. */
export function loadConfigDirectory(dir: string): OrgConfig {
  const result = compileConfig(readConfigDirectory(dir));
  // Issues name files relative to the directory; say which directory, so the message is clickable.
  if (!result.config) throw new ConfigCompileError(result.issues.map((issue) => ({ ...issue, file: join(dir, issue.file) })));
  return result.config;
}

/**
 * Recompiles the directory when a file changes and swaps the served config without a restart.
 * A broken edit is logged (with every issue) and the last good config stays served.
 */
export function watchConfigDirectory(dir: string, holder: ConfigHolder, logger: Logger, debounceMs = 200): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reload = () => {
    timer = undefined;
    try {
      holder.replace(loadConfigDirectory(dir));
      logger.info({ dir }, "config reloaded");
    } catch (err) {
      if (err instanceof ConfigCompileError) logger.error({ dir, issues: err.issues }, "config change rejected; still serving the previous config");
      else logger.error({ dir, err: err instanceof Error ? err.message : String(err) }, "config reload failed; still serving the previous config");
    }
  };
  // Non-recursive watchers on the config directory and on each agents/commands folder:
  // Node 20's recursive watch on Linux rescans the whole tree on every event, and a data
  // directory inside the config directory (SQLite's WAL) made that a directory walk per
  // ledger flush on the hot path.
  const watchers = new Map<string, FSWatcher>();
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      syncWatchers();
      reload();
    }, debounceMs);
    timer.unref();
  };
  const syncWatchers = () => {
    const wanted = new Set([dir, ...sourceDirectories(dir)]);
    for (const [path, watcher] of watchers) {
      if (!wanted.has(path)) {
        watcher.close();
        watchers.delete(path);
      }
    }
    for (const path of wanted) {
      if (watchers.has(path)) continue;
      try {
        const watcher = watch(path, (_event, filename) => {
          const name = filename?.toString();
          // At the top, only gatehouse.yaml and the agents/commands folders matter.
          if (path === dir && name && !isConfigSource(name)) return;
          schedule();
        });
        watcher.on("error", (err) => logger.error({ dir: path, err: err.message }, "config watcher failed; changes need a restart"));
        watcher.unref();
        watchers.set(path, watcher);
      } catch (err) {
        logger.error({ dir: path, err: err instanceof Error ? err.message : String(err) }, "cannot watch a config folder; changes in it need a restart");
      }
    }
  };
  syncWatchers();
  return () => {
    if (timer) clearTimeout(timer);
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
  };
}

/** agents/, commands/ (and the singular spellings) and every folder below them. */
function sourceDirectories(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    out.push(path);
    for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) walk(join(path, entry.name));
  };
  for (const name of ["agents", "agent", "commands", "command"]) {
    const path = join(dir, name);
    if (existsSync(path) && statSync(path).isDirectory()) walk(path);
  }
  return out;
}
