/**
 * Issue 12's "done when", end to end against a live server: an agent with
 * an Ed25519 (or P-256) key registers it, logs in to a site and receives a
 * key-bound passport (`cnf.jkt` = its kid), calls a site with
 * `agent.fetch()`; the site SDK accepts, and the SAME request is accepted by
 * Cloudflare's `web-bot-auth` verifier with the key from the served
 * directory. And the other way: a request `web-bot-auth` signed with the
 * agent's private JWK passes our guard.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { parseSignatures, verifyParsedSignature } from "@lime-ts/core/http-signatures";
import { type AgentPublicJwk, SiteClient } from "@lime-ts/sdk";
import { signatureHeaders, verify } from "web-bot-auth";
import { signerFromJWK, verifierFromJWK } from "web-bot-auth/crypto";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { serverForFile } from "../helpers/server-for-file.ts";
import { siteClientsClosedAfterEach } from "../helpers/site-clients.ts";
import { agentWithKey, directoryUrl, startSite } from "./helpers.ts";

const lime = serverForFile();
const closedAfterTest = siteClientsClosedAfterEach();
const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

interface ServedDirectory {
  keys: (AgentPublicJwk & { kid: string; alg: string; use: string })[];
}

async function servedDirectory(agentId: string): Promise<{ response: Response; body: ServedDirectory }> {
  const response = await fetch(directoryUrl(lime.server, agentId));
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toStartWith(
    "application/http-message-signatures-directory+json",
  );
  return { response, body: (await response.clone().json()) as ServedDirectory };
}

/** web-bot-auth's `verify` with a WebCrypto ECDSA P-256 check: its `verifierFromJWK` knows only Ed25519 and RSA-PSS. */
function p256Verifier(jwk: AgentPublicJwk) {
  return async (data: string, signature: Uint8Array) => {
    const { kty, crv, x, y } = jwk;
    const key = await crypto.subtle.importKey(
      "jwk",
      { kty, crv, x, y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      new Uint8Array(signature),
      new TextEncoder().encode(data),
    );
    if (!ok) throw new Error("invalid signature");
  };
}

for (const kind of ["Ed25519", "P-256"] as const) {
  describe(`${kind}: register, log in bound, call a site`, () => {
    test(
      "the login passport is bound to the key; the site SDK and Cloudflare's verifier both accept the same request",
      async () => {
        const { agent, key } = await agentWithKey(lime.server, lime.ids, { kind });

        // Site login: the approval carries the proof of possession, so the passport is bound.
        const site = closedAfterTest(
          new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken }),
        );
        const { requestId } = await site.createLoginRequest();
        const signedIn = site.waitForLogin(requestId, { timeout: 20_000 });
        await agent.login(requestId);
        const loginPassport = await signedIn;
        expect(loginPassport.agentId).toBe(lime.ids.agentId);
        expect(loginPassport.boundKeyThumbprint).toBe(key.kid);
        expect(loginPassport.claims.cnf).toEqual({ jkt: key.kid });

        // The directory the issuer serves lists the key under its thumbprint.
        const { body } = await servedDirectory(lime.ids.agentId);
        const listed = body.keys.find((k) => k.kid === key.kid);
        expect(listed).toMatchObject({
          ...key.publicJwk,
          use: "sig",
          alg: kind === "Ed25519" ? "EdDSA" : "ES256",
        });

        const seen: { agent: string; keyId?: string; cloudflare: string }[] = [];
        const shop = startSite(lime.server, async (request, verified) => {
          let cloudflare = "accepted";
          try {
            const check = kind === "Ed25519" ? await verifierFromJWK(listed!) : p256Verifier(listed!);
            await verify(request, check);
          } catch (error) {
            cloudflare = String(error);
          }
          seen.push({ agent: verified.agentId, keyId: verified.signature?.keyId, cloudflare });
          return Response.json({ hello: verified.agentId });
        });
        stops.push(shop.stop);

        const response = await agent.fetch(`${shop.origin}/orders?page=2`, { method: "POST", body: "{}" });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ hello: lime.ids.agentId });
        expect(seen).toEqual([{ agent: lime.ids.agentId, keyId: key.kid, cloudflare: "accepted" }]);
      },
      SLOW_TEST_TIMEOUT_MS,
    );
  });
}

describe("the directory's own signature (draft-meunier-http-message-signatures-directory)", () => {
  test("the served directory carries the signature the agent uploaded, over the issuer's @authority", async () => {
    const { key } = await agentWithKey(lime.server, lime.ids);
    const { response } = await servedDirectory(lime.ids.agentId);
    const request = new Request(directoryUrl(lime.server, lime.ids.agentId));
    const members = parseSignatures(response, { tag: "http-message-signatures-directory", request });
    const mine = members.find((member) => member.params.keyid === key.kid);
    expect(mine?.components).toEqual([{ name: "@authority", params: { req: true } }]);
    expect(mine!.params.expires! - mine!.params.created).toBe(24 * 3600);
    expect(await verifyParsedSignature(mine!, key.publicJwk)).toBe(true);
  });
});

describe("the other direction: web-bot-auth signs, our guard verifies", () => {
  test(
    "a request signed by web-bot-auth's signatureHeaders with the agent's private JWK is accepted",
    async () => {
      const { agent, key } = await agentWithKey(lime.server, lime.ids);
      const shop = startSite(lime.server, (_request, verified) =>
        Response.json({ agent: verified.agentId, keyId: verified.signature?.keyId }),
      );
      stops.push(shop.stop);
      const privateJwk = await crypto.subtle.exportKey("jwk", key.privateKey);
      const passport = await agent.passport({ audience: shop.origin });
      const url = `${shop.origin}/orders`;
      const unsigned = new Request(url, {
        headers: {
          authorization: `AgentPassport ${passport}`,
          "signature-agent": `"${directoryUrl(lime.server, lime.ids.agentId)}"`,
        },
      });
      const now = new Date();
      const signed = await signatureHeaders(unsigned, await signerFromJWK(privateJwk), {
        created: now,
        expires: new Date(now.getTime() + 60_000),
        components: ["@method", "@authority", "@path", "signature-agent", "authorization"],
      });
      const headers = new Headers(unsigned.headers);
      headers.set("signature-input", signed["Signature-Input"]);
      headers.set("signature", signed.Signature);
      expect(signed["Signature-Input"]).toContain(`keyid="${key.kid}"`);

      const response = await fetch(url, { headers });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ agent: lime.ids.agentId, keyId: key.kid });
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
