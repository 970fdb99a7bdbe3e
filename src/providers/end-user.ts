import type { JsonObject, RequestShape } from "./types.ts";

/**
 * Puts the caller's anonymous id where the provider expects an end-user id; returns true
 * when the body changed. A client-sent value (which could carry an email) is overwritten.
 */
export function setEndUser(body: JsonObject, shape: RequestShape, anonymousId: string): boolean {
  switch (shape.endUser) {
    case "metadata.user_id": {
      const existing = body["metadata"];
      const metadata: JsonObject = existing !== null && typeof existing === "object" && !Array.isArray(existing) ? { ...(existing as JsonObject) } : {};
      metadata["user_id"] = anonymousId;
      body["metadata"] = metadata;
      return true;
    }
    case "safety_identifier":
      // `safety_identifier` replaces the deprecated `user`; a client-sent `user` is overwritten too.
      body["safety_identifier"] = anonymousId;
      if ("user" in body) body["user"] = anonymousId;
      return true;
    case "user":
      body["user"] = anonymousId;
      return true;
    case undefined:
      return false;
  }
}
