/**
 * RFC 9728 protected-resource metadata and the `WWW-Authenticate` challenge pointing at it,
 * so MCP clients discover where to log in. The authorization server is the gateway's
 * identity issuer (or whatever the deployment configures).
 */
export const METADATA_PATH = "/.well-known/oauth-protected-resource";

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: string[];
  resource_name: string;
  scopes_supported?: string[];
  resource_documentation?: string;
}

export function protectedResourceMetadata(baseUrl: string, authorizationServers: readonly string[], scopes: readonly string[] | undefined): ProtectedResourceMetadata {
  return {
    resource: `${baseUrl}/mcp`,
    authorization_servers: authorizationServers.length > 0 ? [...authorizationServers] : [baseUrl],
    bearer_methods_supported: ["header"],
    resource_name: "Gatehouse MCP portal",
    ...(scopes && scopes.length > 0 ? { scopes_supported: [...scopes] } : {}),
  };
}

export function bearerChallenge(baseUrl: string, error?: "invalid_token"): string {
  const parts = [`resource_metadata="${baseUrl}${METADATA_PATH}"`];
  if (error) parts.push(`error="${error}"`);
  return `Bearer ${parts.join(", ")}`;
}
