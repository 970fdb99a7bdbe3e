import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";

/** How a generated catalog of `total` entities splits, in the proportions of Cloudflare's (16K+ entities). */
export interface CatalogShape {
  domains: number;
  systems: number;
  groups: number;
  users: number;
  components: number;
  apis: number;
  resources: number;
}

export function shapeFor(total: number): CatalogShape {
  const part = (share: number): number => Math.max(1, Math.round(total * share));
  const shape = { domains: part(0.00225), systems: part(0.0272), groups: part(0.01875), users: 0, components: part(0.45), apis: part(0.075), resources: part(0.125) };
  shape.users = Math.max(1, total - shape.domains - shape.systems - shape.groups - shape.components - shape.apis - shape.resources);
  return shape;
}

export interface GeneratedCatalog {
  root: string;
  shape: CatalogShape;
  files: number;
  /** Refs by kind, for picking tool arguments. */
  refs: { components: string[]; apis: string[]; groups: string[]; users: string[]; resources: string[] };
  /** Rewrites `count` component files with a changed description: the incremental-refresh case. */
  touch(count: number, round: number): number;
}

/** Deterministic PRNG (mulberry32): the same seed gives the same catalog. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LANGUAGES = ["go", "typescript", "rust", "python", "java", "kotlin"];
const WORDS = ["billing", "auth", "edge", "cache", "dns", "waf", "workers", "queues", "analytics", "logs", "email", "images", "stream", "r2", "d1", "kv", "zero-trust", "tunnel", "access", "gateway"];

/**
 * A realistic catalog as `catalog-info.yaml` files in one directory of "repositories":
 * one repo per component (with the APIs it provides and the resources it owns), one per
 * team (the group and its people), one per domain (the domain and its systems).
 * Dependencies are skewed towards a few shared components, as real graphs are (hubs).
 */
