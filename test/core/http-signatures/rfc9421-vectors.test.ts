/**
 * RFC 9421 Appendix B examples (test/vectors/rfc9421): B.2.6 (Ed25519,
 * deterministic) reproduced byte for byte, B.2.4 (ECDSA P-256, randomized)
 * verified as published, both parsed back from their header values.
 */
import { describe, expect, test } from "bun:test";
import {
  agentKeyThumbprint,
  type CoveredComponent,
  checkAgentPublicJwk,
  generateAgentKey,
  parseSignatures,
  signatureBase,
  signMessage,
  signSignatureBase,
  verifyParsedSignature,
  verifySignatureBase,
} from "../../../core/http-signatures/index.ts";
import { base64ToBytes, example, rfcEd25519Key, rfcPublicJwk, rfcRequest, rfcResponse } from "./fixtures.ts";

/** The bytes inside `label=:...:`. */
function signatureBytes(member: string): Uint8Array<ArrayBuffer> {
  return base64ToBytes(member.slice(member.indexOf(":") + 1, -1));
}

describe("RFC 9421 Appendix B.2.6: ed25519 with test-key-ed25519", () => {
  const b26 = example("B.2.6");

  test("B.1.4: the private key's public half is the published public key", async () => {
    const key = await rfcEd25519Key();
    expect(key.publicJwk).toEqual(checkAgentPublicJwk(await rfcPublicJwk("test-key-ed25519")));
    expect(key.publicJwk.x).toBe("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs");
    expect(key.algorithm).toBe("ed25519");
  });

  test("the signature base is reproduced byte for byte", () => {
    expect(signatureBase(rfcRequest(), b26.components, b26.params)).toBe(b26.base);
  });

  test("the signature is reproduced byte for byte (Ed25519 is deterministic, RFC 8032 §5.1.6)", async () => {
    const signature = await signSignatureBase(b26.base, await rfcEd25519Key());
    expect(signature).toEqual(signatureBytes(b26.signature));
  });

  test("the published Signature-Input and Signature parse back to the same base and verify", async () => {
    const message = rfcRequest({ "Signature-Input": b26.signatureInput, Signature: b26.signature });
    const [parsed, ...others] = parseSignatures(message);
    expect(others).toHaveLength(0);
    expect(parsed!.label).toBe("sig-b26");
    expect(parsed!.base).toBe(b26.base);
    expect(parsed!.params).toEqual({ created: 1618884473, keyid: "test-key-ed25519", raw: b26.params });
    expect(parsed!.components.map((c) => c.name)).toEqual(b26.components);
    expect(await verifyParsedSignature(parsed!, await rfcPublicJwk("test-key-ed25519"))).toBe(true);
  });

  test("a request whose covered date changed no longer verifies", async () => {
    const message = rfcRequest({
      Date: "Tue, 20 Apr 2021 02:07:56 GMT",
      "Signature-Input": b26.signatureInput,
      Signature: b26.signature,
    });
    const [parsed] = parseSignatures(message);
    expect(await verifyParsedSignature(parsed!, await rfcPublicJwk("test-key-ed25519"))).toBe(false);
  });

  test("the same request through a real Request object gives the same base (Bun keeps forbidden headers)", () => {
    const { url, method, headers } = rfcRequest();
    expect(signatureBase(new Request(url, { method, headers }), b26.components, b26.params)).toBe(b26.base);
  });
});

describe("RFC 9421 Appendix B.2.4: ecdsa-p256-sha256 with test-key-ecc-p256", () => {
  const b24 = example("B.2.4");

  test("the signature base of the response is reproduced byte for byte", () => {
    expect(signatureBase(rfcResponse(), b24.components, b24.params)).toBe(b24.base);
  });

  test("the published signature (raw r||s, §3.3.4) verifies with the published key", async () => {
    const jwk = await rfcPublicJwk("test-key-ecc-p256");
    const signature = signatureBytes(b24.signature);
    expect(signature).toHaveLength(64);
    expect(await verifySignatureBase(b24.base, signature, checkAgentPublicJwk(jwk))).toBe(true);
  });

  test("the published header values parse back and verify; one flipped bit does not", async () => {
    const jwk = checkAgentPublicJwk(await rfcPublicJwk("test-key-ecc-p256"));
    const [parsed] = parseSignatures(
      rfcResponse({ "Signature-Input": b24.signatureInput, Signature: b24.signature }),
    );
    expect(parsed!.base).toBe(b24.base);
    expect(await verifyParsedSignature(parsed!, jwk)).toBe(true);
    const tampered = new Uint8Array(parsed!.signature);
    tampered[10]! ^= 1;
    expect(await verifyParsedSignature({ ...parsed!, signature: tampered }, jwk)).toBe(false);
  });

  test("sign then verify round trip over the same base with a fresh P-256 key (ECDSA is randomized)", async () => {
    const key = await generateAgentKey("P-256");
    const response = rfcResponse();
    const headers = await signMessage(response, key, { components: b24.components, created: 1618884473 });
    const first = await signSignatureBase(b24.base, key);
    const second = await signSignatureBase(b24.base, key);
    expect(first).toHaveLength(64);
    expect(first).not.toEqual(second);
    expect(await verifySignatureBase(b24.base, first, key.publicJwk)).toBe(true);
    expect(await verifySignatureBase(b24.base, second, key.publicJwk)).toBe(true);
    response.headers.set("signature-input", headers.signatureInput);
    response.headers.set("signature", headers.signature);
    const [parsed] = parseSignatures(response);
    expect(parsed!.params.keyid).toBe(await agentKeyThumbprint(key.publicJwk));
    expect(await verifyParsedSignature(parsed!, key.publicJwk)).toBe(true);
  });

  test("RFC 9421 §2.4: a response signature covering the request's @authority with ;req", async () => {
    const key = await generateAgentKey();
    const request = rfcRequest();
    const response = rfcResponse();
    const components: CoveredComponent[] = [
      { name: "@authority", params: { req: true } },
      { name: "@status" },
    ];
    const headers = await signMessage(response, key, { components, created: 1618884473, request });
    expect(headers.signatureInput).toStartWith('sig1=("@authority";req "@status");created=1618884473;');
    response.headers.set("signature-input", headers.signatureInput);
    response.headers.set("signature", headers.signature);
    const [parsed] = parseSignatures(response, { request });
    expect(parsed!.base).toStartWith('"@authority";req: example.com\n"@status": 200\n');
    expect(await verifyParsedSignature(parsed!, key.publicJwk)).toBe(true);
  });
});
