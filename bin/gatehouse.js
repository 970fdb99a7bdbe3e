#!/usr/bin/env node
// Starts the CLI from the compiled JS in dist/ (bin/build.mjs; run at `prepare` and by
// `npm start`). In a checkout (src/ next to dist/) a source newer than the last build is
// compiled first, so an edit never runs stale; an installed package ships dist/ only.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (existsSync(`${root}src/cli/main.ts`)) {
  const { distIsStale } = await import("./dist-freshness.mjs");
  if (distIsStale(root)) {
    try {
      await (await import("./build.mjs")).buildIfStale(root);
    } catch (err) {
      process.stderr.write(`gatehouse: cannot compile src/ to dist/ (${err instanceof Error ? err.message : String(err)}); run \`npm run build\` in ${root}\n`);
      process.exit(1);
    }
  }
}
// Logs carry error names and messages, never stacks; for .ts lines in a stack while
// debugging, run `node --enable-source-maps bin/gatehouse.js` (dist/ has source maps).
const { main } = await import("../dist/src/cli/main.js");
await main(process.argv);
