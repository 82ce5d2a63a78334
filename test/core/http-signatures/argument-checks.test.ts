// The edges of the core's agent-key and message-signature API that callers
// reach by mistake (wrong argument types, impossible values) and the bounds
// that keep it from growing: each is a typed error, never a crash or a
// silently wrong signature.
import { describe, expect, test } from "bun:test";
import { KeyError, SignatureError } from "../../../core/errors.ts";
import { importAgentPublicKey } from "../../../core/http-signatures/agent-key.ts";
import {
  createKeyProof,
  generateAgentKey,
  importAgentKey,
  parseSignatures,
  signatureBase,
  signMessage,
} from "../../../core/http-signatures/index.ts";
import { decodeCompactJws, verifyJwsSignature } from "../../../core/http-signatures/jws.ts";
import { serializeBareItem } from "../../../core/http-signatures/structured-fields.ts";

const request = () => ({ method: "GET", url: "https://shop.example/orders", headers: new Headers() });

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

async function rejected(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("importAgentKey", () => {
  test("a JWK that is not an object is KEY_INVALID", async () => {
    const error = await rejected(() => importAgentKey(null as never));
    expect(error).toBeInstanceOf(KeyError);
    expect((error as KeyError).code).toBe("KEY_INVALID");
  });

  test("a P-256 scalar WebCrypto refuses (zero, or not below the group order) is KEY_INVALID", async () => {
    const { publicJwk } = await generateAgentKey("P-256");
    for (const byte of [0x00, 0xff]) {
      const d = btoa(String.fromCharCode(...new Uint8Array(32).fill(byte)))
        .replace(/\+/g, "-")
        .replace(/\//g, "_")
        .replace(/=+$/, "");
      const error = await rejected(() => importAgentKey({ ...publicJwk, d }));
      expect(error).toBeInstanceOf(KeyError);
      expect((error as KeyError).code).toBe("KEY_INVALID");
    }
  });
});

describe("importAgentPublicKey", () => {
  test("holds at most 256 imported keys: the oldest is imported again once 256 newer ones came", async () => {
    const keys = await Promise.all(Array.from({ length: 257 }, () => generateAgentKey()));
    const first = importAgentPublicKey(keys[0]!.publicJwk);
    expect(importAgentPublicKey(keys[0]!.publicJwk)).toBe(first);
    for (const key of keys.slice(1)) await importAgentPublicKey(key.publicJwk);
    const again = importAgentPublicKey(keys[0]!.publicJwk);
    expect(again).not.toBe(first);
    expect((await again).type).toBe("public");
  });
});

describe("createKeyProof", () => {
  test("an empty nonce or a negative iat is the caller's mistake: TypeError, nothing signed", async () => {
    const key = await generateAgentKey();
    const htu = "https://lime.example/api/v1/core/passports";
    expect(await rejected(() => createKeyProof(key, { htm: "POST", htu, nonce: "" }))).toBeInstanceOf(
      TypeError,
    );
    expect(await rejected(() => createKeyProof(key, { htm: "POST", htu, iat: -1 }))).toBeInstanceOf(
      TypeError,
    );
  });
});

describe("verifyJwsSignature", () => {
  test("a key of another algorithm than the header's answers false, without asking WebCrypto", async () => {
    const key = await generateAgentKey();
    const other = await generateAgentKey("P-256");
    const proof = await createKeyProof(key, { htm: "POST", htu: "https://lime.example/x" });
    const jws = decodeCompactJws(proof)!;
    expect(await verifyJwsSignature(jws, other.publicJwk)).toBe(false);
    expect(await verifyJwsSignature(jws, key.publicJwk)).toBe(true);
  });
});

describe("signing parameters and components", () => {
  test("an empty component name is SIGNATURE_MALFORMED", async () => {
    const key = await generateAgentKey();
    const error = await rejected(() => signMessage(request(), key, { components: [""], created: 1 }));
    expect(error).toBeInstanceOf(SignatureError);
    expect((error as SignatureError).code).toBe("SIGNATURE_MALFORMED");
  });

  test("params that are no object, an empty keyid or an unknown alg are TypeErrors", () => {
    expect(thrown(() => signatureBase(request(), ["@method"], null as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => signatureBase(request(), ["@method"], { created: 1, keyid: "" }))).toBeInstanceOf(
      TypeError,
    );
    expect(
      thrown(() =>
        signatureBase(request(), ["@method"], { created: 1, keyid: "k", alg: "rsa-v1_5-sha256" as never }),
      ),
    ).toBeInstanceOf(TypeError);
  });

  test("a header value that spans lines cannot be covered: it would forge the next line of the base", () => {
    const headers = { get: (name: string) => (name === "x-note" ? "a\nb" : null), has: () => true };
    const message = { method: "GET", url: "https://shop.example/", headers } as never;
    const error = thrown(() => signatureBase(message, ["x-note"], { created: 1, keyid: "k" }));
    expect(error).toBeInstanceOf(SignatureError);
    expect((error as SignatureError).code).toBe("SIGNATURE_MALFORMED");
  });

  test("booleans serialize as ?1 and ?0 (RFC 8941 §4.1.9)", () => {
    expect(serializeBareItem({ type: "boolean", value: true })).toBe("?1");
    expect(serializeBareItem({ type: "boolean", value: false })).toBe("?0");
  });
});

describe("parseSignatures", () => {
  test("a message without headers, options that are no object, or a tag that is no string are TypeErrors", () => {
    expect(thrown(() => parseSignatures(null as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => parseSignatures(request(), null as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => parseSignatures(request(), { tag: 5 as never }))).toBeInstanceOf(TypeError);
  });
});
