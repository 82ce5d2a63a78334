/**
 * Regression guard: the site never fetches what a request names. A signed
 * request's `Signature-Agent` could point the site's verifier at any URL
 * (a server-side request forgery) or at a directory of the attacker's own
 * keys; the SDK looks keys up only in the configured issuer's directory of
 * the passport's agent, and only once the passport verified.
 */
import { expect, test } from "bun:test";
import { signMessage } from "@lime-ts/core/http-signatures";
import { generateAgentKey, PassportVerifier } from "@lime-ts/sdk";
import { createTestIssuer, ISSUER, JWKS_URL, sign } from "../helpers/issuer.ts";

const DIRECTORY = `${ISSUER}/.well-known/http-message-signatures-directory/agents/agent-1`;
const ATTACKER = "https://attacker.test/.well-known/http-message-signatures-directory";

async function setup() {
  const issuer = await createTestIssuer();
  const issuerKey = await generateAgentKey();
  const fetched: string[] = [];
  const verifier = new PassportVerifier({
    issuer: ISSUER,
    audience: "https://shop.test",
    revocation: { enabled: false },
    fetch: async (input, init) => {
      const url = String(input);
      fetched.push(url);
      if (url === JWKS_URL) return issuer.fetch(input, init);
      if (url === DIRECTORY) return Response.json({ keys: [{ ...issuerKey.publicJwk, kid: issuerKey.kid }] });
      return Response.json({ keys: [] });
    },
  });
  return { issuer, issuerKey, fetched, verifier };
}

async function signedRequest(
  passport: string,
  signatureAgent: string,
  key: Awaited<ReturnType<typeof generateAgentKey>>,
) {
  const headers = new Headers({
    authorization: `AgentPassport ${passport}`,
    "signature-agent": `"${signatureAgent}"`,
  });
  const url = "https://shop.test/orders";
  const now = Math.floor(Date.now() / 1000);
  const signed = await signMessage({ method: "GET", url, headers }, key, {
    components: ["@method", "@authority", "@path", "signature-agent", "authorization"],
    created: now,
    expires: now + 60,
    nonce: crypto.randomUUID(),
    tag: "web-bot-auth",
  });
  headers.set("signature-input", signed.signatureInput);
  headers.set("signature", signed.signature);
  return new Request(url, { headers });
}

test("a Signature-Agent naming another directory is refused without fetching it; the key comes from the issuer's", async () => {
  const { issuer, issuerKey, fetched, verifier } = await setup();
  const attackerKey = await generateAgentKey();
  const passport = await sign(issuer.keys[0]!, { cnf: { jkt: attackerKey.kid } });
  const request = await signedRequest(passport, ATTACKER, attackerKey);
  await expect(verifier.verifyRequest(request)).rejects.toMatchObject({ code: "SIGNATURE_AGENT_UNTRUSTED" });
  expect(fetched.some((url) => url.startsWith("https://attacker.test"))).toBe(false);

  // Pointing at the right directory with a key that is not in it: unknown, and still only the issuer was asked.
  const honest = await signedRequest(passport, DIRECTORY, attackerKey);
  await expect(verifier.verifyRequest(honest)).rejects.toMatchObject({ code: "SIGNATURE_KEY_UNKNOWN" });
  expect(fetched.every((url) => url.startsWith(ISSUER))).toBe(true);

  const bound = await sign(issuer.keys[0]!, { cnf: { jkt: issuerKey.kid } });
  expect(
    (await verifier.verifyRequest(await signedRequest(bound, DIRECTORY, issuerKey))).signature?.keyId,
  ).toBe(issuerKey.kid);
});

test("a passport that does not verify makes the site fetch no directory at all", async () => {
  const { issuer, fetched, verifier } = await setup();
  const key = await generateAgentKey();
  const stranger = await issuer.addKey(false);
  const forged = await sign(stranger, { cnf: { jkt: key.kid } });
  await expect(verifier.verifyRequest(await signedRequest(forged, DIRECTORY, key))).rejects.toMatchObject({
    code: "PASSPORT_UNKNOWN_KID",
  });
  expect(fetched.filter((url) => url.includes("http-message-signatures-directory"))).toEqual([]);
});
