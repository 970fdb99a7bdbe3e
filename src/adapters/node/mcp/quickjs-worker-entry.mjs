// Plain-JS bootstrap of a sandbox worker: Node does not hand the parent's TypeScript loader
// to worker threads, so load the TypeScript worker through tsx's API (resolved from this
// file's location, so it works from any cwd).
import { workerData } from "node:worker_threads";
import { tsImport } from "tsx/esm/api";

await tsImport(workerData.workerUrl, import.meta.url);
