import { describe, expect, test } from "bun:test";
import { createHmac, createPublicKey } from "node:crypto";
import { encodeBase64url, encodeBase64urlText } from "../../../core/encoding/base64url.ts";
import { PassportError } from "../../../core/errors.ts";
import { createJwks, createLocalJwks, generateSigningKey } from "../../../core/keys/index.ts";
import {
  signJwt,
  signPassport,
  type VerifyPassportOptions,
  verifyJwt,
  verifyPassport,
} from "../../../core/passport/index.ts";
import { rs256Sign } from "../../../core/passport/rs256.ts";
import { verifyJws } from "../../../core/passport/verify.ts";
import {
  caught,
  ISSUER,
  NOW,
  passportClaims,
  RS256_BACKENDS,
  sharedKey,
  signRaw,
  siteLoginClaims,
} from "./fixtures.ts";

const OPTIONS: VerifyPassportOptions = { issuer: ISSUER, audience: "lime-passport", now: NOW + 10 };
const SITE_OPTIONS: VerifyPassportOptions = {
  issuer: ISSUER,
  audience: "lime-site-login",
  requestId: "req_1",
  siteId: "site_1",
  now: NOW + 10,
};

async function setup() {
  const key = await sharedKey();
  const jwks = createJwks([key.publicJwk]);
  const header = { alg: "RS256", typ: "passport+jwt", kid: key.kid };
  return { key, jwks, header };
}

async function code(promise: () => Promise<unknown>): Promise<string> {
  const error = await caught(promise);
  expect(error).toBeInstanceOf(PassportError);
  return error.code;
}

describe("verifyPassport: accepted tokens", () => {
  test("returns the typed PassportContext", async () => {
    const { key, jwks } = await setup();
    const context = await verifyPassport(await signPassport(passportClaims(), key), jwks, OPTIONS);
    expect(context).toEqual({
      agentId: "agent_7f3a",
      ownerId: "user_42",
      ownerKycLevel: 2,
      agentName: "Research bot",
      passportVersion: 1,
      issuer: ISSUER,
      audience: ["lime-passport"],
      issuedAt: NOW,
      expiresAt: NOW + 3600,
      jwtId: "jti_0001",
      claims: passportClaims(),
    });
  });

  test("site login: request and site are bound and returned", async () => {
    const { key, jwks } = await setup();
    const context = await verifyPassport(await signPassport(siteLoginClaims(), key), jwks, SITE_OPTIONS);
    expect([context.requestId, context.siteId]).toEqual(["req_1", "site_1"]);
  });

  test("accepts a JWKS document or a prepared LocalJwks, and any of several issuers and audiences", async () => {
    const { key, jwks } = await setup();
    const token = await signPassport(passportClaims({ aud: ["other", "lime-passport"] }), key);
    const local = createLocalJwks(jwks);
    const options = { ...OPTIONS, issuer: ["https://old.test", ISSUER], audience: ["x", "lime-passport"] };
    expect((await verifyPassport(token, local, options)).audience).toEqual(["other", "lime-passport"]);
    expect((await verifyPassport(token, jwks, options)).agentId).toBe("agent_7f3a");
    expect((await verifyPassport(token, jwks, options)).agentId).toBe("agent_7f3a"); // the prepared document is reused
  });

  test("typ compares case-insensitively and with or without application/ (RFC 7515 §4.1.9)", async () => {
    const { key, jwks, header } = await setup();
    for (const typ of ["PASSPORT+JWT", "application/passport+jwt"]) {
      const token = await signRaw({ ...header, typ }, passportClaims(), key);
      expect((await verifyPassport(token, jwks, OPTIONS)).agentId).toBe("agent_7f3a");
    }
  });

  test("uses the system clock when now is not given", async () => {
    const { key, jwks } = await setup();
    const iat = Math.floor(Date.now() / 1000);
    const token = await signPassport(passportClaims({ iat, exp: iat + 60 }), key);
    expect((await verifyPassport(token, jwks, { issuer: ISSUER, audience: "lime-passport" })).issuedAt).toBe(
      iat,
    );
  });

  test("a verifier that knows the next key accepts its tokens from the first one (rotation)", async () => {
    const { key } = await setup();
    const next = await generateSigningKey();
    const published = createJwks([key.publicJwk, next.publicJwk]);
    expect(
      (await verifyPassport(await signPassport(passportClaims(), next), published, OPTIONS)).agentId,
    ).toBe("agent_7f3a");
  });
});

