import type { JWTPayload } from "jose";
import { GatewayError } from "../core/errors.ts";

/** Reads the verified email from a claim; a token without one cannot be attributed. */
export function emailFromClaims(payload: JWTPayload, claim: string): string {
  const value = payload[claim];
  if (typeof value !== "string" || !value.includes("@")) {
    throw new GatewayError("unauthenticated", `Identity token has no email in claim "${claim}".`);
  }
  return value;
}

/** Groups as an array of strings; a single string or a missing claim is tolerated. */
export function groupsFromClaims(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (typeof value === "string") return value ? [value] : [];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === "string");
  return [];
}
