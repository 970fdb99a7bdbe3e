// `node --import ./test/cli/trace-imports.mjs …`: appends every module URL the process resolves
// to $TRACE_IMPORTS_FILE, so a test can tell which modules a command loaded.
import { register } from "node:module";

const hooks = `
import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.TRACE_IMPORTS_FILE, result.url + "\\n");
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
