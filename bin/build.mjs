#!/usr/bin/env node
// Compiles the gateway's TypeScript (src/, without tests, test fakes and the Workers adapter,
// which wrangler builds from source) to dist/ once, file by file with esbuild, so the CLI starts
// from plain JS. Not bundled: the module tree stays as it is, so `import()` of a command module
// loads that command only, and worker files (`new URL("./x.mjs", import.meta.url)`) sit next to
// the module that starts them, as in src/.
//
//   node bin/build.mjs            build now
//   node bin/build.mjs --if-stale build only when a source is newer than the last build
//
// Why not tsc: it type-checks the whole program (tens of seconds on this code); esbuild only
// strips types (`npx tsc --noEmit -p .` stays the type check). Why no keepNames: it wraps every
// function in a naming call, about 12% of the proxy's CPU per request (bench/README.md).
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { buildLock, distIsStale, listSources, stampFile } from "./dist-freshness.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Packages compiled into one file each under dist/vendor/: kysely's ESM build is ~260 files, and
 * loading them was most of `gatehouse usage`'s start (130 ms of 300). Only packages no other
 * dependency imports (else two copies would meet) and that read no files of their own.
 */
export const VENDORED = ["kysely"];

/** A bare `from "kysely"` / `import("kysely")` of a vendored package. */
const VENDOR_SPECIFIER = new RegExp(`(\\bfrom\\s*|\\bimport\\s*\\(\\s*|\\bimport\\s+)"(${VENDORED.join("|")})"`, "g");

/** The relative specifiers of compiled code: `from "…"`, `import("…")`, `import "…"`, `new URL("…", import.meta.url)`. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bnew URL\(\s*)"(\.\.?\/[^"]+)"/g;

/**
 * Rewrites one compiled file's relative specifiers: `./x.ts` → `./x.js` (the compiled sibling);
 * a target outside src/ (data/models-dev-api.json) → the same file from dist/'s depth.
 */
export function rewriteSpecifiers(code, sourceFile, projectRoot) {
  const srcRoot = join(projectRoot, "src") + sep;
  const outFile = join(projectRoot, "dist", relative(projectRoot, sourceFile));
  const fromOut = (target) => {
    const path = relative(dirname(outFile), target).split(sep).join("/");
    return path.startsWith(".") ? path : `./${path}`;
  };
  const relativeDone = code.replace(SPECIFIER, (whole, lead, spec) => {
    const target = resolve(dirname(sourceFile), spec);
    if (target.startsWith(srcRoot)) return spec.endsWith(".ts") ? `${lead}"${spec.slice(0, -3)}.js"` : whole;
    return `${lead}"${fromOut(target)}"`;
  });
  // After the relative pass: these specifiers are relative to dist/, not to the source.
  return relativeDone.replace(VENDOR_SPECIFIER, (_whole, lead, name) => `${lead}"${fromOut(join(projectRoot, "dist", "vendor", `${name}.js`))}"`);
}

/** Compiles every source into a fresh directory and swaps it in, so a reader never sees half a build. */
export async function buildDist(projectRoot = root) {
  // buildSync without worker threads: esbuild runs as a child the call waits for and reaps.
  // The async API (and buildSync's worker thread) keep a service process that is still exiting
  // when the command does, left behind in its process group.
  process.env.ESBUILD_WORKER_THREADS = "0";
  const { buildSync } = await import("esbuild");
  const startedAt = Date.now();
  const sources = listSources(projectRoot);
  const tmp = join(projectRoot, `dist.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    const tsFiles = sources.filter((f) => f.endsWith(".ts"));
    const result = buildSync({
      entryPoints: tsFiles,
      outdir: tmp,
      outbase: projectRoot,
      bundle: false,
      format: "esm",
      platform: "node",
      target: "node20.10",
      sourcemap: "linked",
      sourcesContent: true,
      write: false,
      logLevel: "silent",
      // The options of tsconfig.json that change emitted code.
      tsconfigRaw: { compilerOptions: { target: "ES2022", verbatimModuleSyntax: true, useDefineForClassFields: true } },
    });
    for (const out of result.outputFiles) {
      mkdirSync(dirname(out.path), { recursive: true });
      if (out.path.endsWith(".map")) {
        writeFileSync(out.path, out.contents);
        continue;
      }
      const sourceFile = join(projectRoot, relative(tmp, out.path)).replace(/\.js$/, ".ts");
      const code = rewriteSpecifiers(out.text, sourceFile, projectRoot);
      const left = [...code.matchAll(SPECIFIER)].filter((m) => m[2].endsWith(".ts"));
      if (left.length > 0) throw new Error(`${relative(projectRoot, sourceFile)}: import of ${left[0][2]} left uncompiled`);
      writeFileSync(out.path, code);
    }
    for (const name of VENDORED) {
      // Resolved from the project, else from next to this script (a test builds a project without node_modules).
      buildSync({
        entryPoints: [name],
        absWorkingDir: projectRoot,
        nodePaths: [join(root, "node_modules")],
        outfile: join(tmp, "vendor", `${name}.js`),
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node20.10",
        legalComments: "eof",
        logLevel: "silent",
      });
    }
    for (const file of sources.filter((f) => !f.endsWith(".ts"))) {
      const out = join(tmp, relative(projectRoot, file));
      mkdirSync(dirname(out), { recursive: true });
      copyFileSync(file, out);
    }
    writeFileSync(join(tmp, stampFile), `${JSON.stringify({ startedAt, sources: sources.map((f) => relative(projectRoot, f)) })}\n`);
    const dist = join(projectRoot, "dist");
    const old = join(projectRoot, `dist.old-${process.pid}`);
    rmSync(old, { recursive: true, force: true });
    try {
      renameSync(dist, old);
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
    }
    renameSync(tmp, dist);
    rmSync(old, { recursive: true, force: true });
    return { files: sources.length };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Builds (when stale, or always with force), one builder at a time: tests start many CLIs at once. */
export async function buildIfStale(projectRoot = root, { force = false } = {}) {
  if (!force && !distIsStale(projectRoot)) return false;
  const release = await buildLock(projectRoot);
  try {
    if (!force && !distIsStale(projectRoot)) return false; // another process built it while we waited
    await buildDist(projectRoot);
    return true;
  } finally {
    release();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const built = await buildIfStale(root, { force: !process.argv.includes("--if-stale") });
  if (built) process.stderr.write(`gatehouse: compiled src/ to dist/ in ${Math.round(performance.now() - started)} ms\n`);
}