describe("verifyPassport: refused headers and keys", () => {
  test('alg "none", any other alg, and a missing alg are PASSPORT_ALG_NOT_ALLOWED (RFC 8725 §3.1)', async () => {
    const { key, jwks, header } = await setup();
    const claims = encodeBase64urlText(JSON.stringify(passportClaims()));
    const unsigned = `${encodeBase64urlText(JSON.stringify({ alg: "none", typ: "passport+jwt" }))}.${claims}.`;
    expect(await code(() => verifyPassport(unsigned, jwks, OPTIONS))).toBe("PASSPORT_ALG_NOT_ALLOWED");
    for (const alg of ["none", "None", "RS384", "PS256", "ES256", "rs256", "RS256 ", undefined, ["RS256"]]) {
      const token = await signRaw({ ...header, alg }, passportClaims(), key);
      expect(await code(() => verifyPassport(token, jwks, OPTIONS))).toBe("PASSPORT_ALG_NOT_ALLOWED");
    }
  });

  test("HS256 signed with the RSA public key as the HMAC secret (key confusion) is PASSPORT_ALG_NOT_ALLOWED", async () => {
    const { key, jwks } = await setup();
    const pem = createPublicKey({ key: key.publicJwk, format: "jwk" }).export({
      type: "spki",
      format: "pem",
    });
    for (const secret of [pem, key.publicJwk.n, JSON.stringify(key.publicJwk)]) {
      const input = `${encodeBase64urlText(JSON.stringify({ alg: "HS256", typ: "passport+jwt", kid: key.kid }))}.${encodeBase64urlText(JSON.stringify(passportClaims()))}`;
      const mac = createHmac("sha256", secret).update(input).digest();
      const token = `${input}.${encodeBase64url(new Uint8Array(mac))}`;
      expect(await code(() => verifyPassport(token, jwks, OPTIONS))).toBe("PASSPORT_ALG_NOT_ALLOWED");
    }
  });

  test("crit and b64 headers are PASSPORT_CRIT_UNSUPPORTED (RFC 7515 §4.1.11, RFC 7797)", async () => {
    const { key, jwks, header } = await setup();
    for (const extra of [
      { crit: ["exp"], exp: 1 },
      { crit: [] },
      { b64: false, crit: ["b64"] },
      { b64: false },
    ]) {
      const token = await signRaw({ ...header, ...extra }, passportClaims(), key);
      expect(await code(() => verifyPassport(token, jwks, OPTIONS))).toBe("PASSPORT_CRIT_UNSUPPORTED");
    }
  });

  test("a missing or different typ is PASSPORT_WRONG_TYPE: an access token is not a passport and back", async () => {
    const { key, jwks, header } = await setup();
    const noTyp = await signRaw({ alg: "RS256", kid: key.kid }, passportClaims(), key);
    expect(await code(() => verifyPassport(noTyp, jwks, OPTIONS))).toBe("PASSPORT_WRONG_TYPE");
    const accessToken = await signRaw({ ...header, typ: "at+jwt" }, passportClaims(), key);
    expect(await code(() => verifyPassport(accessToken, jwks, OPTIONS))).toBe("PASSPORT_WRONG_TYPE");
    const passport = await signPassport(passportClaims(), key);
    expect(await code(() => verifyJwt(passport, jwks, { ...OPTIONS, typ: "at+jwt" }))).toBe(
      "PASSPORT_WRONG_TYPE",
    );
    expect(await code(() => verifyPassport(noTyp, jwks, { ...OPTIONS, typ: "JWT" }))).toBe(
      "PASSPORT_WRONG_TYPE",
    );
  });

  test("kid: missing or not a string is PASSPORT_MALFORMED, not in the JWKS is PASSPORT_UNKNOWN_KID", async () => {
    const { key, jwks, header } = await setup();
    for (const kid of [undefined, "", 7]) {
      const token = await signRaw({ ...header, kid }, passportClaims(), key);
      expect(await code(() => verifyPassport(token, jwks, OPTIONS))).toBe("PASSPORT_MALFORMED");
    }
    const other = await signPassport(passportClaims(), await generateSigningKey());
    expect(await code(() => verifyPassport(other, jwks, OPTIONS))).toBe("PASSPORT_UNKNOWN_KID");
  });

  test("an embedded jwk/jku/x5u header is ignored: keys come from the JWKS only", async () => {
    const { jwks } = await setup();
    const attacker = await generateSigningKey();
    const header = {
      alg: "RS256",
      typ: "passport+jwt",
      kid: attacker.kid,
      jwk: attacker.publicJwk,
      jku: "https://evil.test/jwks",
      x5u: "https://evil.test/cert",
    };
    const token = await signRaw(header, passportClaims(), attacker);
    expect(await code(() => verifyPassport(token, jwks, OPTIONS))).toBe("PASSPORT_UNKNOWN_KID");
  });

  test("a signature by another key under our kid, a flipped bit, or edited claims are PASSPORT_BAD_SIGNATURE", async () => {
    const { key, jwks, header } = await setup();
    const impostor = await generateSigningKey();
    const forged = await signRaw(header, passportClaims(), impostor);
    expect(await code(() => verifyPassport(forged, jwks, OPTIONS))).toBe("PASSPORT_BAD_SIGNATURE");
    const token = await signPassport(passportClaims(), key);
    const [h, p, s] = token.split(".") as [string, string, string];
    const sig = Buffer.from(s, "base64url");
    sig[17]! ^= 1;
    expect(await code(() => verifyPassport(`${h}.${p}.${sig.toString("base64url")}`, jwks, OPTIONS))).toBe(
      "PASSPORT_BAD_SIGNATURE",
    );
    const edited = encodeBase64urlText(JSON.stringify(passportClaims({ owner_kyc_level: 3 })));
    expect(await code(() => verifyPassport(`${h}.${edited}.${s}`, jwks, OPTIONS))).toBe(
      "PASSPORT_BAD_SIGNATURE",
    );
    const truncated = encodeBase64url(new Uint8Array(Buffer.from(s, "base64url").subarray(1)));
    expect(await code(() => verifyPassport(`${h}.${p}.${truncated}`, jwks, OPTIONS))).toBe(
      "PASSPORT_BAD_SIGNATURE",
    );
  });
});

