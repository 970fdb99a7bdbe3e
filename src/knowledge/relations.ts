import {
  parseEntityRef,
  RELATION_API_CONSUMED_BY,
  RELATION_API_PROVIDED_BY,
  RELATION_CHILD_OF,
  RELATION_CONSUMES_API,
  RELATION_DEPENDENCY_OF,
  RELATION_DEPENDS_ON,
  RELATION_HAS_MEMBER,
  RELATION_HAS_PART,
  RELATION_MEMBER_OF,
  RELATION_OWNED_BY,
  RELATION_OWNER_OF,
  RELATION_PARENT_OF,
  RELATION_PART_OF,
  RELATION_PROVIDES_API,
  stringifyEntityRef,
} from "@backstage/catalog-model";
import { EntityValidationError, refKey, type Entity } from "./entity.ts";

export interface Relation {
  source: string;
  type: string;
  target: string;
}

interface Rule {
  field: string;
  /** Kind assumed when the ref omits it (as in Backstage's BuiltinKindsEntityProcessor); none = the ref must name its kind. */
  defaultKind: string | undefined;
  /** Relation from this entity to the target, and its reverse from the target back. */
  outgoing: string;
  incoming: string;
}

const owner: Rule = { field: "owner", defaultKind: "Group", outgoing: RELATION_OWNED_BY, incoming: RELATION_OWNER_OF };
const system: Rule = { field: "system", defaultKind: "System", outgoing: RELATION_PART_OF, incoming: RELATION_HAS_PART };
const dependsOn: Rule = { field: "dependsOn", defaultKind: undefined, outgoing: RELATION_DEPENDS_ON, incoming: RELATION_DEPENDENCY_OF };
const dependencyOf: Rule = { field: "dependencyOf", defaultKind: undefined, outgoing: RELATION_DEPENDENCY_OF, incoming: RELATION_DEPENDS_ON };

/** The spec fields of each built-in kind that become relations (Backstage's documented descriptor format). */
const rulesByKind: Readonly<Record<string, readonly Rule[]>> = {
  component: [
    owner,
    system,
    { field: "subcomponentOf", defaultKind: "Component", outgoing: RELATION_PART_OF, incoming: RELATION_HAS_PART },
    { field: "providesApis", defaultKind: "API", outgoing: RELATION_PROVIDES_API, incoming: RELATION_API_PROVIDED_BY },
    { field: "consumesApis", defaultKind: "API", outgoing: RELATION_CONSUMES_API, incoming: RELATION_API_CONSUMED_BY },
    dependsOn,
    dependencyOf,
  ],
  api: [owner, system],
  resource: [owner, system, dependsOn, dependencyOf],
  system: [owner, { field: "domain", defaultKind: "Domain", outgoing: RELATION_PART_OF, incoming: RELATION_HAS_PART }],
  domain: [owner, { field: "subdomainOf", defaultKind: "Domain", outgoing: RELATION_PART_OF, incoming: RELATION_HAS_PART }],
  group: [
    { field: "parent", defaultKind: "Group", outgoing: RELATION_CHILD_OF, incoming: RELATION_PARENT_OF },
    { field: "children", defaultKind: "Group", outgoing: RELATION_PARENT_OF, incoming: RELATION_CHILD_OF },
    { field: "members", defaultKind: "User", outgoing: RELATION_HAS_MEMBER, incoming: RELATION_MEMBER_OF },
  ],
  user: [{ field: "memberOf", defaultKind: "Group", outgoing: RELATION_MEMBER_OF, incoming: RELATION_HAS_MEMBER }],
  location: [],
};

/**
 * The relations one entity's descriptor declares, both directions, with lowercased refs.
 * The target need not exist (yet): Backstage keeps such relations too, and a later source
 * may bring the entity.
 */
export function deriveRelations(entity: Entity): Relation[] {
  const self = refKey(entity);
  const namespace = entity.metadata.namespace ?? "default";
  const spec = (entity.spec ?? {}) as Record<string, unknown>;
  const seen = new Set<string>();
  const relations: Relation[] = [];
  const add = (relation: Relation): void => {
    const key = `${relation.source}\u0000${relation.type}\u0000${relation.target}`;
    if (seen.has(key)) return;
    seen.add(key);
    relations.push(relation);
  };
  for (const rule of rulesByKind[entity.kind.toLocaleLowerCase("en-US")] ?? []) {
    const value = spec[rule.field];
    if (value === undefined || value === null) continue;
    const refs = Array.isArray(value) ? value : [value];
    for (const ref of refs) {
      if (typeof ref !== "string" || ref === "") throw new EntityValidationError(`${entity.kind} "${entity.metadata.name}": spec.${rule.field} must hold entity refs (strings).`);
      const target = parseTarget(entity, rule, ref, namespace);
      add({ source: self, type: rule.outgoing, target });
      add({ source: target, type: rule.incoming, target: self });
    }
  }
  return relations;
}

function parseTarget(entity: Entity, rule: Rule, ref: string, namespace: string): string {
  try {
    return stringifyEntityRef(parseEntityRef(ref, { defaultNamespace: namespace, ...(rule.defaultKind ? { defaultKind: rule.defaultKind } : {}) })).toLocaleLowerCase("en-US");
  } catch (err) {
    const hint = rule.defaultKind ? "" : ` (spec.${rule.field} refs must name their kind, e.g. "resource:default/orders-db")`;
    throw new EntityValidationError(`${entity.kind} "${entity.metadata.name}": bad ref "${ref}" in spec.${rule.field}${hint}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
