import {
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  DefaultNamespaceEntityPolicy,
  domainEntityV1alpha1Validator,
  EntityPolicies,
  FieldFormatEntityPolicy,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  NoForeignRootFieldsEntityPolicy,
  resourceEntityV1alpha1Validator,
  SchemaValidEntityPolicy,
  stringifyEntityRef,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
  type Entity,
  type KindValidator,
} from "@backstage/catalog-model";

export type { Entity } from "@backstage/catalog-model";

/** Envelope rules Backstage's catalog applies before any kind: namespace default, field formats, no foreign root fields. */
const envelopePolicy = EntityPolicies.allOf([new DefaultNamespaceEntityPolicy(), new NoForeignRootFieldsEntityPolicy(), new FieldFormatEntityPolicy(), new SchemaValidEntityPolicy()]);

/** The built-in kinds of the descriptor format (backstage.io/v1alpha1 / v1beta1), each with Backstage's own JSON-schema validator. */
const kindValidators: readonly KindValidator[] = [
  componentEntityV1alpha1Validator,
  apiEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
];

export class EntityValidationError extends Error {
  override name = "EntityValidationError";
}

/**
 * Validates one descriptor with `@backstage/catalog-model` (envelope policies, then the kind's
 * schema) and returns it with defaults applied. A kind no built-in validator accepts is
 * refused: Backstage too needs a processor for custom kinds, and this catalog has none.
 */
export async function validateEntity(raw: unknown): Promise<Entity> {
  let entity: Entity | undefined;
  try {
    entity = await envelopePolicy.enforce(raw as Entity);
  } catch (err) {
    throw new EntityValidationError(describe(raw, err));
  }
  if (!entity) throw new EntityValidationError(`${label(raw)}: rejected by the entity policies.`);
  for (const validator of kindValidators) {
    let matched: boolean;
    try {
      matched = await validator.check(entity);
    } catch (err) {
      throw new EntityValidationError(describe(entity, err));
    }
    if (matched) return entity;
  }
  throw new EntityValidationError(`${label(entity)}: unsupported apiVersion/kind "${entity.apiVersion}" / "${entity.kind}". Use backstage.io/v1alpha1 with one of Component, API, Resource, System, Domain, Group, User, Location.`);
}

/** The stored key: Backstage refs compare case-insensitively, so the key is lowercased. */
export function refKey(entity: Entity): string {
  return stringifyEntityRef(entity).toLocaleLowerCase("en-US");
}

function describe(raw: unknown, err: unknown): string {
  return `${label(raw)}: ${err instanceof Error ? err.message : String(err)}`;
}

function label(raw: unknown): string {
  if (typeof raw !== "object" || raw === null) return "entity";
  const record = raw as Record<string, unknown>;
  const metadata = typeof record["metadata"] === "object" && record["metadata"] !== null ? (record["metadata"] as Record<string, unknown>) : {};
  const kind = typeof record["kind"] === "string" ? record["kind"] : "?";
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "?";
  return `${kind} "${name}"`;
}
