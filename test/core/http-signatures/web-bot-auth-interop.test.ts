/**
 * Interoperability with Cloudflare's `web-bot-auth` (npm, over its
 * `http-message-sig`): an implementation of RFC 9421 and the Web Bot Auth
 * profile written independently of ours. It signs Ed25519 only, so these
 * tests use Ed25519 keys.
 */
import { describe, expect, test } from "bun:test";
import { directoryResponseHeaders, jwkToKeyID, signatureHeaders, verify } from "web-bot-auth";
import { helpers, signerFromJWK, verifierFromJWK } from "web-bot-auth/crypto";
import {
  type AgentKeyPair,
  generateAgentKey,
  importAgentKey,
  parseSignatures,
  signMessage,
  verifyParsedSignature,
} from "../../../core/http-signatures/index.ts";
import { randomNonce } from "./fixtures.ts";

const SIGNATURE_AGENT = '"https://lime.example/.well-known/http-message-signatures-directory/agents/agent_1"';
const COMPONENTS = ["@method", "@authority", "@path", "signature-agent", "authorization"];

async function keyWithPrivateJwk(): Promise<{ key: AgentKeyPair; privateJwk: JsonWebKey }> {
  const generated = await generateAgentKey("Ed25519", { extractable: true });
  const privateJwk = await crypto.subtle.exportKey("jwk", generated.privateKey);
  return { key: await importAgentKey(privateJwk), privateJwk };
}

function agentRequest(url = "https://shop.example/orders/42?view=full"): Request {
  return new Request(url, {
    method: "POST",
    headers: { authorization: "AgentPassport eyJ.test.token", "signature-agent": SIGNATURE_AGENT },
  });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("web-bot-auth interop", () => {
  test("their key id (jsonwebkey-thumbprint) equals our kid", async () => {
    const { key } = await keyWithPrivateJwk();
    expect(await jwkToKeyID(key.publicJwk, helpers.WEBCRYPTO_SHA256, helpers.BASE64URL_DECODE)).toBe(key.kid);
  });

  test("our signMessage output passes their verify with verifierFromJWK", async () => {
    const { key } = await keyWithPrivateJwk();
    const request = agentRequest();
    const created = nowSeconds();
    const headers = await signMessage(request, key, {
      components: COMPONENTS,
      created,
      expires: created + 60,
      nonce: randomNonce(),
      tag: "web-bot-auth",
    });
    request.headers.set("Signature-Input", headers.signatureInput);
    request.headers.set("Signature", headers.signature);
    let seen: { keyid: string; tag: string } | undefined;
    const theirs = await verifierFromJWK(key.publicJwk);
    await verify(request, async (data, signature, params) => {
      seen = { keyid: params.keyid, tag: params.tag };
      return theirs(data, signature, params);
    });
    expect(seen).toEqual({ keyid: key.kid, tag: "web-bot-auth" });
  });

  test("their verify refuses our signature once a covered header changes", async () => {
    const { key } = await keyWithPrivateJwk();
    const request = agentRequest();
    const created = nowSeconds();
    const headers = await signMessage(request, key, {
      components: COMPONENTS,
      created,
      expires: created + 60,
      tag: "web-bot-auth",
    });
    request.headers.set("Signature-Input", headers.signatureInput);
    request.headers.set("Signature", headers.signature);
    request.headers.set("authorization", "AgentPassport another.token.here");
    await expect(verify(request, await verifierFromJWK(key.publicJwk))).rejects.toThrow("invalid signature");
  });

  test("their signatureHeaders output parses and verifies with parseSignatures + verifyParsedSignature", async () => {
    const { key, privateJwk } = await keyWithPrivateJwk();
    const request = agentRequest();
    const now = Date.now();
    const headers = await signatureHeaders(request, await signerFromJWK(privateJwk), {
      created: new Date(now),
      expires: new Date(now + 60_000),
      components: COMPONENTS,
    });
    request.headers.set("Signature-Input", headers["Signature-Input"]);
    request.headers.set("Signature", headers.Signature);
    const [parsed, ...others] = parseSignatures(request, { tag: "web-bot-auth" });
    expect(others).toHaveLength(0);
    expect(parsed!.params).toMatchObject({
      keyid: key.kid,
      alg: "ed25519",
      tag: "web-bot-auth",
      created: Math.floor(now / 1000),
      expires: Math.floor(now / 1000) + 60,
    });
    expect(parsed!.params.nonce).toBeString();
    expect(parsed!.components.map((c) => c.name)).toEqual(COMPONENTS);
    expect(await verifyParsedSignature(parsed!, key.publicJwk)).toBe(true);
    const other = await generateAgentKey();
    expect(await verifyParsedSignature(parsed!, other.publicJwk)).toBe(false);
  });

  test("their signature with their default components (@authority, signature-agent) verifies too", async () => {
    const { key, privateJwk } = await keyWithPrivateJwk();
    const request = agentRequest("https://shop.example:8443/");
    const now = Date.now();
    const headers = await signatureHeaders(request, await signerFromJWK(privateJwk), {
      created: new Date(now),
      expires: new Date(now + 60_000),
    });
    request.headers.set("Signature-Input", headers["Signature-Input"]);
    request.headers.set("Signature", headers.Signature);
    const [parsed] = parseSignatures(request, { tag: "web-bot-auth" });
    expect(parsed!.base.split("\n")[0]).toBe('"@authority": shop.example:8443');
    expect(await verifyParsedSignature(parsed!, key.publicJwk)).toBe(true);
  });

  test('their directory response signature ("@authority";req, tag http-message-signatures-directory) verifies', async () => {
    const { key, privateJwk } = await keyWithPrivateJwk();
    const request = new Request(
      "https://lime.example/.well-known/http-message-signatures-directory/agents/a1",
    );
    const response = new Response("{}", {
      headers: { "content-type": "application/http-message-signatures-directory+json" },
    });
    const now = Date.now();
    const headers = await directoryResponseHeaders({ request, response }, [await signerFromJWK(privateJwk)], {
      created: new Date(now),
      expires: new Date(now + 86_400_000),
    });
    response.headers.set("Signature-Input", headers["Signature-Input"]);
    response.headers.set("Signature", headers.Signature);
    const [parsed] = parseSignatures(response, { tag: "http-message-signatures-directory", request });
    expect(parsed!.components).toEqual([{ name: "@authority", params: { req: true } }]);
    expect(parsed!.base.split("\n")[0]).toBe('"@authority";req: lime.example');
    expect(await verifyParsedSignature(parsed!, key.publicJwk)).toBe(true);
  });
});
