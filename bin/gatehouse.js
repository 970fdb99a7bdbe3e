#!/usr/bin/env node
// Runs the TypeScript sources directly (compiled as they load by ./ts-loader.mjs), so a fresh
// clone needs no build step.
import { register } from "node:module";

register("./ts-loader.mjs", import.meta.url);
// Logs carry error names and messages, never stacks; for .ts lines in a stack while
// debugging, run `node --enable-source-maps bin/gatehouse.js` (the loader emits inline maps).
const { main } = await import("../src/cli/main.ts");
await main(process.argv);
