import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";

/** The algorithm of Gatehouse's own tokens: ES256 keeps tokens short and verification fast. */
export const GATEHOUSE_TOKEN_ALG = "ES256";

/** The key Gatehouse signs its tokens with; the public half is published at /auth/jwks.json. */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

/** A fresh private JWK (with its kid), for an adapter to store (Node: a 0600 file). */
export async function generateSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(GATEHOUSE_TOKEN_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg: GATEHOUSE_TOKEN_ALG, use: "sig", kid: await calculateJwkThumbprint(jwk) };
}

export async function importSigningKey(privateJwk: JWK): Promise<SigningKey> {
  if (privateJwk.kty !== "EC" || privateJwk.crv !== "P-256" || !privateJwk.d) {
    throw new Error("The signing key must be a private EC P-256 JWK (ES256).");
  }
  const { d: _private, ...publicPart } = privateJwk;
  const kid = privateJwk.kid ?? (await calculateJwkThumbprint(publicPart));
  const publicJwk: JWK = { kty: publicPart.kty, crv: publicPart.crv, x: publicPart.x, y: publicPart.y, alg: GATEHOUSE_TOKEN_ALG, use: "sig", kid };
  const privateKey = await importJWK({ ...privateJwk, alg: GATEHOUSE_TOKEN_ALG }, GATEHOUSE_TOKEN_ALG);
  const publicKey = await importJWK(publicJwk, GATEHOUSE_TOKEN_ALG);
  if (!(privateKey instanceof CryptoKey) || !(publicKey instanceof CryptoKey)) throw new Error("The signing key could not be imported.");
  return { kid, privateKey, publicKey, publicJwk };
}
