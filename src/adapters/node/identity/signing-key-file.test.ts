import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK } from "jose";
import { describe, expect, it } from "vitest";
import { loadOrCreateSigningKey } from "./signing-key-file.ts";

describe("loadOrCreateSigningKey", () => {
  it("gives processes starting at once one and the same key, never a half-written file", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-key-"));
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey({ dataDir, signingKeyFile: undefined })));
    const publics = await Promise.all(keys.map(async (k) => JSON.stringify(await exportJWK(k.publicKey))));
    expect(new Set(publics).size).toBe(1);
    expect(readdirSync(dataDir)).toEqual(["signing-key.json"]);
    expect(statSync(join(dataDir, "signing-key.json")).mode & 0o777).toBe(0o600);
  });
});
