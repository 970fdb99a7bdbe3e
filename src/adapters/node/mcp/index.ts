export { spawnStdioServer } from "./stdio.ts";
export { WorkerPoolExecutor } from "./quickjs-pool.ts";
export type { WorkerPoolOptions } from "./quickjs-pool.ts";