describe.each(RS256_BACKENDS)(
  "verifyPassport on %s: a bad signature says nothing about the claims",
  (backend) => {
    test("a forged token with expired, foreign or missing claims is PASSPORT_BAD_SIGNATURE, never the claim's code", async () => {
      const { jwks: document, header } = await setup();
      const jwks = createLocalJwks(document, { backend });
      const impostor = await generateSigningKey();
      for (const claims of [
        passportClaims({ exp: NOW - 100, iat: NOW - 200 }),
        passportClaims({ iss: "https://evil.test" }),
        { sub: "only" },
      ]) {
        const forged = await signRaw(header, claims, impostor);
        expect(await code(() => verifyPassport(forged, jwks, OPTIONS))).toBe("PASSPORT_BAD_SIGNATURE");
        expect(await code(() => verifyJwt(forged, jwks, OPTIONS))).toBe("PASSPORT_BAD_SIGNATURE");
      }
    });

    test("concurrent first verifications against a fresh key set share one key preparation and all succeed", async () => {
      const { key, jwks } = await setup();
      const token = await signPassport(passportClaims(), key);
      const fresh = createLocalJwks(jwks, { backend });
      const results = await Promise.all(
        Array.from({ length: 8 }, () => verifyPassport(token, fresh, OPTIONS)),
      );
      expect(results.map((r) => r.agentId)).toEqual(Array(8).fill("agent_7f3a"));
      expect((await fresh.verifier(key.kid)).backend).toBe(backend);
    });
  },
);

