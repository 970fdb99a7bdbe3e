import { McpServer, type ToolCallback } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { CatalogQueries, DEPENDENCY_RELATIONS, DEPENDENT_RELATIONS, summarize, type EntitySummary, type GraphEdge } from "./queries.ts";
import type { KnowledgeEntitiesTable } from "./tables.ts";

/** An API definition longer than this is cut (with a note): a 2 MB OpenAPI file would fill a model's context. */
const MAX_DEFINITION_CHARS = 20_000;
const MAX_RELATED_PER_TYPE = 50;

const refArg = z.string().min(1).max(300).describe("Entity ref (`component:default/payments`), `namespace/name`, or a bare name.");
const depthArg = z.number().int().min(1).max(5).default(1).describe("Hops to follow (1-5).");
const limitArg = z.number().int().min(1).max(100).default(25);
const word = z.string().min(1).max(200);

/**
 * The catalog as an MCP server, run in-process by the portal (see src/mcp/index.ts
 * `builtIns`): the portal lists, governs and audits it like any upstream. Every answer is
 * compact JSON; a ref that matches nothing or several entities says so and how to narrow it.
 */
export function createKnowledgeMcpServer(queries: CatalogQueries): McpServer {
  const server = new McpServer({ name: "gatehouse-knowledge", version: "0.1.0" }, { capabilities: { tools: {} } });
  const tool = <Shape extends z.ZodRawShape>(name: string, description: string, shape: Shape, run: ToolCallback<Shape>): void => {
    server.registerTool(name, { description, inputSchema: shape }, run);
  };

  tool(
    "get_entity",
    "Look up one catalog entity (service, API, resource, system, domain, group, user) by ref or name: metadata, owner, system, links and its relations.",
    { ref: refArg, kind: z.string().max(40).optional().describe("Preferred kind when a bare name matches several.") },
    async ({ ref, kind }) =>
      withEntity(queries, ref, kind, async (row) => {
        const entity = JSON.parse(row.entity_json) as { metadata?: { tags?: string[]; links?: { url: string; title?: string }[] } };
        const related = await queries.related(row.ref);
        const relations: Record<string, string[]> = {};
        const counts: Record<string, number> = {};
        for (const { type, target } of related) {
          counts[type] = (counts[type] ?? 0) + 1;
          const list = (relations[type] ??= []);
          if (list.length < MAX_RELATED_PER_TYPE) list.push(target);
        }
        const cut = Object.entries(counts)
          .filter(([, n]) => n > MAX_RELATED_PER_TYPE)
          .map(([type, n]) => `${type}: ${n} (first ${MAX_RELATED_PER_TYPE} shown)`);
        return ok({
          ...summarize(row),
          ...(entity.metadata?.tags?.length ? { tags: entity.metadata.tags } : {}),
          ...(entity.metadata?.links?.length ? { links: entity.metadata.links.map((link) => ({ url: link.url, ...(link.title ? { title: link.title } : {}) })) } : {}),
          relations,
          ...(cut.length ? { truncated: cut } : {}),
        });
      }),
  );

  tool(
    "find_entities",
    "List catalog entities matching filters (all optional, combined with AND): kind, spec type, owner, system, lifecycle, namespace, tag. Paged.",
    {
      kind: z.string().max(40).optional(),
      type: z.string().max(100).optional().describe("spec.type, e.g. service, website, library, openapi, database."),
      owner: z.string().max(300).optional().describe("Owner ref or group name."),
      system: z.string().max(300).optional().describe("System ref or name."),
      lifecycle: z.string().max(40).optional(),
      namespace: z.string().max(100).optional(),
      tag: z
        .string()
        .regex(/^[a-z0-9:+#.-]+$/, "Tags are lowercase letters, digits and : + # . -")
        .max(63)
        .optional(),
      limit: limitArg,
      offset: z.number().int().min(0).max(100_000).default(0),
    },
    async (filter) => {
      const { total, items } = await queries.find({ ...stripUndefined(filter), limit: filter.limit, offset: filter.offset });
      return ok({ total, offset: filter.offset, items });
    },
  );

  tool("owner_of", "Who owns an entity: the owning group or user, with the group's email if the catalog has it.", { ref: refArg }, async ({ ref }) =>
    withEntity(queries, ref, undefined, async (row) => {
      const owners = (await queries.related(row.ref, ["ownedBy"])).map((relation) => relation.target);
      if (owners.length === 0) return ok({ ref: row.ref, owners: [], note: "The entity declares no spec.owner." });
      const resolved = await Promise.all(owners.map(async (owner) => ownerDetail(queries, owner)));
      return ok({ ref: row.ref, owners: resolved });
    }),
  );

  tool("dependencies", "What an entity depends on (dependsOn, consumed APIs and the components providing them), up to `depth` hops.", { ref: refArg, depth: depthArg }, async ({ ref, depth }) =>
    withEntity(queries, ref, undefined, async (row) => graph(queries, row.ref, DEPENDENCY_RELATIONS, depth)),
  );

  tool("dependents", "What depends on an entity, directly or transitively up to `depth` hops: the impact of changing it (dependencyOf, its provided APIs and their consumers).", { ref: refArg, depth: depthArg }, async ({ ref, depth }) =>
    withEntity(queries, ref, undefined, async (row) => graph(queries, row.ref, DEPENDENT_RELATIONS, depth)),
  );

  tool("apis_of", "The APIs an entity provides and consumes (refs and types; use get_api for a definition).", { ref: refArg }, async ({ ref }) =>
    withEntity(queries, ref, "component", async (row) => {
      const related = await queries.related(row.ref, ["providesApi", "consumesApi"]);
      const summaries = await queries.entities(related.map((relation) => relation.target));
      const pick = (type: string): EntitySummary[] => related.filter((relation) => relation.type === type).map((relation) => summaries.get(relation.target) ?? { ref: relation.target, description: "(not in the catalog)" });
      return ok({ ref: row.ref, provides: pick("providesApi"), consumes: pick("consumesApi") });
    }),
  );

  tool("get_api", "An API entity with its definition (OpenAPI, AsyncAPI, GraphQL, gRPC…), its providers and consumers.", { ref: refArg }, async ({ ref }) =>
    withEntity(queries, ref, "api", async (row) => {
      if (row.kind !== "api") return fail(`${row.ref} is a ${row.kind}, not an API. Use apis_of to list the APIs it provides or consumes.`);
      const spec = (JSON.parse(row.entity_json) as { spec?: { definition?: unknown } }).spec ?? {};
      const definition = typeof spec.definition === "string" ? spec.definition : JSON.stringify(spec.definition ?? "");
      const related = await queries.related(row.ref, ["apiProvidedBy", "apiConsumedBy"]);
      return ok({
        ...summarize(row),
        providers: related.filter((r) => r.type === "apiProvidedBy").map((r) => r.target),
        consumers: related.filter((r) => r.type === "apiConsumedBy").map((r) => r.target),
        definition: definition.length > MAX_DEFINITION_CHARS ? definition.slice(0, MAX_DEFINITION_CHARS) : definition,
        ...(definition.length > MAX_DEFINITION_CHARS ? { definitionTruncated: `first ${MAX_DEFINITION_CHARS} of ${definition.length} characters` } : {}),
      });
    }),
  );

  tool("group_members", "The people of a team or group (name, display name, email), its parent and child groups.", { ref: refArg }, async ({ ref }) =>
    withEntity(queries, ref, "group", async (row) => {
      if (row.kind !== "group") return fail(`${row.ref} is a ${row.kind}, not a group. Use owner_of to find the group owning it.`);
      const related = await queries.related(row.ref, ["hasMember", "parentOf", "childOf"]);
      const memberRefs = related.filter((r) => r.type === "hasMember").map((r) => r.target);
      const people = await queries.entities(memberRefs);
      return ok({
        ...summarize(row),
        parent: related.filter((r) => r.type === "childOf").map((r) => r.target),
        children: related.filter((r) => r.type === "parentOf").map((r) => r.target),
        members: memberRefs.map((member) => {
          const person = people.get(member);
          return person?.title ? { ref: member, name: person.title } : { ref: member };
        }),
      });
    }),
  );

  tool(
    "relations",
    "One hop of any relation type from an entity (ownedBy, ownerOf, dependsOn, dependencyOf, providesApi, apiProvidedBy, consumesApi, apiConsumedBy, partOf, hasPart, memberOf, hasMember, parentOf, childOf).",
    { ref: refArg, type: z.string().max(40).optional() },
    async ({ ref, type }) => withEntity(queries, ref, undefined, async (row) => ok({ ref: row.ref, relations: await queries.related(row.ref, type ? [type] : undefined) })),
  );

  tool("search", "Free-text search over names, titles, descriptions, tags, types, owners and systems; every word must match.", { query: word, kind: z.string().max(40).optional(), limit: limitArg }, async ({ query, kind, limit }) =>
    ok({ query, items: await queries.search(query, kind, limit) }),
  );

  return server;
}

async function withEntity(queries: CatalogQueries, ref: string, kind: string | undefined, run: (row: KnowledgeEntitiesTable) => Promise<CallToolResult>): Promise<CallToolResult> {
  const resolution = await queries.resolve(ref, kind);
  if ("found" in resolution) return run(resolution.found);
  if ("ambiguous" in resolution) return fail(`"${ref}" matches several entities; call again with one of these refs.`, { candidates: resolution.ambiguous });
  return fail(`No catalog entity matches "${ref}". Use a full ref (kind:namespace/name) or find it with search.`);
}

async function graph(queries: CatalogQueries, ref: string, relations: readonly string[], depth: number): Promise<CallToolResult> {
  const { edges, truncated } = await queries.walk(ref, relations, depth);
  const summaries = await queries.entities(edges.map((edge) => edge.to));
  return ok({
    ref,
    depth,
    nodes: edges.map((edge: GraphEdge) => ({ ...(summaries.get(edge.to) ?? { ref: edge.to, description: "(not in the catalog)" }), via: `${edge.from} ${edge.relation}`, depth: edge.depth })),
    ...(truncated ? { truncated: "more than 500 entities; lower the depth" } : {}),
  });
}

async function ownerDetail(queries: CatalogQueries, owner: string): Promise<Record<string, unknown>> {
  const resolution = await queries.resolve(owner);
  if (!("found" in resolution)) return { ref: owner, note: "(not in the catalog)" };
  const row = resolution.found;
  const spec = (JSON.parse(row.entity_json) as { spec?: { profile?: { email?: string } } }).spec ?? {};
  return { ...summarize(row), ...(spec.profile?.email ? { email: spec.profile.email } : {}) };
}

function ok(value: unknown): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }] };
}

function fail(message: string, extra?: Record<string, unknown>): CallToolResult {
  return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: message, ...extra }) }] };
}

function stripUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
