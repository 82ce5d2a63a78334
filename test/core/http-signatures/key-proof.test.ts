/**
 * Key proofs (RFC 9449 DPoP proof format) against `jose`, an independent
 * JOSE implementation, in both directions, and every refusal with its code.
 */
import { describe, expect, test } from "bun:test";
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, SignJWT } from "jose";
import { encodeBase64url, encodeBase64urlText } from "../../../core/encoding/base64url.ts";
import { signBytes } from "../../../core/http-signatures/crypto.ts";
import {
  type AgentKeyPair,
  createKeyProof,
  generateAgentKey,
  MAX_KEY_PROOF_BYTES,
  normalizeHtu,
  type VerifyKeyProofOptions,
  verifyKeyProof,
} from "../../../core/http-signatures/index.ts";
import { caught } from "./fixtures.ts";

const NOW = 1_800_000_000;
const HTU = "https://lime.example/api/v1/core/agents/me/keys";
const EXPECTED: VerifyKeyProofOptions = { htm: "POST", htu: HTU, now: NOW };
const JTI = "0123456789abcdef-jti";

/** A proof signed by jose with whatever header and payload a test needs. */
function joseProof(
  key: AgentKeyPair,
  header: Record<string, unknown>,
  payload: Record<string, unknown> = { jti: JTI, htm: "POST", htu: HTU, iat: NOW },
): Promise<string> {
  const alg = key.algorithm === "ed25519" ? "EdDSA" : "ES256";
  return new SignJWT(payload)
    .setProtectedHeader({ alg, typ: "dpop+jwt", jwk: key.publicJwk, ...header })
    .sign(key.privateKey);
}

/** A proof with any header and any payload bytes, signed by `key`: for what jose refuses to produce. */
async function rawProof(
  key: AgentKeyPair,
  header: Record<string, unknown>,
  payload: string,
): Promise<string> {
  const alg = key.algorithm === "ed25519" ? "EdDSA" : "ES256";
  const input = `${encodeBase64urlText(JSON.stringify({ alg, typ: "dpop+jwt", jwk: key.publicJwk, ...header }))}.${encodeBase64urlText(payload)}`;
  return `${input}.${encodeBase64url(await signBytes(key, new TextEncoder().encode(input)))}`;
}

async function refusal(proof: string, expected: Partial<VerifyKeyProofOptions> = {}) {
  const error = await caught(() => verifyKeyProof(proof, { ...EXPECTED, ...expected }));
  expect(error.name).toBe("SignatureError");
  expect(error.code).toBe("KEY_PROOF_INVALID");
  return error.message;
}

describe("key proofs against jose", () => {
  for (const kind of ["Ed25519", "P-256"] as const) {
    test(`${kind}: our proof verifies with jose jwtVerify + EmbeddedJWK (typ dpop+jwt)`, async () => {
      const key = await generateAgentKey(kind);
      const proof = await createKeyProof(key, { htm: "POST", htu: HTU, nonce: "n-1", iat: NOW });
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
        typ: "dpop+jwt",
        algorithms: ["EdDSA", "ES256"],
        currentDate: new Date(NOW * 1000),
      });
      expect(protectedHeader.alg).toBe(kind === "Ed25519" ? "EdDSA" : "ES256");
      expect(protectedHeader.jwk).toEqual(key.publicJwk);
      expect(await calculateJwkThumbprint(protectedHeader.jwk!)).toBe(key.kid);
      expect(payload).toMatchObject({ htm: "POST", htu: HTU, iat: NOW, nonce: "n-1" });
      expect(payload.jti).toBeString();
      expect((payload.jti as string).length).toBeGreaterThanOrEqual(16);
    });

    test(`${kind}: a proof made by jose SignJWT verifies with ours`, async () => {
      const key = await generateAgentKey(kind);
      const proof = await joseProof(key, {});
      const verified = await verifyKeyProof(proof, EXPECTED);
      expect(verified).toEqual({ jwk: key.publicJwk, kid: key.kid, jti: JTI, iat: NOW });
    });
  }
});

