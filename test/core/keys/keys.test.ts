import { describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint } from "jose";
import { encodeBase64url } from "../../../core/encoding/base64url.ts";
import { KeyError } from "../../../core/errors.ts";
import {
  computeKid,
  createJwks,
  exportPrivateJwk,
  generateSigningKey,
  importSigningKey,
  toPublicJwk,
} from "../../../core/keys/index.ts";
import { checkRsaPublicParts } from "../../../core/keys/rsa-jwk.ts";
import { rs256Sign } from "../../../core/passport/rs256.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { caught, sharedKey } from "../passport/fixtures.ts";

/** RFC 7638 §3.1 example key. */
const RFC7638_JWK = {
  kty: "RSA",
  n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  e: "AQAB",
  alg: "RS256",
  kid: "2011-04-29",
};

/** A JWK of an RSA key of `bits` from node:crypto, an implementation independent of the code under test. */
function nodeJwk(bits: number, publicExponent = 65537): Record<string, string> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: bits, publicExponent });
  return privateKey.export({ format: "jwk" }) as Record<string, string>;
}

const bigEndian = (value: bigint) => {
  const hex = value.toString(16);
  return encodeBase64url(new Uint8Array(Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex")));
};

describe("computeKid (RFC 7638)", () => {
  test("RFC 7638 §3.1: the example key's thumbprint", async () => {
    expect(await computeKid(RFC7638_JWK)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  test("agrees with jose's calculateJwkThumbprint and ignores optional and private members", async () => {
    const jwk = nodeJwk(2048);
    expect(await computeKid(jwk)).toBe(
      await calculateJwkThumbprint({ kty: "RSA", n: jwk.n!, e: jwk.e! }, "sha256"),
    );
  });

  test("refuses what is not an acceptable RSA key, with a KeyError", async () => {
    expect((await caught(() => computeKid(null))).code).toBe("KEY_INVALID");
    expect((await caught(() => computeKid({ kty: "EC", x: "a", y: "b" }))).code).toBe("KEY_UNSUPPORTED");
    expect((await caught(() => computeKid({ ...RFC7638_JWK, n: 5 }))).code).toBe("KEY_INVALID");
  });
});

describe("RSA public key checks", () => {
  const good = nodeJwk(2048);

  test("a modulus under 2048 bits is KEY_TOO_SMALL (RFC 7518 §3.3)", () => {
    const small = nodeJwk(1024);
    expect(() => checkRsaPublicParts(small)).toThrow(expect.objectContaining({ code: "KEY_TOO_SMALL" }));
  });

  test("a modulus over 16384 bits is KEY_UNSUPPORTED", () => {
    const n = new Uint8Array(2049).fill(0xff);
    expect(() => checkRsaPublicParts({ kty: "RSA", n: encodeBase64url(n), e: "AQAB" })).toThrow(
      expect.objectContaining({ code: "KEY_UNSUPPORTED" }),
    );
  });

  test("an even modulus, a leading zero octet or non-canonical base64url is KEY_INVALID", () => {
    const n = Buffer.from(good.n!, "base64url");
    const even = Buffer.from(n);
    even[even.length - 1]! &= 0xfe;
    const padded = Buffer.concat([Buffer.from([0]), n]);
    for (const bad of [
      { ...good, n: even.toString("base64url") },
      { ...good, n: padded.toString("base64url") },
      { ...good, n: `${good.n}=` },
      { ...good, n: "" },
      { ...good, e: undefined },
    ]) {
      expect(() => checkRsaPublicParts(bad)).toThrow(expect.objectContaining({ code: "KEY_INVALID" }));
    }
  });

  test("e = 1, e = 3, an even e and e ≥ 2^256 are KEY_WEAK (NIST SP 800-89 §5.3.3)", () => {
    for (const e of [1n, 3n, 65536n, 2n ** 256n + 1n]) {
      expect(() => checkRsaPublicParts({ ...good, e: bigEndian(e) })).toThrow(
        expect.objectContaining({ code: "KEY_WEAK" }),
      );
    }
    expect(checkRsaPublicParts({ ...good, e: bigEndian(2n ** 255n + 1n) }).modulusBits).toBe(2048);
  });

  test("a key that is not RSA is KEY_UNSUPPORTED", () => {
    expect(() => checkRsaPublicParts({ kty: "oct", k: "AAAA" })).toThrow(
      expect.objectContaining({ code: "KEY_UNSUPPORTED" }),
    );
  });
});

describe("generateSigningKey", () => {
  test("defaults: 2048-bit RS256 pair, non-extractable private key, kid = RFC 7638 thumbprint", async () => {
    const key = await generateSigningKey();
    expect(key.alg).toBe("RS256");
    expect(key.privateKey.extractable).toBe(false);
    expect((key.privateKey.algorithm as RsaHashedKeyAlgorithm).modulusLength).toBe(2048);
    expect(Object.keys(key.publicJwk)).toEqual(["kty", "n", "e", "kid", "alg", "use"]);
    expect(key.publicJwk.e).toBe("AQAB");
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk, "sha256"));
    expect(key.publicJwk.kid).toBe(key.kid);
  });

  test(
    "a 3072-bit key on request",
    async () => {
      const key = await generateSigningKey({ modulusLength: 3072 });
      expect(Buffer.from(key.publicJwk.n, "base64url").length).toBe(384);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("refuses moduli under 2048 bits with KEY_TOO_SMALL and bad options with KEY_INVALID_OPTION", async () => {
    expect((await caught(() => generateSigningKey({ modulusLength: 1024 }))).code).toBe("KEY_TOO_SMALL");
    for (const options of [
      { modulusLength: 2047.5 },
      { modulusLength: 2049 },
      { modulusLength: "2048" },
      { modulusLength: 16392 },
      { extractable: "yes" },
      null,
      [],
    ]) {
      expect((await caught(() => generateSigningKey(options as never))).code).toBe("KEY_INVALID_OPTION");
    }
  });
});

describe("exportPrivateJwk / importSigningKey", () => {
  test("round trip: the imported key is non-extractable, keeps the kid and signs the same bytes", async () => {
    const key = await sharedKey();
    const jwk = await exportPrivateJwk(key);
    expect(Object.keys(jwk).sort()).toEqual([
      "alg",
      "d",
      "dp",
      "dq",
      "e",
      "kid",
      "kty",
      "n",
      "p",
      "q",
      "qi",
      "use",
    ]);
    const imported = await importSigningKey(jwk);
    expect(imported.kid).toBe(key.kid);
    expect(imported.privateKey.extractable).toBe(false);
    const data = new TextEncoder().encode("same input, same signature");
    expect(await rs256Sign(imported.privateKey, data)).toEqual(await rs256Sign(key.privateKey, data));
    expect((await caught(() => exportPrivateJwk(imported))).code).toBe("KEY_NOT_EXTRACTABLE");
  });

  test("extractable on request, to re-encrypt under a new master key", async () => {
    const imported = await importSigningKey(await exportPrivateJwk(await sharedKey()), { extractable: true });
    expect(imported.privateKey.extractable).toBe(true);
    expect((await exportPrivateJwk(imported)).d).toBeString();
  });

  test("imports a key made by node:crypto, without kid", async () => {
    const jwk = nodeJwk(2048);
    expect((await importSigningKey(jwk)).kid).toBe(await computeKid(jwk));
  });

  test("refuses a kid that is not the thumbprint, a foreign alg or use, and multi-prime keys", async () => {
    const jwk = await exportPrivateJwk(await sharedKey());
    expect((await caught(() => importSigningKey({ ...jwk, kid: "other" }))).code).toBe("KEY_INVALID");
    expect((await caught(() => importSigningKey({ ...jwk, alg: "PS256" }))).code).toBe("KEY_UNSUPPORTED");
    expect((await caught(() => importSigningKey({ ...jwk, use: "enc" }))).code).toBe("KEY_UNSUPPORTED");
    expect((await caught(() => importSigningKey({ ...jwk, oth: [] }))).code).toBe("KEY_UNSUPPORTED");
    expect((await caught(() => importSigningKey({ ...jwk, qi: undefined }))).code).toBe("KEY_INVALID");
  });

  test("refuses private members that do not belong to the modulus (RFC 8017 §3.2), even the d WebCrypto ignores", async () => {
    const jwk = await exportPrivateJwk(await sharedKey());
    const other = nodeJwk(2048);
    for (const member of ["d", "p", "q", "dp", "dq", "qi"] as const) {
      const error = await caught(() => importSigningKey({ ...jwk, [member]: other[member] }));
      expect(error).toBeInstanceOf(KeyError);
      expect(error.code).toBe("KEY_INVALID");
    }
    expect((await caught(() => importSigningKey({ ...jwk, p: "AQ", q: jwk.n }))).code).toBe("KEY_INVALID");
  });

  test("refuses wrong argument types with KeyError codes", async () => {
    expect((await caught(() => importSigningKey("jwk"))).code).toBe("KEY_INVALID");
    expect((await caught(() => importSigningKey({}, null as never))).code).toBe("KEY_INVALID_OPTION");
    expect((await caught(() => importSigningKey({}, { extractable: 1 } as never))).code).toBe(
      "KEY_INVALID_OPTION",
    );
    expect((await caught(() => exportPrivateJwk({} as never))).code).toBe("KEY_INVALID");
    const key = await sharedKey();
    expect((await caught(() => exportPrivateJwk({ ...key, privateKey: key.publicKey }))).code).toBe(
      "KEY_INVALID",
    );
  });
});

describe("toPublicJwk / createJwks", () => {
  test("toPublicJwk keeps exactly kty n e kid alg use, whatever it is given", async () => {
    const key = await sharedKey();
    const publicJwk = await toPublicJwk({ ...(await exportPrivateJwk(key)), key_ops: ["sign"], ext: true });
    expect(publicJwk).toEqual(key.publicJwk);
    expect(Object.keys(publicJwk)).toEqual(["kty", "n", "e", "kid", "alg", "use"]);
    expect((await caught(() => toPublicJwk([]))).code).toBe("KEY_INVALID");
  });

  test("createJwks publishes exactly kty n e kid alg use per key, never a private member", async () => {
    const key = await sharedKey();
    const jwks = createJwks([{ ...key.publicJwk, x5c: ["..."] } as never]);
    expect(jwks).toEqual({ keys: [key.publicJwk] });
    expect(Object.keys(jwks.keys[0]!)).toEqual(["kty", "n", "e", "kid", "alg", "use"]);
  });

  test("createJwks refuses private members loudly instead of stripping them (KEY_PRIVATE_MATERIAL)", async () => {
    const jwk = await exportPrivateJwk(await sharedKey());
    for (const member of ["d", "p", "q", "dp", "dq", "qi"] as const) {
      const leaky = { ...(await sharedKey()).publicJwk, [member]: jwk[member] };
      expect((await caught(() => createJwks([leaky]))).code).toBe("KEY_PRIVATE_MATERIAL");
    }
  });

  test("createJwks refuses duplicate kids, foreign alg or use, a missing kid, weak keys and non-arrays", async () => {
    const { publicJwk } = await sharedKey();
    expect((await caught(() => createJwks([publicJwk, publicJwk]))).code).toBe("JWKS_DUPLICATE_KID");
    expect((await caught(() => createJwks([{ ...publicJwk, alg: "RS512" } as never]))).code).toBe(
      "KEY_UNSUPPORTED",
    );
    expect((await caught(() => createJwks([{ ...publicJwk, use: "enc" } as never]))).code).toBe(
      "KEY_UNSUPPORTED",
    );
    expect((await caught(() => createJwks([{ ...publicJwk, kid: "" }]))).code).toBe("KEY_INVALID");
    const small = nodeJwk(1024);
    const smallPublic = { kty: "RSA", n: small.n, e: small.e, kid: "s" };
    expect((await caught(() => createJwks([smallPublic as never]))).code).toBe("KEY_TOO_SMALL");
    expect((await caught(() => createJwks({} as never))).code).toBe("JWKS_MALFORMED");
    expect((await caught(() => createJwks([null as never]))).code).toBe("JWKS_MALFORMED");
  });
});
