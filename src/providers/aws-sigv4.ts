import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

/** AWS credentials as the standard sources give them (env, shared files, SSO, IMDS, …). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** When temporary credentials stop working; undefined for long-term keys. */
  expiration?: Date | undefined;
}

/** Where credentials come from; called when the cached ones are missing or about to expire. */
export type AwsCredentialSource = () => Promise<AwsCredentials>;

/** A request as it leaves the gateway, before and after signing. */
export interface OutgoingRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

/** Temporary credentials are refreshed this long before they expire (a signed request must still be valid when it lands). */
export const CREDENTIAL_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * One credential fetch at a time, kept until shortly before it expires. A failed fetch is
 * not cached: the next request tries again (and is refused while it keeps failing).
 */
export function cachedCredentials(source: AwsCredentialSource, now: () => number = Date.now): AwsCredentialSource {
  let current: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  return async () => {
    if (current && (current.expiration === undefined || current.expiration.getTime() - CREDENTIAL_REFRESH_MARGIN_MS > now())) return current;
    pending ??= source().then(
      (credentials) => {
        current = credentials;
        pending = undefined;
        return credentials;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };
}

/** RFC 3986 unreserved characters stay; everything else is %XX, as AWS's UriEncode spells a path segment. */
function awsEncodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Signs requests with AWS Signature Version 4 (AWS's own implementation, @smithy/signature-v4),
 * the way the AWS SDKs do: the path's segments AWS-encoded (`v1:0` leaves as `v1%3A0`), `host`
 * and every header the request carries signed, the body's SHA-256 in `x-amz-content-sha256`.
 */
export function createSigV4Signer(options: { region: string; service: string; credentials: AwsCredentialSource; now?: () => number }) {
  const signer = new SignatureV4({ service: options.service, region: options.region, credentials: options.credentials, sha256: Sha256, uriEscapePath: true, applyChecksum: true });
  const now = options.now ?? Date.now;
  return async function sign(request: OutgoingRequest): Promise<OutgoingRequest> {
    const url = new URL(request.url);
    const path = url.pathname
      .split("/")
      .map((segment) => awsEncodeSegment(decodeURIComponent(segment)))
      .join("/");
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    const headers: Record<string, string> = { ...request.headers, host: url.host };
    const signed = await signer.sign(
      { method: request.method, protocol: url.protocol, hostname: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), path, query, headers, ...(request.body ? { body: request.body } : {}) },
      { signingDate: new Date(now()) },
    );
    const signedHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) signedHeaders[name.toLowerCase()] = value;
    return { url: `${url.protocol}//${url.host}${path}${url.search}`, method: request.method, headers: signedHeaders, body: request.body };
  };
}
