import type { Authenticator } from "../../src/core/auth.ts";
import { extractClientToken } from "../../src/core/auth.ts";
import type { Caller } from "../../src/core/caller.ts";
import { GatewayError } from "../../src/core/errors.ts";

/** Callers by bearer token, so one gateway serves several people in several groups. */
export const PEOPLE = {
  alice: { token: "tok-alice-0000000000000", caller: { id: "a11ce000-0000-4000-8000-000000000001", email: undefined, groups: ["eng"], team: "eng", tokenId: undefined } },
  bob: { token: "tok-bob-00000000000000", caller: { id: "b0b00000-0000-4000-8000-000000000002", email: undefined, groups: ["eng"], team: "eng", tokenId: undefined } },
  admin: { token: "tok-admin-000000000000", caller: { id: "ad000000-0000-4000-8000-000000000003", email: undefined, groups: ["eng", "platform"], team: "platform", tokenId: undefined } },
} satisfies Record<string, { token: string; caller: Caller }>;

export const peopleAuthenticator: Authenticator = {
  authenticate(headers) {
    const token = extractClientToken(headers);
    const person = Object.values(PEOPLE).find((p) => p.token === token);
    if (!person) throw new GatewayError("unauthenticated", "Invalid gateway token.");
    return Promise.resolve(person.caller);
  },
};
