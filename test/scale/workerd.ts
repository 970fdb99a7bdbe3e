import { build, type Plugin } from "esbuild";
import { readFile } from "node:fs/promises";
import { Miniflare } from "miniflare";

const root = new URL("../..", import.meta.url).pathname;
export const WORKER_COMPATIBILITY_DATE = "2026-04-01";

let bundled: Promise<string> | undefined;

/**
 * wrangler.jsonc's Text rule: `chart.js/dist/chart.umd.js` (the dashboard's chart bundle) is
 * imported as a string. The package's exports do not list the file, so it is found by path.
 */
const chartAsText: Plugin = {
  name: "chart-umd-as-text",
  setup(b) {
    b.onResolve({ filter: /^chart\.js\/dist\/chart\.umd\.js$/ }, () => ({ path: `${root}node_modules/chart.js/dist/chart.umd.js`, namespace: "text-module" }));
    b.onLoad({ filter: /.*/, namespace: "text-module" }, async (args) => ({ contents: await readFile(args.path, "utf8"), loader: "text" }));
  },
};

/**
 * The worker bundled the way wrangler bundles it (esbuild, ESM, workerd export conditions),
 * once per process. `wrangler deploy --dry-run` yields the same module graph.
 */
export function bundleWorker(): Promise<string> {
  bundled ??= build({
    entryPoints: [`${root}src/adapters/workers/index.ts`],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser", "import", "default"],
    mainFields: ["module", "main"],
    logLevel: "silent",
    plugins: [chartAsText],
  }).then((result) => {
    const file = result.outputFiles[0];
    if (!file) throw new Error("esbuild produced no worker bundle");
    return file.text;
  });
  return bundled;
}

export interface LocalWorker {
  /** http://127.0.0.1:PORT: workerd's own socket (Miniflare's `workerd serve`), no dev proxy. */
  url: string;
  mf: Miniflare;
  close(): Promise<void>;
}

/**
 * Runs the Gatehouse worker in workerd with local D1, KV and the counters Durable Object
 * (SQLite-backed), in memory, or under `persistRoot` when given: a later worker started on
 * the same root is a cold isolate of the same deployment (same D1, KV and object state).
 * `vars` are the worker's plain-text vars and secrets.
 */
export async function startLocalWorker(vars: Record<string, string>, options: { persistRoot?: string } = {}): Promise<LocalWorker> {
  const script = await bundleWorker();
  const mf = new Miniflare({
    modules: true,
    script,
    scriptPath: `${root}worker.js`,
    compatibilityDate: WORKER_COMPATIBILITY_DATE,
    host: "127.0.0.1",
    port: 0,
    d1Databases: { DB: "gatehouse-test-db" },
    kvNamespaces: { CACHE: "gatehouse-test-cache" },
    durableObjects: { COUNTERS: { className: "GatehouseCounters", useSQLite: true } },
    bindings: vars,
    unsafeTriggerHandlers: true,
    ...(options.persistRoot ? { defaultPersistRoot: options.persistRoot, d1Persist: true, kvPersist: true, durableObjectsPersist: true } : {}),
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { url, mf, close: () => mf.dispose() };
}
