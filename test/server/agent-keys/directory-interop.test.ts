/**
 * The key directory as an outside implementation sees it. Nothing of ours
 * signs or verifies here: the agent's key is a plain WebCrypto key, its DPoP
 * proof is made by jose, its directory signature by Cloudflare's
 * `web-bot-auth` (`directoryResponseHeaders` with its `Ed25519Signer`, and
 * for P-256 the same function of its `http-message-sig` dependency with a
 * WebCrypto ECDSA signer), and the served directory's signatures are checked
 * member by member with `http-message-sig`'s `verify` (which rebuilds the
 * base from the message as received) over web-bot-auth's
 * `verifierFromJWK` and WebCrypto. So what we serve is what that ecosystem
 * produces and accepts, byte for byte.
 *
 * `http-message-sig` is web-bot-auth's own dependency (0.2.x), imported
 * directly because web-bot-auth's `verify` insists on the request tag
 * "web-bot-auth" and does not re-export the generic one.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { directoryResponseHeaders as genericDirectoryHeaders, type Signer, verify } from "http-message-sig";
import { calculateJwkThumbprint, exportJWK, SignJWT } from "jose";
import { directoryResponseHeaders, jwkToKeyID } from "web-bot-auth";
import { Ed25519Signer, helpers, verifierFromJWK } from "web-bot-auth/crypto";
import { FakeClock, type Provisioned, startTestServer, type TestServer } from "../../../server/testing.ts";
import { api } from "../helpers.ts";
import { DIRECTORY, KEYS } from "./support.ts";

let t: TestServer;
let clock: FakeClock;
let p: Provisioned;

beforeAll(async () => {
  clock = new FakeClock();
  // The issuer is the server's own URL: the verifier takes @authority from the URL it fetched.
  t = await startTestServer({ clock, publicUrlIsOwnUrl: true });
  p = await t.provision();
});
afterAll(async () => {
  await t.stop();
});

interface OutsideKey {
  privateKey: CryptoKey;
  privateJwk: JsonWebKey;
  publicJwk: JsonWebKey;
  kid: string;
}

async function outsideKey(kind: "Ed25519" | "P-256"): Promise<OutsideKey> {
  const algorithm = kind === "Ed25519" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
  const pair = (await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
  const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const publicJwk = await exportJWK(pair.publicKey);
  return {
    privateKey: pair.privateKey,
    privateJwk,
    publicJwk,
    kid: await calculateJwkThumbprint(publicJwk, "sha256"),
  };
}

/** Registers the key with a DPoP proof made by jose. */
async function registerWithJose(key: OutsideKey, alg: "EdDSA" | "ES256") {
  const proof = await new SignJWT({
    htm: "POST",
    htu: `${t.config.publicUrl}${KEYS}`,
    jti: crypto.randomUUID(),
  })
    .setProtectedHeader({ typ: "dpop+jwt", alg, jwk: key.publicJwk })
    .setIssuedAt(Math.floor(clock.now() / 1000))
    .sign(key.privateKey);
  const response = await api(t.url, KEYS, {
    method: "POST",
    headers: { "x-agent-token": p.agentToken, dpop: proof },
    json: {},
  });
  expect(response.status).toBe(201);
  expect(response.body.data.kid).toBe(key.kid);
}

const directoryUrl = () => `${t.config.publicUrl}${DIRECTORY}/${p.agentId}`;
const exchange = () => ({
  request: { method: "GET", url: directoryUrl(), headers: {} },
  response: { status: 200, headers: {} },
});

function upload(kid: string, headers: { "Signature-Input": string; Signature: string }) {
  return api(t.url, `${KEYS}/${kid}/directory-signature`, {
    method: "PUT",
    headers: { "x-agent-token": p.agentToken },
    json: { signature_input: headers["Signature-Input"], signature: headers.Signature },
  });
}

