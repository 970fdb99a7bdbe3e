import { readFile } from "node:fs/promises";
import type { SecretSource } from "../../core/deps.ts";
import { GatewayError } from "../../core/errors.ts";
import { parseServiceAccountKey, type AwsCredentials, type ServiceAccountKey } from "../../providers/index.ts";
import { awsCredentialsFromSecrets, googleKeyFromSecrets, missingAwsCredentials, type CloudCredentialSources } from "../../proxy/index.ts";

/**
 * Cloud credentials on Node, from the sources the clouds' own SDKs read.
 * AWS: keys in the gateway's environment or secrets file first (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); otherwise the AWS SDK's default Node chain
 * (fromNodeProviderChain: AWS_PROFILE and the shared config/credentials files, SSO, web
 * identity, process credentials, ECS and EC2 instance roles), loaded on first use.
 * Google: the key's JSON in the secret the route names (GOOGLE_SERVICE_ACCOUNT_KEY), else the
 * key file GOOGLE_APPLICATION_CREDENTIALS points at.
 */
export function nodeCloudCredentials(secrets: SecretSource, env: Record<string, string | undefined>): CloudCredentialSources {
  const fromSecrets = awsCredentialsFromSecrets(secrets);
  const keyFromSecrets = googleKeyFromSecrets(secrets);
  let chain: (() => Promise<AwsCredentials>) | undefined;
  return {
    async aws() {
      if (secrets.get("AWS_ACCESS_KEY_ID") && secrets.get("AWS_SECRET_ACCESS_KEY")) return fromSecrets();
      if (!chain) {
        const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
        chain = fromNodeProviderChain();
      }
      try {
        const identity = await chain();
        return { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken: identity.sessionToken, expiration: identity.expiration };
      } catch (err) {
        throw missingAwsCredentials(err);
      }
    },
    async googleServiceAccount(keyEnv: string): Promise<ServiceAccountKey> {
      if (secrets.get(keyEnv)) return keyFromSecrets(keyEnv);
      const file = env["GOOGLE_APPLICATION_CREDENTIALS"];
      if (!file) return keyFromSecrets(keyEnv);
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (err) {
        throw new GatewayError("not_configured", `GOOGLE_APPLICATION_CREDENTIALS names ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"}).`, { cause: err });
      }
      return parseServiceAccountKey(text, `The key file ${file}`);
    },
  };
}