export function generateCatalog(root: string, shape: CatalogShape, seed = 14): GeneratedCatalog {
  const rand = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  /** Skewed towards low indices: a few hubs with many dependents. */
  const skewed = (n: number): number => Math.floor(n * rand() ** 3);
  const groupNames = Array.from({ length: shape.groups }, (_, i) => `team-${i}`);
  const systemNames = Array.from({ length: shape.systems }, (_, i) => `${WORDS[i % WORDS.length]}-system-${i}`);
  const componentNames = Array.from({ length: shape.components }, (_, i) => `${WORDS[i % WORDS.length]}-svc-${i}`);
  const apiNames = Array.from({ length: shape.apis }, (_, i) => `${WORDS[i % WORDS.length]}-api-${i}`);
  const resourceNames = Array.from({ length: shape.resources }, (_, i) => `${WORDS[i % WORDS.length]}-db-${i}`);
  const userNames = Array.from({ length: shape.users }, (_, i) => `user-${i}`);
  let files = 0;
  const write = (dir: string, docs: unknown[]): void => {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, "catalog-info.yaml"), docs.map((doc) => stringify(doc)).join("---\n"));
    files += 1;
  };
  const entity = (kind: string, name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> => ({ apiVersion: "backstage.io/v1alpha1", kind, metadata: { name, ...metadata }, spec });

  for (let d = 0; d < shape.domains; d++) {
    const docs: unknown[] = [entity("Domain", `domain-${d}`, { owner: pick(groupNames) }, { description: `The ${WORDS[d % WORDS.length]} domain` })];
    for (let s = d; s < shape.systems; s += shape.domains) docs.push(entity("System", systemNames[s] as string, { owner: pick(groupNames), domain: `domain-${d}` }, { description: `System ${systemNames[s]}` }));
    write(`domains/domain-${d}`, docs);
  }
  const usersByHomeGroup = new Map<number, { name: string; memberOf: string[] }[]>();
  for (let u = 0; u < shape.users; u++) {
    const home = u % shape.groups;
    // One in five people is in a second team too.
    const memberOf = [...new Set(rand() < 0.2 ? [home, Math.floor(rand() * shape.groups)] : [home])].map((g) => groupNames[g] as string);
    usersByHomeGroup.set(home, [...(usersByHomeGroup.get(home) ?? []), { name: userNames[u] as string, memberOf }]);
  }
  for (let g = 0; g < shape.groups; g++) {
    const groupSpec: Record<string, unknown> = { type: g === 0 ? "organization" : "team", profile: { displayName: `Team ${g}`, email: `team-${g}@example.com` }, children: [] };
    if (g > 0) groupSpec["parent"] = groupNames[Math.floor((g - 1) / 8)];
    const docs: unknown[] = [entity("Group", groupNames[g] as string, groupSpec, { title: `Team ${g}` })];
    for (const user of usersByHomeGroup.get(g) ?? []) docs.push(entity("User", user.name, { profile: { displayName: `User ${user.name.slice(5)}`, email: `${user.name}@example.com` }, memberOf: user.memberOf }));
    write(`teams/${groupNames[g]}`, docs);
  }
  const componentDocs = (i: number, round: number): unknown[] => {
    const name = componentNames[i] as string;
    const dependsOn = new Set<string>();
    for (let k = Math.floor(rand() * 5); k > 0; k--) {
      const target = skewed(shape.components);
      if (target !== i) dependsOn.add(`component:${componentNames[target]}`);
    }
    if (i < shape.resources) dependsOn.add(`resource:${resourceNames[i]}`);
    if (rand() < 0.3) dependsOn.add(`resource:${resourceNames[skewed(shape.resources)]}`);
    const consumes = new Set<string>();
    for (let k = Math.floor(rand() * 4); k > 0; k--) consumes.add(apiNames[skewed(shape.apis)] as string);
    const owner = groupNames[i % shape.groups] as string;
    const system = systemNames[i % shape.systems] as string;
    const spec: Record<string, unknown> = { type: pick(["service", "service", "library", "website"]), lifecycle: pick(["production", "production", "experimental", "deprecated"]), owner, system, dependsOn: [...dependsOn], consumesApis: [...consumes] };
    if (i < shape.apis) spec["providesApis"] = [apiNames[i]];
    const language = LANGUAGES[i % LANGUAGES.length] as string;
    const docs: unknown[] = [
      entity("Component", name, spec, {
        description: `${language} ${String(spec["type"])} for ${WORDS[i % WORDS.length]}${round > 0 ? ` (revision ${round})` : ""}`,
        tags: [language, WORDS[i % WORDS.length]],
        links: [{ url: `https://git.example.com/${name}`, title: "Repository" }],
      }),
    ];
    if (i < shape.apis) {
      const definition = `openapi: 3.0.0\ninfo:\n  title: ${apiNames[i]}\n  version: 1.0.${i}\npaths:\n${Array.from({ length: 8 }, (_, p) => `  /v1/resource-${p}:\n    get:\n      responses:\n        "200":\n          description: ok\n`).join("")}`;
      docs.push(entity("API", apiNames[i] as string, { type: "openapi", lifecycle: "production", owner, system, definition }));
    }
    if (i < shape.resources) docs.push(entity("Resource", resourceNames[i] as string, { type: pick(["database", "kafka-topic", "s3-bucket", "clickhouse-table"]), owner, system }));
    return docs;
  };
  for (let i = 0; i < shape.components; i++) write(`repos/${componentNames[i]}`, componentDocs(i, 0));
  // Resources beyond the components' own (more resources than components): in one shared infra repo each.
  for (let r = shape.components; r < shape.resources; r++) write(`infra/${resourceNames[r]}`, [entity("Resource", resourceNames[r] as string, { type: "database", owner: pick(groupNames) })]);
  // APIs beyond the components' own.
  for (let a = shape.components; a < shape.apis; a++) write(`apis/${apiNames[a]}`, [entity("API", apiNames[a] as string, { type: "graphql", lifecycle: "production", owner: pick(groupNames), definition: "type Query { ok: Boolean }" })]);

  return {
    root,
    shape,
    files,
    refs: {
      components: componentNames.map((n) => `component:default/${n}`),
      apis: apiNames.map((n) => `api:default/${n}`),
      groups: groupNames.map((n) => `group:default/${n}`),
      users: userNames.map((n) => `user:default/${n}`),
      resources: resourceNames.map((n) => `resource:default/${n}`),
    },
    touch(count, round) {
      const rewrite = random(seed + round);
      const seen = new Set<number>();
      while (seen.size < Math.min(count, shape.components)) seen.add(Math.floor(rewrite() * shape.components));
      for (const i of seen) write(`repos/${componentNames[i]}`, componentDocs(i, round));
      return seen.size;
    },
  };
}
