import { GatewayError } from "../core/errors.ts";
import type { ProviderDescriptor, RequestShape } from "./types.ts";

/** An Azure deployment name as Azure allows it: letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64. */
export const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The deployment → model map of `providers.<id>.deployments`: deployment names as keys, catalog model ids as values. */
export type DeploymentModels = Readonly<Record<string, string>>;

/**
 * A deployment the org did not declare: the gateway cannot tell which model it serves, so it
 * cannot price or govern it. Azure's own code for an unknown deployment is `DeploymentNotFound`.
 */
export class UndeclaredDeployment extends GatewayError {
  constructor(providerId: string, deployment: string) {
    super(
      "not_found",
      `The deployment "${deployment}" is not declared on this gateway, so it cannot price or govern what it serves. An administrator adds it to gatehouse.yaml as providers.${providerId}.deployments: { ${JSON.stringify(deployment)}: <the models.dev azure model id it serves, e.g. gpt-4o> }.`,
    );
  }
}

/** The model a declared deployment serves; own keys only (`constructor` is not a deployment). */
function modelOf(deployments: DeploymentModels | undefined, name: string): string | undefined {
  return deployments !== undefined && Object.hasOwn(deployments, name) ? deployments[name] : undefined;
}

/**
 * On a provider whose models are deployments, the request's shape with the model the named
 * deployment serves (what policy, pricing and the ledger read) and the deployment kept
 * beside it; an undeclared deployment is refused. Names match exactly, case included: a
 * spelling the gateway was not told about is not guessed to be one it was. A name that is
 * no deployment but one of the policy's routing aliases stays as it is: the policy routes it
 * to models, each then sent to a deployment serving it (upstreamModelNames).
 */
export function servedByDeployment(provider: ProviderDescriptor, shape: RequestShape, deployments: DeploymentModels | undefined, aliases?: Readonly<Record<string, unknown>>): RequestShape {
  if (!provider.modelIsDeployment || shape.model === undefined) return shape;
  const model = modelOf(deployments, shape.model);
  if (model !== undefined) return { ...shape, model, deployment: shape.model };
  if (aliases !== undefined && Object.hasOwn(aliases, shape.model)) return shape;
  throw new UndeclaredDeployment(provider.id, shape.model);
}

/**
 * The names each routed model is sent upstream as: the model itself, or on a deployment
 * provider the client's deployment for the model it asked for and the first declared
 * deployment serving each other model (a policy route or fallback). A routed model no
 * deployment serves is refused before anything is forwarded: sent to the client's deployment
 * it would run one model and be priced as another.
 */
export function upstreamModelNames(provider: ProviderDescriptor, shape: RequestShape, models: ReadonlyArray<string | undefined>, deployments: DeploymentModels | undefined): ReadonlyArray<string | undefined> {
  // The hot path of every other provider: no copy.
  if (!provider.modelIsDeployment || shape.model === undefined) return models;
  return models.map((model) => {
    if (shape.deployment !== undefined && (model === undefined || model === shape.model)) return shape.deployment;
    if (model === undefined) return undefined;
    const deployment = Object.entries(deployments ?? {}).find(([, served]) => served === model)?.[0];
    if (deployment === undefined) throw new GatewayError("not_configured", `This request is routed to ${model}, and no deployment of provider ${provider.id} serves it: declare one under providers.${provider.id}.deployments in gatehouse.yaml.`);
    return deployment;
  });
}