describe("verifyPassport: refused shapes", () => {
  test("the size bound is checked before any parsing (PASSPORT_TOO_LARGE)", async () => {
    const { key, jwks } = await setup();
    expect(await code(() => verifyPassport("!".repeat(8193), jwks, OPTIONS))).toBe("PASSPORT_TOO_LARGE");
    expect(await code(() => verifyPassport("a.b.c".repeat(1e6), jwks, OPTIONS))).toBe("PASSPORT_TOO_LARGE");
    const token = await signPassport(passportClaims(), key);
    expect(
      await code(() => verifyPassport(token, jwks, { ...OPTIONS, maxTokenBytes: token.length - 1 })),
    ).toBe("PASSPORT_TOO_LARGE");
    expect((await verifyPassport(token, jwks, { ...OPTIONS, maxTokenBytes: token.length })).agentId).toBe(
      "agent_7f3a",
    );
  });

  test("garbage is PASSPORT_MALFORMED", async () => {
    const { key, jwks, header } = await setup();
    const token = await signPassport(passportClaims(), key);
    const [h, p, s] = token.split(".") as [string, string, string];
    const b64 = (text: string) => encodeBase64urlText(text);
    const cases: unknown[] = [
      "",
      "abc",
      `${h}.${p}`,
      `${h}.${p}.${s}.`,
      `${h}.${p}.${s}.x.y`,
      `${h}=.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h}.${p}.`,
      `${b64("not json")}.${p}.${s}`,
      `${b64("[1]")}.${p}.${s}`,
      `${b64("null")}.${p}.${s}`,
      `${encodeBase64url(new Uint8Array([0x7b, 0xff, 0x7d]))}.${p}.${s}`,
      42,
      null,
      { token },
    ];
    for (const bad of cases) {
      expect([bad, await code(() => verifyPassport(bad as string, jwks, OPTIONS))]).toEqual([
        bad,
        "PASSPORT_MALFORMED",
      ]);
    }
    for (const payload of ["not json", "[]", '"claims"', "1"]) {
      const signed = await signRaw(header, payload, key);
      expect(await code(() => verifyPassport(signed, jwks, OPTIONS))).toBe("PASSPORT_MALFORMED");
    }
    // Signed as they are, so the signature verifies and only the payload's form is wrong.
    for (const input of [
      `${h}.${encodeBase64url(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]))}`,
      `${h}.${p}*`,
      `${h}.${p}=`,
    ]) {
      const sig = await rs256Sign(key.privateKey, new TextEncoder().encode(input));
      const signed = `${input}.${encodeBase64url(sig)}`;
      expect(await code(() => verifyPassport(signed, jwks, OPTIONS))).toBe("PASSPORT_MALFORMED");
    }
    const notBase64url = `${h}.${p}*`;
    const sig = await rs256Sign(key.privateKey, new TextEncoder().encode(notBase64url));
    expect(await code(() => verifyJws(`${notBase64url}.${encodeBase64url(sig)}`, jwks))).toBe(
      "PASSPORT_MALFORMED",
    );
    // Unsigned garbage in the payload is first of all not authentic.
    expect(await code(() => verifyPassport(`${h}.${p}*.${s}`, jwks, OPTIONS))).toBe("PASSPORT_BAD_SIGNATURE");
  });
});

