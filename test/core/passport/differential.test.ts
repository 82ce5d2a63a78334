/**
 * Differential tests: tokens cross between LIME's signer/verifier and two
 * independent implementations, jose (JWS on WebCrypto) and node:crypto
 * (OpenSSL/BoringSSL's RSA-SHA256).
 */

import { describe, expect, test } from "bun:test";
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";
import { encodeBase64url, encodeBase64urlText } from "../../../core/encoding/base64url.ts";
import { computeKid, createJwks, exportPrivateJwk } from "../../../core/keys/index.ts";
import { signPassport, verifyPassport } from "../../../core/passport/index.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { ISSUER, NOW, passportClaims, sharedKey } from "./fixtures.ts";

const OPTIONS = { issuer: ISSUER, audience: "lime-passport", now: NOW + 1 };

describe("LIME signs, others verify", () => {
  test("jose.jwtVerify accepts LIME passports with typ, issuer and audience checks", async () => {
    const key = await sharedKey();
    const jwks = createJwks([key.publicJwk]);
    for (let i = 0; i < 5; i++) {
      const claims = passportClaims({ jti: `jti_${i}`, agent_name: `Bot ${i} ✓` });
      const token = await signPassport(claims, key);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: ISSUER,
        audience: "lime-passport",
        typ: "passport+jwt",
        algorithms: ["RS256"],
        currentDate: new Date((NOW + 1) * 1000),
      });
      expect(payload).toEqual(claims);
      expect(protectedHeader.kid).toBe(key.kid);
    }
  });

  test("node:crypto verify('RSA-SHA256') accepts the signature over the signing input", async () => {
    const key = await sharedKey();
    const publicKey = createPublicKey({ key: key.publicJwk, format: "jwk" });
    const token = await signPassport(passportClaims(), key);
    const dot = token.lastIndexOf(".");
    const signature = Buffer.from(token.slice(dot + 1), "base64url");
    expect(verify("RSA-SHA256", Buffer.from(token.slice(0, dot)), publicKey, signature)).toBe(true);
    expect(verify("RSA-SHA256", Buffer.from(`${token.slice(0, dot)}x`), publicKey, signature)).toBe(false);
  });

  test("node:crypto produces the same signature bytes from the exported private key (deterministic RS256)", async () => {
    const key = await sharedKey();
    const privateKey = createPrivateKey({ key: (await exportPrivateJwk(key)) as never, format: "jwk" });
    const token = await signPassport(passportClaims(), key);
    const dot = token.lastIndexOf(".");
    expect(encodeBase64url(sign("RSA-SHA256", Buffer.from(token.slice(0, dot)), privateKey))).toBe(
      token.slice(dot + 1),
    );
  });
});

describe("others sign, LIME verifies", () => {
  test(
    "a passport signed by node:crypto with a node-generated 3072-bit key",
    async () => {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 3072 });
      const publicJwk = publicKey.export({ format: "jwk" }) as { n: string; e: string };
      const kid = await computeKid({ kty: "RSA", ...publicJwk });
      const input = `${encodeBase64urlText(JSON.stringify({ alg: "RS256", typ: "passport+jwt", kid }))}.${encodeBase64urlText(JSON.stringify(passportClaims()))}`;
      const token = `${input}.${encodeBase64url(sign("RSA-SHA256", Buffer.from(input), privateKey))}`;
      const jwks = { keys: [{ kty: "RSA", n: publicJwk.n, e: publicJwk.e, kid, alg: "RS256", use: "sig" }] };
      expect((await verifyPassport(token, jwks as never, OPTIONS)).agentId).toBe("agent_7f3a");
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("a passport signed by jose's SignJWT", async () => {
    const key = await sharedKey();
    const joseKey = await importJWK(await exportPrivateJwk(key), "RS256");
    const token = await new SignJWT(passportClaims())
      .setProtectedHeader({ alg: "RS256", typ: "passport+jwt", kid: key.kid })
      .sign(joseKey);
    const context = await verifyPassport(token, createJwks([key.publicJwk]), OPTIONS);
    expect(context.claims).toEqual(passportClaims());
  });
});
