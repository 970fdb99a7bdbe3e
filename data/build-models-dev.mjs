#!/usr/bin/env node
// Rebuilds data/models-dev-api.json (the bundled models.dev catalog) offline, from the snapshot
// in ../shared/data and the newer models.dev snapshot that an opencode-ai release embeds in
// its binary. Provenance, licence and what it keeps: data/README.md.
//
//   node data/build-models-dev.mjs --opencode node_modules/opencode-linux-x64/bin/opencode
//
// opencode keeps the catalog as one JavaScript object literal in its compiled bundle; it is
// PARSED with acorn (never evaluated): only object, array, string, number, !0/!1, -n and
// `void 0` nodes are accepted, anything else stops the build.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
const basePath = args.base ?? join(here, "../../shared/data/models-dev-api.json");
const opencodePath = args.opencode;
const outPath = args.out ?? join(here, "models-dev-api.json");
if (!opencodePath) throw new Error("--opencode <path to the opencode binary> is required (node_modules/opencode-linux-x64/bin/opencode)");

// acorn ships with the dev toolchain (eslint): a parser, so the bundle is read as data.
const acorn = createRequire(join(here, "../package.json"))("acorn");

/** The catalog literal in opencode's bundle: the argument of the snapshot's `n.sync(() => (…))`. */
function opencodeCatalog(binaryPath) {
  const binary = readFileSync(binaryPath);
  const marker = Buffer.from("=n.sync(()=>({");
  let at = -1;
  for (let from = 0; ; ) {
    const i = binary.indexOf(marker, from);
    if (i < 0) break;
    // The catalog is the literal whose first property is a provider: `{<id>:{id:"<id>",env:[`.
    const head = binary.subarray(i + marker.length - 1, i + marker.length + 200).toString("utf8");
    if (/^\{"?[\w.-]+"?:\{id:"[\w.-]+",env:\[/.test(head)) {
      if (at >= 0) throw new Error("two catalog literals in the binary: which one is the snapshot?");
      at = i + marker.length - 1;
    }
    from = i + 1;
  }
  if (at < 0) throw new Error("no models.dev catalog literal found in the binary");
  const text = binary.subarray(at, at + 32_000_000).toString("utf8");
  const node = acorn.parseExpressionAt(text, 0, { ecmaVersion: "latest" });
  return literal(node);
}

function literal(n) {
  switch (n.type) {
    case "ObjectExpression": {
      const out = {};
      for (const p of n.properties) {
        if (p.type !== "Property" || p.computed || p.kind !== "init" || p.method || p.shorthand) throw new Error(`not a data property at ${p.start}`);
        const value = literal(p.value);
        if (value !== undefined) out[p.key.type === "Identifier" ? p.key.name : String(p.key.value)] = value;
      }
      return out;
    }
    case "ArrayExpression":
      return n.elements.map((e) => {
        if (e === null || e.type === "SpreadElement") throw new Error(`not a data element at ${n.start}`);
        return literal(e);
      });
    case "Literal":
      if (n.regex || typeof n.value === "bigint") throw new Error(`not a JSON literal at ${n.start}`);
      return n.value;
    case "TemplateLiteral":
      if (n.expressions.length > 0) throw new Error(`template with expressions at ${n.start}`);
      return n.quasis[0].value.cooked;
    case "UnaryExpression":
      if (n.operator === "!" && n.argument.type === "Literal" && typeof n.argument.value === "number") return !n.argument.value;
      if (n.operator === "-" && n.argument.type === "Literal" && typeof n.argument.value === "number") return -n.argument.value;
      if (n.operator === "void" && n.argument.type === "Literal") return undefined;
      throw new Error(`unexpected ${n.operator} at ${n.start}`);
    default:
      throw new Error(`unexpected ${n.type} at ${n.start}`);
  }
}

const newest = (models) => Object.values(models).reduce((d, m) => ((m.last_updated ?? m.release_date ?? "") > d ? (m.last_updated ?? m.release_date) : d), "");

const base = JSON.parse(readFileSync(basePath, "utf8"));
const newer = opencodeCatalog(opencodePath);
const merged = {};
const report = [];
for (const [id, provider] of Object.entries(base)) {
  const update = newer[id];
  if (!update) {
    merged[id] = provider;
    report.push(`${id}: not in the newer snapshot, kept as it was (${Object.keys(provider.models).length} models)`);
    continue;
  }
  // The newer entry of every model it lists; a model it no longer lists (models.dev drops
  // retired ones) keeps its older entry, so old traffic and old clients stay priced.
  const models = { ...provider.models, ...update.models };
  const kept = Object.keys(provider.models).filter((m) => !(m in update.models));
  const added = Object.keys(update.models).filter((m) => !(m in provider.models));
  merged[id] = { ...provider, ...update, models };
  report.push(`${id}: ${Object.keys(update.models).length} models from the newer snapshot (newest ${newest(update.models)}; ${added.length} new), ${kept.length} kept from the older one`);
}

/** JSON as the older snapshot is written (Python's json.dumps with sort_keys): sorted keys, ", " and ": ", non-ASCII escaped. */
function serialise(value) {
  if (Array.isArray(value)) return `[${value.map(serialise).join(", ")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${ascii(JSON.stringify(k))}: ${serialise(value[k])}`)
      .join(", ")}}`;
  return ascii(JSON.stringify(value));
}
const ascii = (json) => json.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);

writeFileSync(outPath, serialise(merged));
const total = Object.values(merged).reduce((n, p) => n + Object.keys(p.models).length, 0);
console.log(`${outPath}: ${Object.keys(merged).length} providers, ${total} models, newest last_updated ${newest(Object.assign({}, ...Object.values(merged).map((p) => p.models)))}`);
for (const line of report) console.log(`  ${line}`);
