import { describe, expect, test } from "bun:test";
import { calculateJwkThumbprint } from "jose";
import { KeyError } from "../../../core/errors.ts";
import {
  agentKeyThumbprint,
  algorithmOf,
  checkAgentPublicJwk,
  generateAgentKey,
  importAgentKey,
  importAgentPublicKey,
} from "../../../core/http-signatures/index.ts";
import { caught } from "./fixtures.ts";

/** RFC 8037 Appendix A.2 public key; A.3 gives its thumbprint. */
const RFC8037_PUBLIC = {
  kty: "OKP",
  crv: "Ed25519",
  x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
} as const;
/** RFC 8037 Appendix A.1 private key of the same pair. */
const RFC8037_PRIVATE = { ...RFC8037_PUBLIC, d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A" };

describe("RFC 7638 thumbprints (kid, keyid, cnf.jkt)", () => {
  test("RFC 8037 Appendix A.3: the Ed25519 example thumbprint", async () => {
    expect(await agentKeyThumbprint(RFC8037_PUBLIC)).toBe("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  });

  for (const kind of ["Ed25519", "P-256"] as const) {
    test(`random ${kind} keys: equal to jose's calculateJwkThumbprint, an independent implementation`, async () => {
      for (let i = 0; i < 8; i++) {
        const key = await generateAgentKey(kind);
        const theirs = await calculateJwkThumbprint(key.publicJwk, "sha256");
        expect(key.kid).toBe(theirs);
        expect(await agentKeyThumbprint(key.publicJwk)).toBe(theirs);
        // Members that are not required (RFC 7638 §3.2) do not change it.
        expect(await agentKeyThumbprint({ ...key.publicJwk, kid: "x", alg: undefined } as never)).toBe(
          theirs,
        );
      }
    });
  }
});

describe("checkAgentPublicJwk", () => {
  test("keeps kty, crv, x (and y) only", async () => {
    const { publicJwk } = await generateAgentKey("P-256");
    const decorated = { ...publicJwk, kid: "abc", use: "sig", alg: "ES256", ext: true, key_ops: ["verify"] };
    expect(checkAgentPublicJwk(decorated)).toEqual(publicJwk);
    expect(Object.keys(checkAgentPublicJwk({ ...RFC8037_PUBLIC, alg: "EdDSA" })).sort()).toEqual([
      "crv",
      "kty",
      "x",
    ]);
  });

  const refusals: [string, unknown, string][] = [
    ["not an object", "OKP", "KEY_INVALID"],
    ["null", null, "KEY_INVALID"],
    ["an array", [RFC8037_PUBLIC], "KEY_INVALID"],
    ["a private member d", RFC8037_PRIVATE, "KEY_PRIVATE_MATERIAL"],
    ["a symmetric k", { ...RFC8037_PUBLIC, k: "AAAA" }, "KEY_PRIVATE_MATERIAL"],
    ["RSA", { kty: "RSA", n: "AQAB", e: "AQAB" }, "KEY_UNSUPPORTED"],
    ["Ed448", { kty: "OKP", crv: "Ed448", x: RFC8037_PUBLIC.x }, "KEY_UNSUPPORTED"],
    ["X25519", { kty: "OKP", crv: "X25519", x: RFC8037_PUBLIC.x }, "KEY_UNSUPPORTED"],
    ["P-384", { kty: "EC", crv: "P-384", x: RFC8037_PUBLIC.x, y: RFC8037_PUBLIC.x }, "KEY_UNSUPPORTED"],
    ["OKP with a P-256 curve", { kty: "OKP", crv: "P-256", x: RFC8037_PUBLIC.x }, "KEY_UNSUPPORTED"],
    ["an alg for another key", { ...RFC8037_PUBLIC, alg: "ES256" }, "KEY_UNSUPPORTED"],
    ["use enc", { ...RFC8037_PUBLIC, use: "enc" }, "KEY_UNSUPPORTED"],
    ["key_ops without verify", { ...RFC8037_PUBLIC, key_ops: ["encrypt"] }, "KEY_UNSUPPORTED"],
    ["key_ops not an array", { ...RFC8037_PUBLIC, key_ops: "verify" }, "KEY_UNSUPPORTED"],
    ["x of 31 bytes", { ...RFC8037_PUBLIC, x: RFC8037_PUBLIC.x.slice(0, 41) }, "KEY_INVALID"],
    ["x of 33 bytes", { ...RFC8037_PUBLIC, x: `${RFC8037_PUBLIC.x}AA` }, "KEY_INVALID"],
    ["x padded", { ...RFC8037_PUBLIC, x: `${RFC8037_PUBLIC.x}=` }, "KEY_INVALID"],
    [
      "x in standard base64",
      { ...RFC8037_PUBLIC, x: "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
      "KEY_INVALID",
    ],
    [
      "x with non-zero trailing bits",
      { ...RFC8037_PUBLIC, x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp" },
      "KEY_INVALID",
    ],
    ["x a number", { ...RFC8037_PUBLIC, x: 5 }, "KEY_INVALID"],
    ["Ed25519 with a y", { ...RFC8037_PUBLIC, y: RFC8037_PUBLIC.x }, "KEY_INVALID"],
    ["P-256 without y", { kty: "EC", crv: "P-256", x: RFC8037_PUBLIC.x }, "KEY_INVALID"],
  ];
  for (const [what, jwk, code] of refusals) {
    test(`refuses ${what} with ${code}`, async () => {
      const error = await caught(() => checkAgentPublicJwk(jwk));
      expect(error.name).toBe("KeyError");
      expect(error.code).toBe(code);
    });
  }

  test("algorithmOf maps the key kind to its RFC 9421 algorithm", async () => {
    expect(algorithmOf(RFC8037_PUBLIC)).toBe("ed25519");
    expect(algorithmOf((await generateAgentKey("P-256")).publicJwk)).toBe("ecdsa-p256-sha256");
  });

  test("a P-256 point off the curve passes the shape check but WebCrypto import refuses it (KEY_INVALID)", async () => {
    const { publicJwk } = await generateAgentKey("P-256");
    const y = publicJwk.y!;
    const offCurve = { ...publicJwk, y: `${y.slice(0, 10)}${y[10] === "A" ? "B" : "A"}${y.slice(11)}` };
    expect(checkAgentPublicJwk(offCurve)).toEqual(offCurve);
    const error = await caught(() => importAgentPublicKey(offCurve));
    expect(error).toMatchObject({ name: "KeyError", code: "KEY_INVALID" });
  });
});

describe("generateAgentKey / importAgentKey", () => {
  test("Ed25519 is the default; the private key is sign-only and non-extractable", async () => {
    const key = await generateAgentKey();
    expect(key.algorithm).toBe("ed25519");
    expect(key.publicJwk.kty).toBe("OKP");
    expect(key.privateKey.extractable).toBe(false);
    expect(key.privateKey.usages).toEqual(["sign"]);
    await expect(crypto.subtle.exportKey("jwk", key.privateKey)).rejects.toThrow();
  });

  test("{ extractable: true } lets the private JWK out, and importAgentKey takes it back", async () => {
    for (const kind of ["Ed25519", "P-256"] as const) {
      const key = await generateAgentKey(kind, { extractable: true });
      const jwk = await crypto.subtle.exportKey("jwk", key.privateKey);
      const again = await importAgentKey(jwk);
      expect(again.kid).toBe(key.kid);
      expect(again.publicJwk).toEqual(key.publicJwk);
      expect(again.privateKey.extractable).toBe(false);
    }
  });

  test("RFC 8037 Appendix A.1: importing the example private key gives the A.3 kid", async () => {
    const key = await importAgentKey(RFC8037_PRIVATE);
    expect(key.kid).toBe("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  });

  test("importAgentKey refuses a d that is not the private half of x (KEY_INVALID)", async () => {
    const other = await generateAgentKey("Ed25519", { extractable: true });
    const { d } = await crypto.subtle.exportKey("jwk", other.privateKey);
    const error = await caught(() => importAgentKey({ ...RFC8037_PUBLIC, d }));
    expect(error).toMatchObject({ name: "KeyError", code: "KEY_INVALID" });
  });

  test("importAgentKey refuses a public JWK, RSA, and bad arguments", async () => {
    expect(await caught(() => importAgentKey(RFC8037_PUBLIC))).toMatchObject({ code: "KEY_INVALID" });
    expect(await caught(() => importAgentKey({ kty: "RSA", d: RFC8037_PRIVATE.d }))).toMatchObject({
      code: "KEY_UNSUPPORTED",
    });
    expect(await caught(() => generateAgentKey("P-384" as never))).toMatchObject({ name: "TypeError" });
    expect(await caught(() => generateAgentKey("Ed25519", { extractable: "yes" } as never))).toMatchObject({
      name: "TypeError",
    });
  });

  test("key errors are KeyError instances", () => {
    expect(() => checkAgentPublicJwk(RFC8037_PRIVATE)).toThrow(KeyError);
  });
});
