import type { SecretSource } from "../core/deps.ts";
import { GatewayError } from "../core/errors.ts";
import type { UpstreamProviderConfig } from "../config/index.ts";
import { cachedCredentials, createServiceAccountTokens, createSigV4Signer, parseServiceAccountKey, type AwsCredentialSource, type ProviderDescriptor, type ServiceAccountKey } from "../providers/index.ts";
import type { UpstreamRequest } from "./transport.ts";

/**
 * Where cloud credentials come from: a runtime port. Node reads the standard AWS sources
 * (env, shared config and credentials files, SSO, web identity, ECS/EC2 roles) and a key
 * file named by GOOGLE_APPLICATION_CREDENTIALS (src/adapters/node/cloud-credentials.ts);
 * without a port the gateway's secrets are read (Workers: Worker secrets).
 */
export interface CloudCredentialSources {
  aws?: AwsCredentialSource | undefined;
  /** The service-account key a Vertex route authenticates with; `keyEnv` names the secret holding its JSON. */
  googleServiceAccount?: ((keyEnv: string) => Promise<ServiceAccountKey>) | undefined;
}

/** Adds the route's credential to a request as it leaves: an AWS signature, a Google access token. */
export type UpstreamSigner = (request: UpstreamRequest) => Promise<UpstreamRequest>;

export interface UpstreamAuth {
  /** The signer of a cloud route, or undefined for a key route (its key is a header). */
  signerFor(provider: ProviderDescriptor, config: UpstreamProviderConfig): UpstreamSigner | undefined;
}

/** AWS keys from the gateway's secrets: the static part of the standard sources, all a Worker has. */
export function awsCredentialsFromSecrets(secrets: SecretSource): AwsCredentialSource {
  return () => {
    const accessKeyId = secrets.get("AWS_ACCESS_KEY_ID");
    const secretAccessKey = secrets.get("AWS_SECRET_ACCESS_KEY");
    if (!accessKeyId || !secretAccessKey) return Promise.reject(missingAwsCredentials());
    const sessionToken = secrets.get("AWS_SESSION_TOKEN");
    return Promise.resolve({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) });
  };
}

export function missingAwsCredentials(cause?: unknown): GatewayError {
  return new GatewayError("not_configured", "No AWS credentials for provider bedrock: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run the gateway under an IAM role) in the gateway's environment.", { cause });
}

export function googleKeyFromSecrets(secrets: SecretSource): (keyEnv: string) => Promise<ServiceAccountKey> {
  return (keyEnv) => {
    const text = secrets.get(keyEnv);
    if (!text) return Promise.reject(new GatewayError("not_configured", `No service-account key for provider vertex: set ${keyEnv} to the key file's JSON (or GOOGLE_APPLICATION_CREDENTIALS to its path, on Node).`));
    return Promise.resolve(parseServiceAccountKey(text, keyEnv));
  };
}

/**
 * One signer per route account, kept across requests (and config reloads that keep the
 * account): SigV4 signers share the cached AWS credentials, Vertex signers one cached token
 * per key. A cloud route whose credentials cannot be had is refused before anything is sent.
 */
export function createUpstreamAuth(secrets: SecretSource, sources: CloudCredentialSources = {}, fetchFn: typeof fetch = fetch): UpstreamAuth {
  const aws = cachedCredentials(sources.aws ?? awsCredentialsFromSecrets(secrets));
  const googleKey = sources.googleServiceAccount ?? googleKeyFromSecrets(secrets);
  const signers = new Map<string, UpstreamSigner>();
  return {
    signerFor(provider, config) {
      const kind = provider.upstreamAuth ?? "key";
      if (kind === "key") return undefined;
      if (kind === "aws-sigv4") {
        const region = config.region;
        if (region === undefined) throw new GatewayError("not_configured", `Provider ${provider.id} has no AWS region: set providers.${provider.id}.region in gatehouse.yaml.`);
        const id = `aws:${region}`;
        let signer = signers.get(id);
        if (!signer) {
          const sign = createSigV4Signer({ region, service: "bedrock", credentials: aws });
          signer = async (request) => sign(request).catch((err: unknown) => Promise.reject(err instanceof GatewayError ? err : missingAwsCredentials(err)));
          signers.set(id, signer);
        }
        return signer;
      }
      const keyEnv = config.apiKeyEnv ?? provider.defaultApiKeyEnv;
      const id = `google:${keyEnv}`;
      let signer = signers.get(id);
      if (!signer) {
        const tokens = createServiceAccountTokens({ key: () => googleKey(keyEnv), fetch: fetchFn });
        signer = async (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${await tokens.token()}` } });
        signers.set(id, signer);
      }
      return signer;
    },
  };
}

/**
 * Every secret value a route's upstream authentication reads from the gateway's secrets, for
 * redaction by value (body capture): the key of a key route; the AWS access key, secret key and
 * session token of a SigV4 route; the service-account key's JSON, private key and key id of a
 * Google route. Credentials the AWS SDK finds elsewhere (profiles, roles) are not known here.
 */
export function upstreamSecretValues(provider: ProviderDescriptor, keyEnv: string, secrets: SecretSource): string[] {
  const values: Array<string | undefined> = [secrets.get(keyEnv)];
  if (provider.upstreamAuth === "aws-sigv4") values.push(secrets.get("AWS_ACCESS_KEY_ID"), secrets.get("AWS_SECRET_ACCESS_KEY"), secrets.get("AWS_SESSION_TOKEN"));
  if (provider.upstreamAuth === "google-service-account") {
    const json = secrets.get(keyEnv);
    if (json) {
      try {
        const key = JSON.parse(json) as { private_key?: unknown; private_key_id?: unknown };
        if (typeof key.private_key === "string") values.push(key.private_key);
        if (typeof key.private_key_id === "string") values.push(key.private_key_id);
      } catch (err) {
        // Not JSON: the route itself refuses it at the first request (parseServiceAccountKey); the raw value is still redacted above.
        if (!(err instanceof SyntaxError)) throw err;
      }
    }
  }
  return values.filter((v): v is string => typeof v === "string" && v.length > 0);
}
