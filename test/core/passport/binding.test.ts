/**
 * The Agent Binding passport profile (core/passport/binding.ts): what the
 * signer refuses to mint and what the verifier refuses to accept, with
 * `jose` as an independent check of what is minted.
 */
import { describe, expect, test } from "bun:test";
import { importJWK, jwtVerify } from "jose";
import { PassportError } from "../../../core/errors.ts";
import { createJwks } from "../../../core/keys/index.ts";
import {
  BINDING_PASSPORT_TYP,
  type BindingPassportClaims,
  signBindingPassport,
  signPassport,
  verifyBindingPassport,
  verifyPassport,
} from "../../../core/passport/index.ts";
import { caught, ISSUER, NOW, sharedKey, signRaw, siteLoginClaims } from "./fixtures.ts";

function bindingClaims(overrides: Record<string, unknown> = {}): BindingPassportClaims {
  return {
    iss: ISSUER,
    sub: "agent_7f3a",
    aud: "lime-binding",
    iat: NOW,
    exp: NOW + 60,
    jti: "jti_b1",
    binding_id: "br_1",
    agent_id: "agent_7f3a",
    user_id: "user_42",
    site_id: "site_1",
    user_kyc_level: 1,
    agent_reputation: 0,
    passport_version: 1,
    ...overrides,
  } as BindingPassportClaims;
}

const OPTIONS = { issuer: ISSUER, now: NOW + 10 };

async function setup() {
  const key = await sharedKey();
  return {
    key,
    jwks: createJwks([key.publicJwk]),
    header: { alg: "RS256", typ: "binding+jwt", kid: key.kid },
  };
}

async function code(run: () => Promise<unknown>): Promise<string> {
  const error = await caught(run);
  expect(error).toBeInstanceOf(PassportError);
  return error.code;
}

describe("signBindingPassport", () => {
  test("header { alg: RS256, typ: binding+jwt, kid }; jose verifies it and reads the claims as given", async () => {
    const { key } = await setup();
    const token = await signBindingPassport(bindingClaims(), key);
    const { payload, protectedHeader } = await jwtVerify(token, await importJWK(key.publicJwk, "RS256"), {
      issuer: ISSUER,
      audience: "lime-binding",
      typ: BINDING_PASSPORT_TYP,
      currentDate: new Date((NOW + 10) * 1000),
    });
    expect(protectedHeader).toEqual({ alg: "RS256", typ: "binding+jwt", kid: key.kid });
    expect(payload).toEqual(bindingClaims() as unknown as typeof payload);
  });

  test("every claim of the profile is required (PASSPORT_MISSING_CLAIM)", async () => {
    const { key } = await setup();
    for (const claim of [
      "iss",
      "sub",
      "aud",
      "iat",
      "exp",
      "jti",
      "binding_id",
      "agent_id",
      "user_id",
      "site_id",
      "user_kyc_level",
      "agent_reputation",
      "passport_version",
    ]) {
      const claims = bindingClaims();
      delete (claims as Record<string, unknown>)[claim];
      expect([claim, await code(() => signBindingPassport(claims, key))]).toEqual([
        claim,
        "PASSPORT_MISSING_CLAIM",
      ]);
    }
  });

  test("what LIME's SDK would refuse, or what is not this profile, is PASSPORT_INVALID_CLAIM", async () => {
    const { key } = await setup();
    for (const bad of [
      { aud: ["lime-binding"] },
      { aud: "lime-site-login" },
      { exp: NOW + 61 },
      { binding_id: "   " },
      { binding_id: "" },
      { binding_id: 7 },
      { binding_id: "x".repeat(257) },
      { agent_id: "another-agent" },
      { user_kyc_level: 4 },
      { user_kyc_level: 1.5 },
      { agent_reputation: "high" },
      { agent_reputation: Number.NaN },
      { passport_version: 2 },
      { passport_version: "1" },
    ]) {
      expect([bad, await code(() => signBindingPassport(bindingClaims(bad), key))]).toEqual([
        bad,
        "PASSPORT_INVALID_CLAIM",
      ]);
    }
  });
});

describe("signBindingPassport on what is not a JSON object", () => {
  test("claims that JSON cannot carry (a BigInt, a cycle) or that are not an object: PASSPORT_INVALID_CLAIM", async () => {
    const { key } = await setup();
    const cyclic: Record<string, unknown> = bindingClaims();
    cyclic.self = cyclic;
    for (const bad of [{ ...bindingClaims(), big: 1n }, cyclic, null, [bindingClaims()], "claims"]) {
      expect(await code(() => signBindingPassport(bad as never, key))).toBe("PASSPORT_INVALID_CLAIM");
    }
  });
});

