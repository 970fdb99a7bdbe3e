import { describe, expect, it } from "vitest";
import { parseServiceAccountKey } from "./google-oauth.ts";

const key = { type: "service_account", client_email: "sa@p.iam.gserviceaccount.com", private_key: "-----BEGIN PRIVATE KEY-----\nSECRETPART\n-----END PRIVATE KEY-----\n", private_key_id: "abc", token_uri: "https://oauth2.googleapis.com/token" };

describe("parseServiceAccountKey", () => {
  it("reads a service-account key file", () => {
    expect(parseServiceAccountKey(JSON.stringify(key), "K")).toEqual({ client_email: key.client_email, private_key: key.private_key, private_key_id: "abc", token_uri: key.token_uri });
  });

  it("refuses what is not one, naming the variable and never quoting the text", () => {
    for (const text of ["SECRETPART", JSON.stringify({ ...key, type: "authorized_user" }), JSON.stringify({ ...key, private_key: undefined })]) {
      let message = "";
      try {
        parseServiceAccountKey(text, "GOOGLE_SERVICE_ACCOUNT_KEY");
      } catch (err) {
        message = err instanceof Error ? err.message : "";
      }
      expect(message).toMatch(/^GOOGLE_SERVICE_ACCOUNT_KEY is not/);
      expect(message).not.toContain("SECRETPART");
    }
  });

  it("sends the assertion (which grants a token) only to https or a loopback address", () => {
    for (const uri of ["http://oauth2.googleapis.com/token", "http://10.0.0.5/token", "file:///etc/passwd", "not a url"]) {
      expect(() => parseServiceAccountKey(JSON.stringify({ ...key, token_uri: uri }), "K")).toThrow(/token_uri/);
    }
    for (const uri of ["http://127.0.0.1:9/token", "http://[::1]:9/token", "https://oauth2.googleapis.com/token"]) expect(parseServiceAccountKey(JSON.stringify({ ...key, token_uri: uri }), "K").token_uri).toBe(uri);
  });
});
