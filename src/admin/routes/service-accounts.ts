import { DEFAULT_ROLLOVER_GRACE_MS } from "../../identity/index.ts";
import { defineRoute, type AdminRoute } from "../route.ts";
import {
  addKeyBody,
  createServiceAccountBody,
  createServiceAccountResponse,
  createdKeySchema,
  disableBody,
  keyListResponse,
  keyParams,
  revokeKeyBody,
  revokedKeyResponse,
  rollOverBody,
  rollOverResponse,
  serviceAccountDetailResponse,
  serviceAccountListResponse,
  serviceAccountNameParams,
  serviceAccountSchema,
} from "../schemas.ts";

const TAG = "service accounts";

/** Service accounts and their keys: the same actions as `gatehouse service-account`. */
export const serviceAccountRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: "get",
    path: "/service-accounts",
    operationId: "listServiceAccounts",
    summary: "List service accounts with their scopes, own limits, expiry and number of active keys",
    tag: TAG,
    response: serviceAccountListResponse,
    handle: async ({ service }) => ({ serviceAccounts: await service.listServiceAccounts() }),
  }),
  defineRoute({
    method: "post",
    path: "/service-accounts",
    operationId: "createServiceAccount",
    summary: "Create a service account and its first key",
    description: "The key is in this response only (only its hash is stored); the audit log keeps its id and hint.",
    tag: TAG,
    body: createServiceAccountBody,
    response: createServiceAccountResponse,
    status: 201,
    handle: async ({ service, ctx, body }) => {
      const { keyTtlSeconds, ...input } = body;
      return service.createServiceAccount(ctx, input, keyTtlSeconds === undefined ? undefined : keyTtlSeconds * 1000);
    },
  }),
  defineRoute({
    method: "get",
    path: "/service-accounts/{name}",
    operationId: "getServiceAccount",
    summary: "One service account and all its keys (ids and hints, never the keys)",
    tag: TAG,
    params: serviceAccountNameParams,
    response: serviceAccountDetailResponse,
    handle: ({ service, params }) => service.getServiceAccount(params.name),
  }),
  defineRoute({
    method: "post",
    path: "/service-accounts/{name}/disable",
    operationId: "disableServiceAccount",
    summary: "Disable a service account: every key of it is refused, on every instance within the revocation bound",
    tag: TAG,
    params: serviceAccountNameParams,
    body: disableBody,
    response: serviceAccountSchema,
    handle: ({ service, ctx, params, body }) => service.disableServiceAccount(ctx, params.name, body.reason ?? "disabled by admin"),
  }),
  defineRoute({
    method: "get",
    path: "/service-accounts/{name}/keys",
    operationId: "listServiceAccountKeys",
    summary: "An account's keys: id, hint, created, expires, revoked",
    tag: TAG,
    params: serviceAccountNameParams,
    response: keyListResponse,
    handle: async ({ service, params }) => ({ keys: await service.listKeys(params.name) }),
  }),
  defineRoute({
    method: "post",
    path: "/service-accounts/{name}/keys",
    operationId: "createServiceAccountKey",
    summary: "Add a key to an account (shown once); the account's other keys keep working",
    tag: TAG,
    params: serviceAccountNameParams,
    body: addKeyBody,
    response: createdKeySchema,
    status: 201,
    handle: ({ service, ctx, params, body }) => service.addKey(ctx, params.name, body.ttlSeconds === undefined ? undefined : body.ttlSeconds * 1000),
  }),
  defineRoute({
    method: "post",
    path: "/service-accounts/{name}/keys/{keyId}/rollover",
    operationId: "rollOverServiceAccountKey",
    summary: "Roll a key over: a new key (shown once), and the old one working only for graceSeconds more",
    tag: TAG,
    params: keyParams,
    body: rollOverBody,
    response: rollOverResponse,
    status: 201,
    handle: async ({ service, ctx, params, body }) => {
      const graceMs = body.graceSeconds === undefined ? DEFAULT_ROLLOVER_GRACE_MS : body.graceSeconds * 1000;
      const rolled = await service.rollOverKey(ctx, params.name, params.keyId, graceMs, body.ttlSeconds === undefined ? undefined : body.ttlSeconds * 1000);
      return { key: rolled.created, old: rolled.old };
    },
  }),
  defineRoute({
    method: "post",
    path: "/service-accounts/{name}/keys/{keyId}/revoke",
    operationId: "revokeServiceAccountKey",
    summary: "Revoke one key; every instance refuses it within the revocation bound",
    tag: TAG,
    params: keyParams,
    body: revokeKeyBody,
    response: revokedKeyResponse,
    handle: async ({ service, ctx, params, body }) => {
      await service.revokeKey(ctx, params.name, params.keyId, body.reason ?? "revoked by admin");
      return { revoked: true as const, keyId: params.keyId };
    },
  }),
];