describe("verifyBindingPassport", () => {
  test("returns the binding context", async () => {
    const { key, jwks } = await setup();
    const context = await verifyBindingPassport(await signBindingPassport(bindingClaims(), key), jwks, {
      ...OPTIONS,
      bindingId: "br_1",
      siteId: "site_1",
    });
    expect(context).toEqual({
      bindingId: "br_1",
      agentId: "agent_7f3a",
      ownerId: "user_42",
      siteId: "site_1",
      ownerKycLevel: 1,
      agentReputation: 0,
      passportVersion: 1,
      issuer: ISSUER,
      issuedAt: NOW,
      expiresAt: NOW + 60,
      jwtId: "jti_b1",
      claims: bindingClaims(),
    });
  });

  test("binding_id and site_id must be the expected ones when named", async () => {
    const { key, jwks } = await setup();
    const token = await signBindingPassport(bindingClaims(), key);
    expect(await code(() => verifyBindingPassport(token, jwks, { ...OPTIONS, bindingId: "br_2" }))).toBe(
      "PASSPORT_WRONG_BINDING",
    );
    expect(await code(() => verifyBindingPassport(token, jwks, { ...OPTIONS, siteId: "site_2" }))).toBe(
      "PASSPORT_WRONG_SITE",
    );
    expect(await code(() => verifyBindingPassport(token, jwks, { ...OPTIONS, bindingId: "" }))).toBe(
      "PASSPORT_INVALID_OPTION",
    );
  });

  test("issuer, expiry and signature are checked; a bad signature wins over bad claims", async () => {
    const { key, jwks, header } = await setup();
    const token = await signBindingPassport(bindingClaims(), key);
    expect(await code(() => verifyBindingPassport(token, jwks, { ...OPTIONS, issuer: "https://x" }))).toBe(
      "PASSPORT_WRONG_ISSUER",
    );
    expect(await code(() => verifyBindingPassport(token, jwks, { ...OPTIONS, now: NOW + 60 }))).toBe(
      "PASSPORT_EXPIRED",
    );
    const forged = await signRaw(header, bindingClaims({ exp: NOW + 3600 }), key);
    const [h, p] = forged.split(".");
    const tampered = `${h}.${p}.${token.split(".")[2]}`;
    expect(await code(() => verifyBindingPassport(tampered, jwks, OPTIONS))).toBe("PASSPORT_BAD_SIGNATURE");
  });

  test("tokens a correct signer never mints are refused: long-lived, array aud, blank binding_id", async () => {
    const { key, jwks, header } = await setup();
    for (const [claims, expected] of [
      [bindingClaims({ exp: NOW + 61 }), "PASSPORT_INVALID_CLAIM"],
      [bindingClaims({ aud: ["lime-binding"] }), "PASSPORT_INVALID_CLAIM"],
      [bindingClaims({ binding_id: " " }), "PASSPORT_INVALID_CLAIM"],
      [bindingClaims({ binding_id: undefined }), "PASSPORT_MISSING_CLAIM"],
      [bindingClaims({ aud: "lime-site-login" }), "PASSPORT_WRONG_AUDIENCE"],
    ] as const) {
      const token = await signRaw(header, claims, key);
      expect([claims, await code(() => verifyBindingPassport(token, jwks, OPTIONS))]).toEqual([
        claims,
        expected,
      ]);
    }
  });

  test("explicit typing keeps the profiles apart, both ways", async () => {
    const { key, jwks } = await setup();
    const login = await signPassport(siteLoginClaims(), key);
    expect(await code(() => verifyBindingPassport(login, jwks, OPTIONS))).toBe("PASSPORT_WRONG_TYPE");
    const binding = await signBindingPassport(bindingClaims(), key);
    expect(
      await code(() =>
        verifyPassport(binding, jwks, { ...OPTIONS, audience: "lime-binding", now: NOW + 10 }),
      ),
    ).toBe("PASSPORT_WRONG_TYPE");
  });

  test("options must be an object", async () => {
    const { key, jwks } = await setup();
    const token = await signBindingPassport(bindingClaims(), key);
    expect(await code(() => verifyBindingPassport(token, jwks, null as never))).toBe(
      "PASSPORT_INVALID_OPTION",
    );
  });
});