describe("verifyKeyProof checks", () => {
  test("htu is compared normalized: case, default port, query and fragment do not matter", async () => {
    const key = await generateAgentKey();
    const proof = await createKeyProof(key, { htm: "POST", htu: `${HTU}?a=1#frag`, iat: NOW });
    await expect(
      verifyKeyProof(proof, { ...EXPECTED, htu: "HTTPS://LIME.example:443/api/v1/core/agents/me/keys" }),
    ).resolves.toMatchObject({ kid: key.kid });
    expect(normalizeHtu("HTTPS://Lime.Example:443/a/../api?x=1#f")).toBe("https://lime.example/api");
    expect(normalizeHtu("http://lime.example:80/x")).toBe("http://lime.example/x");
    expect(normalizeHtu("https://lime.example:8443/x")).toBe("https://lime.example:8443/x");
    expect(normalizeHtu("ftp://lime.example/x")).toBeUndefined();
    expect(normalizeHtu("https://user:pw@lime.example/x")).toBeUndefined();
    expect(normalizeHtu("/relative")).toBeUndefined();
  });

  test("iat within ±maxAgeSeconds is accepted", async () => {
    const key = await generateAgentKey();
    for (const iat of [NOW - 60, NOW + 60]) {
      await expect(
        verifyKeyProof(await createKeyProof(key, { htm: "POST", htu: HTU, iat }), EXPECTED),
      ).resolves.toMatchObject({ iat });
    }
    const old = await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW - 200 });
    await expect(verifyKeyProof(old, { ...EXPECTED, maxAgeSeconds: 300 })).resolves.toMatchObject({
      iat: NOW - 200,
    });
  });

  test("refuses a wrong typ", async () => {
    const key = await generateAgentKey();
    expect(await refusal(await joseProof(key, { typ: "JWT" }))).toContain("typ");
    expect(await refusal(await joseProof(key, { typ: "DPOP+JWT" }))).toContain("typ");
  });

  test("refuses an alg that does not match the jwk", async () => {
    const p256 = await generateAgentKey("P-256");
    const ed = await generateAgentKey("Ed25519");
    // Signed ES256 by the P-256 key, but the header claims the Ed25519 key.
    expect(await refusal(await joseProof(p256, { jwk: ed.publicJwk }))).toContain("alg does not match");
  });

  test("refuses a header jwk carrying the private d", async () => {
    const key = await generateAgentKey("Ed25519", { extractable: true });
    const privateJwk = await crypto.subtle.exportKey("jwk", key.privateKey);
    const message = await refusal(await joseProof(key, { jwk: { ...key.publicJwk, d: privateJwk.d } }));
    expect(message).toContain("jwk");
    expect(message).not.toContain(privateJwk.d!);
  });

  test("refuses a missing or unsupported jwk, and crit", async () => {
    const key = await generateAgentKey();
    expect(await refusal(await joseProof(key, { jwk: undefined }))).toContain("jwk");
    expect(await refusal(await joseProof(key, { jwk: { kty: "RSA", n: "AQAB", e: "AQAB" } }))).toContain(
      "jwk",
    );
    const claims = JSON.stringify({ jti: JTI, htm: "POST", htu: HTU, iat: NOW });
    expect(await refusal(await rawProof(key, { crit: ["exp"], exp: 1 }, claims))).toContain("crit");
    await expect(verifyKeyProof(await rawProof(key, {}, claims), EXPECTED)).resolves.toBeDefined();
  });

  test("refuses htm and htu that do not match the request", async () => {
    const key = await generateAgentKey();
    const proof = await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW });
    expect(await refusal(proof, { htm: "GET" })).toContain("htm");
    expect(await refusal(proof, { htm: "post" })).toContain("htm");
    expect(await refusal(proof, { htu: "https://lime.example/api/v1/core/passports" })).toContain("htu");
    expect(await refusal(proof, { htu: "https://evil.example/api/v1/core/agents/me/keys" })).toContain("htu");
    expect(await refusal(proof, { htu: "http://lime.example/api/v1/core/agents/me/keys" })).toContain("htu");
  });

  test("refuses an iat too old or too far in the future", async () => {
    const key = await generateAgentKey();
    expect(await refusal(await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW - 61 }))).toContain(
      "too old",
    );
    expect(await refusal(await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW + 61 }))).toContain(
      "future",
    );
    expect(
      await refusal(await joseProof(key, {}, { jti: JTI, htm: "POST", htu: HTU, iat: "now" })),
    ).toContain("iat");
  });

  test("refuses a nonce that differs from the one expected, or is absent", async () => {
    const key = await generateAgentKey();
    const withNonce = await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW, nonce: "challenge-1" });
    expect(await refusal(withNonce, { nonce: "challenge-2" })).toContain("nonce");
    const without = await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW });
    expect(await refusal(without, { nonce: "challenge-1" })).toContain("nonce");
    await expect(verifyKeyProof(withNonce, { ...EXPECTED, nonce: "challenge-1" })).resolves.toBeDefined();
  });

  test("refuses a tampered signature, payload or header", async () => {
    const key = await generateAgentKey();
    const proof = await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW });
    const [header, payload, signature] = proof.split(".") as [string, string, string];
    const flipped = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
    expect(await refusal(`${header}.${payload}.${flipped}`)).toContain("signature");
    const otherPayload = encodeBase64url(
      new TextEncoder().encode(JSON.stringify({ jti: JTI, htm: "POST", htu: HTU, iat: NOW })),
    );
    expect(await refusal(`${header}.${otherPayload}.${signature}`)).toContain("signature");
    const otherKey = await generateAgentKey();
    const otherProof = await createKeyProof(otherKey, { htm: "POST", htu: HTU, iat: NOW });
    expect(await refusal(`${otherProof.split(".")[0]}.${payload}.${signature}`)).toContain("signature");
  });

  test(`refuses a proof over ${MAX_KEY_PROOF_BYTES} bytes before decoding it`, async () => {
    const key = await generateAgentKey();
    const big = await joseProof(
      key,
      {},
      { jti: JTI, htm: "POST", htu: HTU, iat: NOW, pad: "x".repeat(MAX_KEY_PROOF_BYTES) },
    );
    expect(big.length).toBeGreaterThan(MAX_KEY_PROOF_BYTES);
    expect(await refusal(big)).toContain(`${MAX_KEY_PROOF_BYTES}`);
  });

  test("refuses non-canonical base64url (padding, trailing bits, standard alphabet)", async () => {
    const key = await generateAgentKey();
    const proof = await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW });
    const [header, payload, signature] = proof.split(".") as [string, string, string];
    // 64 signature bytes end in a character whose low 4 bits are padding; setting one keeps the bytes, breaks canonicity.
    const last = signature.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sloppy = `${signature.slice(0, -1)}${alphabet[alphabet.indexOf(last) + 1]}`;
    expect(await refusal(`${header}.${payload}.${sloppy}`)).toContain("canonical");
    expect(await refusal(`${header}.${payload}.${signature}==`)).toContain("canonical");
    expect(
      await refusal(`${header}.${payload.replace(/-/g, "+").replace(/_/g, "/")}x.${signature}`),
    ).toContain("canonical");
  });

  test("refuses structural junk: empty, two segments, four segments, non-JSON header or payload", async () => {
    const key = await generateAgentKey();
    const proof = await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW });
    const [header, , signature] = proof.split(".") as [string, string, string];
    expect(await refusal("")).toContain("missing");
    expect(await refusal(proof.split(".").slice(0, 2).join("."))).toContain("compact JWS");
    expect(await refusal(`${proof}.x`)).toContain("compact JWS");
    expect(await refusal(`bm90IGpzb24.${proof.split(".")[1]}.${signature}`)).toContain("compact JWS");
    expect(await refusal(`${header}.bm90IGpzb24.${signature}`)).toContain("signature");
    expect(await refusal(await rawProof(key, {}, "not json"))).toContain("JSON object");
    expect(await refusal(await rawProof(key, {}, "[1,2]"))).toContain("JSON object");
  });

  test("refuses a jti that is too short or not a string", async () => {
    const key = await generateAgentKey();
    expect(
      await refusal(await joseProof(key, {}, { jti: "short", htm: "POST", htu: HTU, iat: NOW })),
    ).toContain("jti");
    expect(await refusal(await joseProof(key, {}, { htm: "POST", htu: HTU, iat: NOW }))).toContain("jti");
  });

  test("caller mistakes are TypeError/RangeError, not proof refusals", async () => {
    const key = await generateAgentKey();
    const proof = await createKeyProof(key, { htm: "POST", htu: HTU, iat: NOW });
    expect(await caught(() => verifyKeyProof(proof, { ...EXPECTED, htu: "not a url" }))).toMatchObject({
      name: "TypeError",
    });
    expect(await caught(() => verifyKeyProof(proof, { ...EXPECTED, now: Number.NaN }))).toMatchObject({
      name: "TypeError",
    });
    expect(await caught(() => verifyKeyProof(proof, { ...EXPECTED, maxAgeSeconds: 3600 }))).toMatchObject({
      name: "RangeError",
    });
    expect(await caught(() => createKeyProof(key, { htm: "PO ST", htu: HTU }))).toMatchObject({
      name: "TypeError",
    });
    expect(await caught(() => createKeyProof(key, { htm: "POST", htu: HTU, jti: "short" }))).toMatchObject({
      name: "TypeError",
    });
    expect(await caught(() => createKeyProof({} as AgentKeyPair, { htm: "POST", htu: HTU }))).toMatchObject({
      name: "TypeError",
    });
  });
});
