/**
 * Regression: a private_key_jwt assertion replayed just after its `exp`.
 *
 * The assertion is verified with 30 s of clock tolerance, but its `jti` was
 * remembered only until `exp`: for the next 30 s the record was dropped
 * (lazily, or by the maintenance purge) while the signature check still
 * passed, so a captured assertion authenticated a second time (RFC 7523 §3
 * item 7). The `jti` must be kept for as long as the assertion verifies.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { call, OAUTH, type ProvisionedServer, startProvisionedServer, tokenRequest } from "../helpers.ts";

const RESOURCE = "https://tools.example/mcp";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

describe("client assertion replay after exp, inside the clock tolerance", () => {
  let t: ProvisionedServer;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE);
    const pair = await generateKeyPair("RS256", { extractable: true });
    privateKey = pair.privateKey;
    const registered = await call(t.url, `${OAUTH}/agents/me/jwks`, {
      method: "PUT",
      headers: { "x-agent-token": t.agent.agentToken },
      json: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1" }] },
    });
    expect(registered.status).toBe(200);
  });
  afterAll(async () => {
    await t.stop();
  });

  const credentials = (assertion: string) =>
    tokenRequest(t.url, {
      grant_type: "client_credentials",
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
      resource: RESOURCE,
    });

  test("the same assertion is refused 10 s after its exp, lazily and after the maintenance purge", async () => {
    for (const purgeFirst of [false, true]) {
      const now = Math.floor(t.clock.now() / 1000);
      const assertion = await new SignJWT({ jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(t.agent.agentId)
        .setSubject(t.agent.agentId)
        .setAudience(t.issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(privateKey);
      expect((await credentials(assertion)).status).toBe(200);

      t.clock.advance(70_000);
      if (purgeFirst) await t.server.maintain();
      const replay = await credentials(assertion);
      expect(replay.status).toBe(401);
      expect(replay.body.error).toBe("invalid_client");
    }
  });
});
