/**
 * Regression: OAuth access that survived rotating a stolen agent token.
 *
 * Rotating an agent token (the old one stops at once) is the owner's answer
 * to a leaked token. But whoever held the token could first register their
 * own key for private_key_jwt, or approve an authorization for their own
 * client and keep its refresh token; neither looked at the agent token
 * again, so after the rotation the thief went on minting access tokens as
 * the agent indefinitely (client credentials; refresh rotation renews the
 * grant). Keys and grants now count only while the agent token they were
 * obtained with is the current one.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import {
  approveWithPkce,
  call,
  exchangeCode,
  OAUTH,
  type ProvisionedServer,
  registerClient,
  startProvisionedServer,
  tokenRequest,
} from "../helpers.ts";

const RESOURCE = "https://tools.example/mcp";
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

describe("rotating the agent token ends what the old token set up", () => {
  let t: ProvisionedServer;
  let thiefKey: CryptoKey;
  let clientId: string;
  let refreshToken: string;

  /** A client-credentials request with an assertion signed by `key` (the thief's, unless told otherwise). */
  const clientCredentials = async (key = thiefKey) => {
    const now = Math.floor(t.clock.now() / 1000);
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer(t.agent.agentId)
      .setSubject(t.agent.agentId)
      .setAudience(t.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key);
    return tokenRequest(t.url, {
      grant_type: "client_credentials",
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
      resource: RESOURCE,
    });
  };

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE);
    // The thief, holding the stolen agent token: a key of their own, and a grant for their own client.
    const pair = await generateKeyPair("ES256", { extractable: true });
    thiefKey = pair.privateKey;
    const put = await call(t.url, `${OAUTH}/agents/me/jwks`, {
      method: "PUT",
      headers: { "x-agent-token": t.agent.agentToken },
      json: { keys: [await exportJWK(pair.publicKey)] },
    });
    expect(put.status).toBe(200);
    clientId = await registerClient(t.url);
    const grant = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE });
    const exchanged = await exchangeCode(t.url, { ...grant, clientId });
    refreshToken = exchanged.body.refresh_token;
    expect((await clientCredentials()).status).toBe(200);

    // The owner notices and rotates the agent token.
    t.clock.advance(1000);
    const rotated = await call(t.url, `/api/v1/core/agents/${t.agent.agentId}/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${t.owner.sessionToken}` },
    });
    expect(rotated.status).toBe(200);
    t.agent.agentToken = rotated.body.data.agent_token;
    t.clock.advance(1000);
  });
  afterAll(async () => {
    await t.stop();
  });

  test("keys registered with the old token no longer authenticate (invalid_client)", async () => {
    const answer = await clientCredentials();
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe("invalid_client");
  });

  test("a refresh token from a grant approved with the old token → invalid_grant", async () => {
    const answer = await tokenRequest(t.url, {
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: clientId,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe("invalid_grant");
  });

  test("the agent, with its new token, registers its keys and authorizes again", async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    const put = await call(t.url, `${OAUTH}/agents/me/jwks`, {
      method: "PUT",
      headers: { "x-agent-token": t.agent.agentToken },
      json: { keys: [await exportJWK(pair.publicKey)] },
    });
    expect(put.status).toBe(200);
    // Its own key, not the thief's: the other tests still hold the thief's key.
    expect((await clientCredentials(pair.privateKey)).status).toBe(200);
    const grant = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE });
    const exchanged = await exchangeCode(t.url, { ...grant, clientId });
    const refreshed = await tokenRequest(t.url, {
      grant_type: "refresh_token",
      refresh_token: exchanged.body.refresh_token,
      client_id: clientId,
    });
    expect(refreshed.status).toBe(200);
  });
});
