import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["node_modules/**", "src/adapters/workers/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // vitest's default is one worker fewer than the cores: one worker on CI's 2 cores. Most test
    // files wait on spawned clients, servers and sockets rather than compute, so one per core.
    maxWorkers: availableParallelism(),
    reporters: ["default"],
  },
});
