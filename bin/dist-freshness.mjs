// Is dist/ the compiled form of today's src/? Cheap (one stat per source, no esbuild), because
// bin/gatehouse.js asks on every start in a checkout, so an edited source never runs stale.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const stampFile = ".build-stamp.json";

/** Not shipped: unit tests beside the code, and the Workers adapter (wrangler builds it from source). */
function skipped(path, name, isDirectory) {
  if (isDirectory) return path.endsWith(join("src", "adapters", "workers"));
  return name.endsWith(".test.ts") || name.endsWith(".d.ts") || !(name.endsWith(".ts") || name.endsWith(".mjs"));
}

/**
 * Test support (fakes, fixtures, helpers) lives under test/ and never in src/, so the build has
 * nothing to leave out but the tests themselves; one that turns up in src/ stops the build
 * rather than ship (the lint forbids src/ code to import test/ as well).
 */
function assertNoTestSupport(path, name, isDirectory) {
  const looksLikeTestSupport = isDirectory ? /^(testing|fixtures|__fixtures__|__mocks__|fakes?)$/.test(name) : /^(test-|fake-)|[.-](fixtures?|test-helpers?)\.[cm]?[jt]s$/.test(name);
  if (looksLikeTestSupport) throw new Error(`${path}: test support in src/; move it under test/ (test/support/ for shared helpers), which the build never ships`);
}

/** Every file the build compiles (.ts) or copies (.mjs worker entries), sorted. */
export function listSources(projectRoot) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      assertNoTestSupport(full, entry.name, entry.isDirectory());
      if (skipped(full, entry.name, entry.isDirectory())) continue;
      if (entry.isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(join(projectRoot, "src"));
  return out.sort();
}

/** Besides the sources, a change of the build itself, or of a package it compiles in (dist/vendor), changes the output. */
const buildInputs = [fileURLToPath(new URL("./build.mjs", import.meta.url)), fileURLToPath(import.meta.url)];
const vendoredInputs = (projectRoot) => ["kysely"].map((name) => join(projectRoot, "node_modules", name, "package.json"));

/** True when dist/ is missing, was built from another set of files, or is older than a source. */
export function distIsStale(projectRoot) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(projectRoot, "dist", stampFile), "utf8"));
  } catch (err) {
    if (err.code === "ENOENT") return true;
    throw err;
  }
  const sources = listSources(projectRoot);
  const names = sources.map((f) => relative(projectRoot, f));
  if (!Array.isArray(stamp.sources) || typeof stamp.startedAt !== "number" || names.length !== stamp.sources.length) return true;
  for (let i = 0; i < names.length; i++) if (names[i] !== stamp.sources[i]) return true;
  for (const file of [...sources, ...buildInputs]) if (statSync(file).mtimeMs > stamp.startedAt) return true;
  for (const file of vendoredInputs(projectRoot)) {
    try {
      if (statSync(file).mtimeMs > stamp.startedAt) return true;
    } catch (err) {
      if (err.code !== "ENOENT") throw err; // not installed next to this project (a test's tiny project)
    }
  }
  return false;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether the process that wrote `lock/pid` is gone (killed mid-build): then its lock is void. */
function holderIsGone(lock) {
  let pid;
  try {
    pid = Number(readFileSync(join(lock, "pid"), "utf8"));
  } catch (err) {
    if (err.code === "ENOENT") return false; // just created, pid not written yet
    throw err;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return err.code === "ESRCH";
  }
}

/**
 * One builder at a time: mkdir is atomic. A lock whose builder died (a test killed a CLI
 * mid-build) is taken over at once; one older than two minutes is void as well.
 */
export async function buildLock(projectRoot) {
  const lock = join(projectRoot, "dist.lock");
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
    }
    let age = 0;
    try {
      age = Date.now() - statSync(lock).mtimeMs;
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
      continue; // released between our mkdir and stat
    }
    if (age > 120_000 || holderIsGone(lock)) rmSync(lock, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`${lock}: another build holds it; remove it if no build is running`);
    else await sleep(50);
  }
}
