import { errors } from "jose";
import { GatewayError } from "../core/errors.ts";

/**
 * Turns a verification failure into a 401 that says what is wrong without echoing the token,
 * its claims or what the gateway expected (that would help a forger).
 */
export function verificationError(err: unknown): GatewayError {
  const fail = (message: string) => new GatewayError("unauthenticated", message, { cause: err });
  if (err instanceof GatewayError) return err;
  if (err instanceof errors.JWTExpired) return fail("Gateway token has expired. Sign in again (opencode auth login <gateway>, or gatehouse login <gateway>).");
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf") return fail("Gateway token is not valid yet.");
    if (err.claim === "iss") return fail("Gateway token was issued by an issuer this gateway does not trust.");
    if (err.claim === "aud") return fail("Gateway token was issued for a different audience.");
    if (err.claim === "iat") return fail("Gateway token has an invalid issue time.");
    return fail(`Gateway token is missing a required claim or a claim is invalid (${err.claim}).`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return fail("Gateway token uses a signing algorithm this gateway does not accept.");
  if (err instanceof errors.JWSSignatureVerificationFailed) return fail("Gateway token signature is invalid.");
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return fail("Gateway token was signed with a key this gateway does not know.");
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new GatewayError("upstream_unavailable", "The identity provider's signing keys could not be fetched; try again shortly.", { cause: err });
  }
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid || err instanceof errors.JOSEError) return fail("Gateway token is malformed.");
  if (err instanceof TypeError) {
    // fetch() of the JWKS failed (network): not the caller's fault.
    return new GatewayError("upstream_unavailable", "The identity provider's signing keys could not be fetched; try again shortly.", { cause: err });
  }
  return fail("Gateway token could not be verified.");
}