describe("verifyPassport: claims", () => {
  test("each registered claim is required even when the signature is valid (exp, iat, jti, sub, iss, aud)", async () => {
    const { key, jwks, header } = await setup();
    for (const claim of ["exp", "iat", "jti", "sub", "iss", "aud"]) {
      const claims: Record<string, unknown> = passportClaims();
      delete claims[claim];
      const token = await signRaw(header, claims, key);
      expect([claim, await code(() => verifyPassport(token, jwks, OPTIONS))]).toEqual([
        claim,
        "PASSPORT_MISSING_CLAIM",
      ]);
      expect([claim, await code(() => verifyJwt(token, jwks, OPTIONS))]).toEqual([
        claim,
        "PASSPORT_MISSING_CLAIM",
      ]);
    }
  });

  test("the passport claims are required by verifyPassport, not by verifyJwt", async () => {
    const { key, jwks, header } = await setup();
    for (const claim of ["user_id", "owner_kyc_level", "agent_name", "passport_version"]) {
      const claims: Record<string, unknown> = passportClaims();
      delete claims[claim];
      const token = await signRaw(header, claims, key);
      expect(await code(() => verifyPassport(token, jwks, OPTIONS))).toBe("PASSPORT_MISSING_CLAIM");
      expect((await verifyJwt(token, jwks, OPTIONS)).claims.sub).toBe("agent_7f3a");
    }
  });

  test("ill-typed claims in a validly signed token are PASSPORT_INVALID_CLAIM", async () => {
    const { key, jwks, header } = await setup();
    for (const overrides of [
      { exp: "later" },
      { iat: null },
      { owner_kyc_level: 9 },
      { passport_version: 2 },
      { exp: NOW - 1 },
    ]) {
      const token = await signRaw(header, passportClaims(overrides as never), key);
      expect(await code(() => verifyPassport(token, jwks, OPTIONS))).toBe("PASSPORT_INVALID_CLAIM");
    }
  });

  test("LIME's aliases: optional, but when present agent_id = sub, user_kyc_level = owner_kyc_level, reputation 0–100", async () => {
    const { key, jwks, header } = await setup();
    const aliases = { agent_id: "agent_7f3a", user_kyc_level: 2, agent_reputation: 57 };
    const context = await verifyPassport(await signPassport(passportClaims(aliases), key), jwks, OPTIONS);
    expect(context.agentReputation).toBe(57);
    expect(context.claims).toMatchObject(aliases);
    const without = await verifyPassport(await signPassport(passportClaims(), key), jwks, OPTIONS);
    expect("agentReputation" in without).toBe(false);
    for (const overrides of [
      { agent_id: "someone_else" },
      { user_kyc_level: 0 },
      { agent_reputation: 101 },
      { agent_reputation: -1 },
      { agent_reputation: 4.5 },
      { agent_reputation: "90" },
    ]) {
      const token = await signRaw(header, passportClaims(overrides as never), key);
      expect(await code(() => verifyPassport(token, jwks, OPTIONS))).toBe("PASSPORT_INVALID_CLAIM");
    }
    // The signer checks the same rules: it never mints a passport whose two names disagree.
    expect(await code(() => signPassport(passportClaims({ agent_id: "someone_else" }), key))).toBe(
      "PASSPORT_INVALID_CLAIM",
    );
  });

  test("issuer and audience must match (PASSPORT_WRONG_ISSUER, PASSPORT_WRONG_AUDIENCE)", async () => {
    const { key, jwks } = await setup();
    const token = await signPassport(passportClaims(), key);
    expect(await code(() => verifyPassport(token, jwks, { ...OPTIONS, issuer: "https://other.test" }))).toBe(
      "PASSPORT_WRONG_ISSUER",
    );
    expect(await code(() => verifyPassport(token, jwks, { ...OPTIONS, audience: ["a", "b"] }))).toBe(
      "PASSPORT_WRONG_AUDIENCE",
    );
  });

  test("clock: exp, nbf and iat against an injected now and tolerance (RFC 7519 §4.1.4, §4.1.5)", async () => {
    const { key, jwks } = await setup();
    const token = await signPassport(passportClaims({ nbf: NOW + 100 }), key);
    const at = (now: number, clockTolerance = 0) =>
      verifyPassport(token, jwks, { ...OPTIONS, now, clockTolerance });
    expect(await code(() => at(NOW + 99))).toBe("PASSPORT_NOT_YET_VALID");
    expect((await at(NOW + 99, 1)).agentId).toBe("agent_7f3a");
    expect((await at(NOW + 100)).agentId).toBe("agent_7f3a");
    expect((await at(NOW + 3599.9)).agentId).toBe("agent_7f3a");
    expect(await code(() => at(NOW + 3600))).toBe("PASSPORT_EXPIRED");
    expect((await at(NOW + 3604, 5)).agentId).toBe("agent_7f3a");
    expect(await code(() => at(NOW + 3605, 5))).toBe("PASSPORT_EXPIRED");
    const future = await signPassport(passportClaims({ iat: NOW + 60, exp: NOW + 600 }), key);
    expect(await code(() => verifyPassport(future, jwks, { ...OPTIONS, now: NOW }))).toBe(
      "PASSPORT_NOT_YET_VALID",
    );
    expect((await verifyPassport(future, jwks, { ...OPTIONS, now: NOW, clockTolerance: 60 })).agentId).toBe(
      "agent_7f3a",
    );
  });

  test("site login: another request or site is refused, and a passport lacking the binding too", async () => {
    const { key, jwks, header } = await setup();
    const token = await signPassport(siteLoginClaims(), key);
    expect(await code(() => verifyPassport(token, jwks, { ...SITE_OPTIONS, requestId: "req_2" }))).toBe(
      "PASSPORT_WRONG_REQUEST",
    );
    expect(await code(() => verifyPassport(token, jwks, { ...SITE_OPTIONS, siteId: "site_2" }))).toBe(
      "PASSPORT_WRONG_SITE",
    );
    const selfService = await signPassport(passportClaims(), key);
    const bound = { ...OPTIONS, requestId: "req_1" };
    expect(await code(() => verifyPassport(selfService, jwks, bound))).toBe("PASSPORT_MISSING_CLAIM");
    expect(await code(() => verifyPassport(selfService, jwks, { ...OPTIONS, siteId: "site_1" }))).toBe(
      "PASSPORT_MISSING_CLAIM",
    );
    const long = await signRaw(header, siteLoginClaims({ exp: NOW + 3600 }), key);
    expect(await code(() => verifyPassport(long, jwks, SITE_OPTIONS))).toBe("PASSPORT_INVALID_CLAIM");
  });

  test("verifying for the site-login audience without requestId and siteId is PASSPORT_INVALID_OPTION", async () => {
    const { key, jwks } = await setup();
    const token = await signPassport(siteLoginClaims(), key);
    expect(await code(() => verifyPassport(token, jwks, { ...SITE_OPTIONS, requestId: undefined }))).toBe(
      "PASSPORT_INVALID_OPTION",
    );
    expect(await code(() => verifyPassport(token, jwks, { ...SITE_OPTIONS, siteId: undefined }))).toBe(
      "PASSPORT_INVALID_OPTION",
    );
  });
});

