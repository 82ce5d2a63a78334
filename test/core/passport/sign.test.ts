import { describe, expect, test } from "bun:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { PassportError } from "../../../core/errors.ts";
import { generateSigningKey } from "../../../core/keys/index.ts";
import { ACCESS_TOKEN_TYP, PASSPORT_TYP, signJwt, signPassport } from "../../../core/passport/index.ts";
import { caught, NOW, passportClaims, rsaKeyPair, sharedKey, siteLoginClaims } from "./fixtures.ts";

describe("signPassport", () => {
  test("header is exactly { alg: RS256, typ: passport+jwt, kid } and the payload is the claims as given", async () => {
    const key = await sharedKey();
    const token = await signPassport(passportClaims(), key);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", typ: PASSPORT_TYP, kid: key.kid });
    expect(Object.keys(decodeProtectedHeader(token))).toEqual(["alg", "typ", "kid"]);
    expect(decodeJwt(token)).toEqual(passportClaims());
  });

  test("RS256 is deterministic: the same claims and key give the same token", async () => {
    const key = await sharedKey();
    expect(await signPassport(passportClaims(), key)).toBe(await signPassport(passportClaims(), key));
  });

  test("the caller may set typ", async () => {
    const token = await signPassport(passportClaims(), await sharedKey(), { typ: "lime-passport+jwt" });
    expect(decodeProtectedHeader(token).typ).toBe("lime-passport+jwt");
  });

  test("every passport claim is required (PASSPORT_MISSING_CLAIM)", async () => {
    const key = await sharedKey();
    for (const claim of [
      "iss",
      "sub",
      "aud",
      "iat",
      "exp",
      "jti",
      "user_id",
      "owner_kyc_level",
      "agent_name",
      "passport_version",
    ]) {
      const claims = passportClaims();
      delete claims[claim];
      const error = await caught(() => signPassport(claims, key));
      expect(error).toBeInstanceOf(PassportError);
      expect([claim, error.code]).toEqual([claim, "PASSPORT_MISSING_CLAIM"]);
    }
  });

  test("ill-typed claims are PASSPORT_INVALID_CLAIM", async () => {
    const key = await sharedKey();
    const bad: Record<string, unknown>[] = [
      { sub: "" },
      { sub: "x".repeat(257) },
      { iss: 5 },
      { aud: [] },
      { aud: ["ok", ""] },
      { aud: 7 },
      { iat: "now" },
      { exp: Number.POSITIVE_INFINITY },
      { exp: -1 },
      { exp: NOW },
      { nbf: "soon" },
      { owner_kyc_level: 4 },
      { owner_kyc_level: 1.5 },
      { owner_kyc_level: "2" },
      { agent_name: "" },
      { agent_name: "n".repeat(129) },
      { agent_name: 3 },
      { passport_version: 2 },
      { request_id: 12 },
    ];
    for (const overrides of bad) {
      const error = await caught(() => signPassport(passportClaims(overrides), key));
      expect([overrides, error.code]).toEqual([overrides, "PASSPORT_INVALID_CLAIM"]);
    }
  });

  test("site login: request_id and site_id are required and the lifetime is at most 120 s", async () => {
    const key = await sharedKey();
    await signPassport(siteLoginClaims(), key);
    expect((await caught(() => signPassport(siteLoginClaims({ request_id: undefined }), key))).code).toBe(
      "PASSPORT_MISSING_CLAIM",
    );
    expect((await caught(() => signPassport(siteLoginClaims({ site_id: undefined }), key))).code).toBe(
      "PASSPORT_MISSING_CLAIM",
    );
    expect((await caught(() => signPassport(siteLoginClaims({ exp: NOW + 121 }), key))).code).toBe(
      "PASSPORT_INVALID_CLAIM",
    );
  });

  test("claims that do not serialize to a JSON object are PASSPORT_INVALID_CLAIM", async () => {
    const key = await sharedKey();
    const cyclic: Record<string, unknown> = passportClaims();
    cyclic.self = cyclic;
    for (const claims of [
      cyclic,
      passportClaims({ big: 1n }),
      { toJSON: () => undefined },
      "claims",
      null,
      [1],
    ]) {
      expect((await caught(() => signPassport(claims as never, key))).code).toBe("PASSPORT_INVALID_CLAIM");
    }
  });

  test("what is checked is what is signed: a toJSON cannot smuggle in other claims", async () => {
    const key = await sharedKey();
    const sneaky = { ...passportClaims(), toJSON: () => ({ sub: "x" }) };
    expect((await caught(() => signPassport(sneaky, key))).code).toBe("PASSPORT_MISSING_CLAIM");
  });

  test("never mints a token over the default 8 KiB verification bound (PASSPORT_TOO_LARGE)", async () => {
    const claims = passportClaims({ notes: "x".repeat(8000) });
    const key = await sharedKey();
    expect((await caught(() => signPassport(claims, key))).code).toBe("PASSPORT_TOO_LARGE");
  });

  test("a key that is not a SigningKey, or bad options, is PASSPORT_INVALID_OPTION", async () => {
    const key = await sharedKey();
    for (const badKey of [null, {}, { ...key, privateKey: key.publicKey }, { ...key, alg: "HS256" }]) {
      expect((await caught(() => signPassport(passportClaims(), badKey as never))).code).toBe(
        "PASSPORT_INVALID_OPTION",
      );
    }
    for (const options of [
      null,
      "x",
      { typ: "" },
      { typ: "has space" },
      { typ: 5 },
      { typ: "a".repeat(65) },
    ]) {
      expect((await caught(() => signPassport(passportClaims(), key, options as never))).code).toBe(
        "PASSPORT_INVALID_OPTION",
      );
    }
  });

  test("refuses a signing key under 2048 bits (KEY_TOO_SMALL) even when wrapped as a SigningKey", async () => {
    const key = await sharedKey();
    const small = await rsaKeyPair(1024, "SHA-256");
    const error = await caught(() =>
      signPassport(passportClaims(), { ...key, privateKey: small.privateKey }),
    );
    expect(error.code).toBe("KEY_TOO_SMALL");
    const sha1 = await rsaKeyPair(2048, "SHA-1");
    expect(
      (await caught(() => signPassport(passportClaims(), { ...key, privateKey: sha1.privateKey }))).code,
    ).toBe("KEY_UNSUPPORTED");
  });
});

describe("signJwt", () => {
  test("signs an MCP access token (RFC 9068): typ at+jwt, no passport claims required", async () => {
    const key = await generateSigningKey();
    const claims = {
      iss: "https://lime.test",
      sub: "agent_1",
      aud: "https://mcp.example/",
      iat: NOW,
      exp: NOW + 300,
      jti: "at_1",
      client_id: "c",
      scope: "tools",
    };
    const token = await signJwt(claims, key, { typ: ACCESS_TOKEN_TYP });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", typ: "at+jwt", kid: key.kid });
    expect(decodeJwt(token)).toEqual(claims);
  });

  test("still requires the registered claims and an explicit typ", async () => {
    const key = await sharedKey();
    expect((await caught(() => signJwt({ iss: "i" } as never, key, { typ: "at+jwt" }))).code).toBe(
      "PASSPORT_MISSING_CLAIM",
    );
    expect((await caught(() => signJwt(passportClaims(), key, {} as never))).code).toBe(
      "PASSPORT_INVALID_OPTION",
    );
  });
});
