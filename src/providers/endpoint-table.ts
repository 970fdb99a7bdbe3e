import { isQueryPattern } from "./endpoints.ts";
import { ENABLEABLE_OBJECT_KINDS } from "./ids.ts";
import type { EndpointSpec, ProviderDescriptor } from "./types.ts";

function queryText(query: EndpointSpec["query"], required: readonly string[] = []): string {
  const names = Object.entries(query).map(([name, values]) => {
    const text = values === "any" ? `\`${name}\`` : isQueryPattern(values) ? `\`${name}\` (like \`${values.example}\`)` : `\`${name}=${values.join("\\|")}\``;
    return required.includes(name) ? `${text} (required)` : text;
  });
  return names.length > 0 ? names.join(", ") : "none";
}

/**
 * The endpoint table of docs/security.md, rendered from the descriptors (the one source):
 * `npm run docs:security` writes it, and a test fails when the page is not current.
 */
export function renderEndpointTables(providers: readonly ProviderDescriptor[]): string {
  const out: string[] = [];
  for (const p of providers) {
    const first = p.apiPrefix?.segments[0];
    const prefix = first ? `${p.routePrefix}/${first}` : p.routePrefix;
    out.push(`### ${p.displayName} (\`${p.routePrefix}\`)`, "");
    if (p.apiPrefix && p.apiPrefix.segments.length > 1)
      out.push(
        `Every path below is also served under ${p.apiPrefix.segments
          .slice(1)
          .map((s) => `\`${p.routePrefix}/${s}\``)
          .join(" and ")}; the version the client names is the version forwarded.`,
        "",
      );
    if (p.apiPrefix?.optional) out.push(`Paths may leave out \`/${first ?? ""}\` (\`${p.routePrefix}/chat/completions\` is \`${prefix}/chat/completions\`).`, "");
    out.push("| method | path | endpoint | body | model from | metered | query accepted | served |", "|---|---|---|---|---|---|---|---|");
    for (const e of p.endpoints) {
      const enableable = e.object !== undefined && p.ownsObjects && (ENABLEABLE_OBJECT_KINDS as readonly string[]).includes(e.object.kind);
      const served = !e.object ? "always" : enableable ? `if \`objects.allow\` has \`${e.object.kind}\`` : "never (provider-side state)";
      out.push(`| ${e.method} | \`${prefix}${e.path}\` | ${e.name} | ${e.body} | ${e.model} | ${e.metered ? "yes" : "no"} | ${queryText(e.query, e.requiredQuery)} | ${served} |`);
    }
    out.push("");
    if (p.credentialQueryParams.length > 0) out.push(`Query parameters removed before anything reads the query (they carry a client credential): ${p.credentialQueryParams.map((q) => `\`${q}\``).join(", ")}.`, "");
  }
  return out.join("\n");
}
