/**
 * Regression: a JWKS document passed as a plain object was prepared once and
 * remembered by identity forever. A caller that refreshed its document in
 * place (`jwks.keys = fresh`, or a compromised key spliced out) kept
 * verifying against the keys it held at first use: a removed key went on
 * being trusted.
 */

import { describe, expect, test } from "bun:test";
import { generateSigningKey, type JsonWebKeySet, type SigningKey } from "../../../core/keys/index.ts";
import { signPassport, verifyPassport } from "../../../core/passport/index.ts";
import { caught, ISSUER, NOW, passportClaims, sharedKey } from "../passport/fixtures.ts";

const options = { issuer: ISSUER, audience: "lime-passport", now: NOW + 10 };

async function twoMoreKeys(): Promise<[SigningKey, SigningKey]> {
  return Promise.all([generateSigningKey(), generateSigningKey()]);
}

describe("a JWKS document changed in place is prepared again", () => {
  test("a key removed by replacing `keys` stops verifying at once", async () => {
    const [compromised, kept] = [await sharedKey(), (await twoMoreKeys())[0]];
    const token = await signPassport(passportClaims(), compromised);
    const jwks: JsonWebKeySet = { keys: [compromised.publicJwk, kept.publicJwk] };
    expect((await verifyPassport(token, jwks, options)).agentId).toBe("agent_7f3a");

    jwks.keys = [kept.publicJwk];
    expect((await caught(() => verifyPassport(token, jwks, options))).code).toBe("PASSPORT_UNKNOWN_KID");
  });

  test("a key spliced out of the same array, or overwritten in its slot, stops verifying", async () => {
    const compromised = await sharedKey();
    const [kept, other] = await twoMoreKeys();
    const token = await signPassport(passportClaims(), compromised);
    const spliced: JsonWebKeySet = { keys: [kept.publicJwk, compromised.publicJwk] };
    await verifyPassport(token, spliced, options);
    spliced.keys.splice(1, 1);
    expect((await caught(() => verifyPassport(token, spliced, options))).code).toBe("PASSPORT_UNKNOWN_KID");

    const overwritten: JsonWebKeySet = { keys: [compromised.publicJwk] };
    await verifyPassport(token, overwritten, options);
    overwritten.keys[0] = other.publicJwk;
    expect((await caught(() => verifyPassport(token, overwritten, options))).code).toBe(
      "PASSPORT_UNKNOWN_KID",
    );
  });

  test("a key added in place verifies, and an unchanged document keeps verifying", async () => {
    const [added] = await twoMoreKeys();
    const first = await sharedKey();
    const jwks: JsonWebKeySet = { keys: [first.publicJwk] };
    const before = await signPassport(passportClaims(), first);
    await verifyPassport(before, jwks, options);
    jwks.keys.push(added.publicJwk);
    const after = await signPassport(passportClaims({ jti: "jti_0002" }), added);
    expect((await verifyPassport(after, jwks, options)).jwtId).toBe("jti_0002");
    expect((await verifyPassport(before, jwks, options)).jwtId).toBe("jti_0001");
  });
});
