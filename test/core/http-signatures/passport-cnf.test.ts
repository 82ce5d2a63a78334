/**
 * The passport `cnf` claim (RFC 7800 §3.1 with RFC 9449 §6.1's `jkt`): a
 * passport bound to an agent key carries the key's RFC 7638 thumbprint.
 */
import { describe, expect, test } from "bun:test";
import { generateAgentKey } from "../../../core/http-signatures/index.ts";
import { createJwks } from "../../../core/keys/index.ts";
import { signPassport, verifyPassport } from "../../../core/passport/index.ts";
import { caught, ISSUER, NOW, passportClaims, sharedKey, signRaw } from "../passport/fixtures.ts";

const OPTIONS = { issuer: ISSUER, audience: "lime-passport", now: NOW + 10 };

async function issuer() {
  const key = await sharedKey();
  return {
    key,
    jwks: createJwks([key.publicJwk]),
    header: { alg: "RS256", typ: "passport+jwt", kid: key.kid },
  };
}

describe("passport cnf.jkt", () => {
  test("a bound passport verifies and exposes the thumbprint as boundKeyThumbprint", async () => {
    const { key, jwks } = await issuer();
    const agentKey = await generateAgentKey();
    const token = await signPassport(passportClaims({ cnf: { jkt: agentKey.kid } }), key);
    const context = await verifyPassport(token, jwks, OPTIONS);
    expect(context.boundKeyThumbprint).toBe(agentKey.kid);
    expect(context.claims.cnf).toEqual({ jkt: agentKey.kid });
  });

  test("an unbound passport has no boundKeyThumbprint", async () => {
    const { key, jwks } = await issuer();
    const context = await verifyPassport(await signPassport(passportClaims(), key), jwks, OPTIONS);
    expect(context.boundKeyThumbprint).toBeUndefined();
    expect("boundKeyThumbprint" in context).toBe(false);
  });

  const bad: [string, unknown][] = [
    ["a string", "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"],
    ["null", null],
    ["an array", [{ jkt: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" }]],
    ["an empty object", {}],
    ["a jkt that is a number", { jkt: 5 }],
    ["a 42-character jkt", { jkt: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4" }],
    ["a padded jkt", { jkt: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k=" }],
    ["a jkt in standard base64", { jkt: "kPrK/qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" }],
    ["a jkt with non-zero trailing bits", { jkt: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4l" }],
    [
      "another confirmation method beside jkt",
      { jkt: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", jwk: {} },
    ],
    ["another confirmation method alone", { "x5t#S256": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" }],
  ];
  for (const [what, cnf] of bad) {
    test(`verifyPassport refuses cnf as ${what} (PASSPORT_INVALID_CLAIM)`, async () => {
      const { key, jwks, header } = await issuer();
      const token = await signRaw(header, passportClaims({ cnf } as never), key);
      expect(await caught(() => verifyPassport(token, jwks, OPTIONS))).toMatchObject({
        name: "PassportError",
        code: "PASSPORT_INVALID_CLAIM",
      });
    });
  }

  test("signPassport refuses to mint a malformed cnf", async () => {
    const { key } = await issuer();
    expect(await caught(() => signPassport(passportClaims({ cnf: { jkt: "short" } }), key))).toMatchObject({
      code: "PASSPORT_INVALID_CLAIM",
    });
  });
});
