import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { PassportError } from "../../../core/errors.ts";
import {
  createLocalJwks,
  exportPrivateJwk,
  generateSigningKey,
  LocalJwks,
} from "../../../core/keys/index.ts";
import { caught, sharedKey } from "../passport/fixtures.ts";

describe("createLocalJwks", () => {
  test("resolves a kid to its CryptoKey, imported once and then returned synchronously", async () => {
    const key = await sharedKey();
    const jwks = createLocalJwks({ keys: [key.publicJwk] });
    expect(jwks).toBeInstanceOf(LocalJwks);
    expect(jwks.kids).toEqual([key.kid]);
    const first = jwks.resolve(key.kid);
    expect(first).toBeInstanceOf(Promise);
    const concurrent = jwks.resolve(key.kid);
    expect(concurrent).toBe(first); // one import shared by concurrent first uses
    const cryptoKey = await first;
    expect(cryptoKey.type).toBe("public");
    expect(cryptoKey.usages).toEqual(["verify"]);
    expect(jwks.resolve(key.kid)).toBe(cryptoKey);
  });

  test("prepares one verifier per kid on the chosen backend (auto is node:crypto in Bun), then returns it synchronously", async () => {
    const key = await sharedKey();
    for (const [backend, expected] of [
      [undefined, "node-crypto"],
      ["auto", "node-crypto"],
      ["node-crypto", "node-crypto"],
      ["webcrypto", "webcrypto"],
    ] as const) {
      const jwks = createLocalJwks(
        { keys: [key.publicJwk] },
        backend === undefined ? undefined : { backend },
      );
      const first = jwks.verifier(key.kid);
      expect(first).toBeInstanceOf(Promise);
      expect(jwks.verifier(key.kid)).toBe(first); // concurrent first uses share one preparation
      const verifier = await first;
      expect(verifier.backend).toBe(expected);
      expect(jwks.verifier(key.kid)).toBe(verifier);
    }
  });

  test("options that are not an object, or an unknown backend, are KEY_INVALID_OPTION", async () => {
    const { publicJwk } = await sharedKey();
    for (const options of [null, "webcrypto", { backend: "openssl" }, { backend: 1 }]) {
      const error = await caught(() => createLocalJwks({ keys: [publicJwk] }, options as never));
      expect([error.name, error.code]).toEqual(["KeyError", "KEY_INVALID_OPTION"]);
    }
  });

  test("an unknown kid is PASSPORT_UNKNOWN_KID; several RS256 keys under one kid are PASSPORT_AMBIGUOUS_KID", async () => {
    const a = await sharedKey();
    const b = await generateSigningKey();
    const jwks = createLocalJwks({ keys: [a.publicJwk, { ...b.publicJwk, kid: a.kid }] });
    for (const lookUp of [(kid: string) => jwks.resolve(kid), (kid: string) => jwks.verifier(kid)]) {
      const ambiguous = await caught(() => lookUp(a.kid));
      expect(ambiguous).toBeInstanceOf(PassportError);
      expect(ambiguous.code).toBe("PASSPORT_AMBIGUOUS_KID");
      expect((await caught(() => lookUp("nope"))).code).toBe("PASSPORT_UNKNOWN_KID");
    }
  });

  test("keys whose use, key_ops or alg forbid RS256 verification, other key types and kid-less keys are never selected", async () => {
    const { publicJwk } = await sharedKey();
    const jwks = createLocalJwks({
      keys: [
        { ...publicJwk, kid: "enc", use: "enc" },
        { ...publicJwk, kid: "ops", use: undefined, key_ops: ["encrypt"] },
        { ...publicJwk, kid: "ops-bad", use: undefined, key_ops: "verify" },
        { ...publicJwk, kid: "ps", alg: "PS256" },
        { kty: "EC", kid: "ec", crv: "P-256", x: "x", y: "y" },
        { ...publicJwk, kid: undefined },
        { ...publicJwk, kid: "ok", use: undefined, alg: undefined, key_ops: ["verify"] },
      ],
    });
    expect(jwks.kids).toEqual(["ok"]);
    for (const kid of ["enc", "ops", "ops-bad", "ps", "ec"]) {
      expect((await caught(() => jwks.resolve(kid))).code).toBe("PASSPORT_UNKNOWN_KID");
    }
  });

  test("a document holding any private or symmetric member is refused whole (KEY_PRIVATE_MATERIAL)", async () => {
    const key = await sharedKey();
    const priv = await exportPrivateJwk(key);
    expect((await caught(() => createLocalJwks({ keys: [priv] }))).code).toBe("KEY_PRIVATE_MATERIAL");
    const oct = { kty: "oct", kid: "h", k: "c2VjcmV0" };
    expect((await caught(() => createLocalJwks({ keys: [key.publicJwk, oct] }))).code).toBe(
      "KEY_PRIVATE_MATERIAL",
    );
  });

  test("a weak RS256 key anywhere in the document refuses the document (KEY_TOO_SMALL, KEY_WEAK)", async () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" });
    expect((await caught(() => createLocalJwks({ keys: [{ ...small, kid: "s" }] }))).code).toBe(
      "KEY_TOO_SMALL",
    );
    const { publicJwk } = await sharedKey();
    expect((await caught(() => createLocalJwks({ keys: [{ ...publicJwk, e: "Aw" }] }))).code).toBe(
      "KEY_WEAK",
    );
  });

  test("a document with more than 100 keys is JWKS_MALFORMED, before any key is examined", async () => {
    const { publicJwk } = await sharedKey();
    const keys = Array.from({ length: 100 }, (_, i) => ({ ...publicJwk, kid: `k${i}` }));
    expect(createLocalJwks({ keys }).kids).toHaveLength(100);
    expect((await caught(() => createLocalJwks({ keys: [...keys, publicJwk] }))).code).toBe("JWKS_MALFORMED");
  });

  test("malformed documents are JWKS_MALFORMED", async () => {
    for (const bad of [
      null,
      "{}",
      [],
      {},
      { keys: {} },
      { keys: [null] },
      { keys: [{}] },
      { keys: [{ kty: "RSA", kid: 7 }] },
    ]) {
      expect((await caught(() => createLocalJwks(bad))).code).toBe("JWKS_MALFORMED");
    }
  });
});
