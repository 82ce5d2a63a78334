/**
 * Regression: introspection vouching for a revoked agent's tokens.
 *
 * Revoking an agent is the answer to a stolen agent token, and
 * introspection is how a resource server learns of a revocation before a
 * token expires (docs/mcp-oauth.md). Yet it answered `active: true` for the
 * revoked agent's access tokens (headless, client credentials, and codes
 * not yet refreshed) until their `exp`, because it checked only the token
 * and its grant, never the subject behind them.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  approveWithPkce,
  call,
  exchangeCode,
  OAUTH,
  type ProvisionedServer,
  registerClient,
  revokeAgent,
  startProvisionedServer,
} from "../helpers.ts";

const RESOURCE = "https://tools.example/mcp";

describe("introspection after the agent is revoked", () => {
  let t: ProvisionedServer;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE);
  });
  afterAll(async () => {
    await t.stop();
  });

  const introspect = (token: string) =>
    call(t.url, `${OAUTH}/introspect`, {
      headers: { authorization: `Bearer ${t.introspectionToken}` },
      form: { token },
    });

  test("its headless and authorization-code tokens introspect as inactive at once", async () => {
    const headless = await call(t.url, `${OAUTH}/token`, {
      headers: { "x-agent-token": t.agent.agentToken },
      json: { domain: "tools.example" },
    });
    expect(headless.status).toBe(200);
    const clientId = await registerClient(t.url);
    const grant = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE });
    const exchanged = await exchangeCode(t.url, { ...grant, clientId });
    expect(exchanged.status).toBe(200);
    const tokens = [headless.body.access_token as string, exchanged.body.access_token as string];
    for (const token of tokens) expect((await introspect(token)).body.active).toBe(true);

    await revokeAgent(t.url, t.owner, t.agent.agentId);
    for (const token of tokens) {
      const answer = await introspect(token);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ active: false });
    }
  });
});