describe("verifyJwt: any profile", () => {
  test("an MCP access token (typ at+jwt, no user_id or passport_version) verifies and returns its claims", async () => {
    const { key, jwks } = await setup();
    const claims = {
      iss: ISSUER,
      sub: "agent_1",
      aud: "https://mcp.test/",
      iat: NOW,
      exp: NOW + 300,
      jti: "at_1",
      scope: "tools",
    };
    const token = await signJwt(claims, key, { typ: "at+jwt" });
    const result = await verifyJwt(token, jwks, {
      issuer: ISSUER,
      audience: "https://mcp.test/",
      typ: "at+jwt",
      now: NOW,
    });
    expect(result.claims).toEqual(claims);
    expect(result.header).toEqual({ alg: "RS256", typ: "at+jwt", kid: key.kid });
    expect(await code(() => verifyPassport(token, jwks, { ...OPTIONS, audience: "https://mcp.test/" }))).toBe(
      "PASSPORT_WRONG_TYPE",
    );
  });
});

describe("options are checked, with PASSPORT_INVALID_OPTION", () => {
  test("wrong types and ranges", async () => {
    const { key, jwks } = await setup();
    const token = await signPassport(passportClaims(), key);
    const bad: unknown[] = [
      null,
      "options",
      { ...OPTIONS, issuer: undefined },
      { ...OPTIONS, issuer: "" },
      { ...OPTIONS, issuer: [] },
      { ...OPTIONS, audience: [5] },
      { ...OPTIONS, clockTolerance: -1 },
      { ...OPTIONS, clockTolerance: 301 },
      { ...OPTIONS, clockTolerance: "5" },
      { ...OPTIONS, clockTolerance: Number.NaN },
      { ...OPTIONS, now: Date.now() }, // milliseconds
      { ...OPTIONS, now: -1 },
      { ...OPTIONS, maxTokenBytes: 100 },
      { ...OPTIONS, maxTokenBytes: 1e6 },
      { ...OPTIONS, typ: "" },
      { ...OPTIONS, requestId: "" },
      { ...OPTIONS, siteId: 5 },
    ];
    for (const options of bad) {
      expect([options, await code(() => verifyPassport(token, jwks, options as never))]).toEqual([
        options,
        "PASSPORT_INVALID_OPTION",
      ]);
    }
    expect(await code(() => verifyJwt(token, jwks, null as never))).toBe("PASSPORT_INVALID_OPTION");
  });

  test("a bad key set is PASSPORT_INVALID_OPTION with the key error as its cause", async () => {
    const { key } = await setup();
    const token = await signPassport(passportClaims(), key);
    for (const jwks of [null, "jwks", { keys: "x" }]) {
      expect(await code(() => verifyPassport(token, jwks as never, OPTIONS))).toBe("PASSPORT_INVALID_OPTION");
    }
    const error = (await caught(() =>
      verifyPassport(token, { keys: [{ kty: "oct", k: "c2VjcmV0" }] } as never, OPTIONS),
    )) as PassportError;
    expect(error.code).toBe("PASSPORT_INVALID_OPTION");
    expect((error.cause as { code: string }).code).toBe("KEY_PRIVATE_MATERIAL");
  });
});