/** The served dictionary's members, one per signature (our members hold no ", "). */
const members = (header: string) => header.split(/, (?=sig\d+=)/);

async function verifyMember(
  input: string,
  signature: string,
  keys: JsonWebKey[],
  url: string,
): Promise<{ keyid: string; tag: unknown }> {
  const message = {
    request: { method: "GET", url, headers: {} },
    response: { status: 200, headers: { "signature-input": input, signature } },
  };
  return verify(message, async (data, bytes, params) => {
    const jwk = keys.find((k) => (k as { kid?: string }).kid === params.keyid);
    if (jwk === undefined) throw new Error(`no key ${String(params.keyid)} in the directory`);
    if (jwk.kty === "OKP") {
      await (await verifierFromJWK(jwk))(data, bytes, params as never);
    } else {
      const publicKey = await crypto.subtle.importKey(
        "jwk",
        { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      const ok = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        publicKey,
        new Uint8Array(bytes),
        new TextEncoder().encode(data),
      );
      if (!ok) throw new Error("invalid signature");
    }
    return { keyid: String(params.keyid), tag: params.tag };
  });
}

describe("the key directory with web-bot-auth and http-message-sig", () => {
  test("signatures made by web-bot-auth are accepted, served, and verify with http-message-sig's verify", async () => {
    const ed = await outsideKey("Ed25519");
    const ec = await outsideKey("P-256");
    await registerWithJose(ed, "EdDSA");
    clock.advance(1000);
    await registerWithJose(ec, "ES256");
    const created = new Date(Math.floor(clock.now() / 1000) * 1000);
    const expires = new Date(created.getTime() + 86_400_000);

    const edSigner = await Ed25519Signer.fromJWK(ed.privateJwk);
    // web-bot-auth's keyid is the thumbprint by its own implementation (jsonwebkey-thumbprint).
    expect(edSigner.keyid).toBe(ed.kid);
    expect(await jwkToKeyID(ed.publicJwk, helpers.WEBCRYPTO_SHA256, helpers.BASE64URL_DECODE)).toBe(ed.kid);
    const edHeaders = await directoryResponseHeaders(exchange(), [edSigner], { created, expires });
    expect(edHeaders["Signature-Input"]).toStartWith('binding0=("@authority";req)');
    expect((await upload(ed.kid, edHeaders)).status).toBe(204);

    const ecSigner: Signer = {
      alg: "ecdsa-p256-sha256",
      keyid: ec.kid,
      async sign(data) {
        const bytes = await crypto.subtle.sign(
          { name: "ECDSA", hash: "SHA-256" },
          ec.privateKey,
          new TextEncoder().encode(data),
        );
        return new Uint8Array(bytes);
      },
    };
    const ecHeaders = await genericDirectoryHeaders(exchange(), [ecSigner], { created, expires });
    expect((await upload(ec.kid, ecHeaders)).status).toBe(204);

    const served = await fetch(directoryUrl(), {
      headers: { accept: "application/http-message-signatures-directory+json" },
    });
    expect(served.status).toBe(200);
    const directory = (await served.json()) as { keys: JsonWebKey[] };
    const inputs = members(served.headers.get("signature-input")!);
    const signatures = members(served.headers.get("signature")!);
    expect(inputs).toHaveLength(2);
    const verified = [];
    for (let i = 0; i < inputs.length; i++) {
      verified.push(await verifyMember(inputs[i]!, signatures[i]!, directory.keys, directoryUrl()));
    }
    expect(verified).toEqual([
      { keyid: ed.kid, tag: "http-message-signatures-directory" },
      { keyid: ec.kid, tag: "http-message-signatures-directory" },
    ]);

    // The verifier is not a formality: the same members fail for another authority.
    const elsewhere = directoryUrl().replace("127.0.0.1", "localhost");
    await expect(verifyMember(inputs[0]!, signatures[0]!, directory.keys, elsewhere)).rejects.toThrow(
      "invalid signature",
    );
  });
});
