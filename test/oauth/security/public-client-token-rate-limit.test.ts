/**
 * Regression: anyone could spend a public client's token budget.
 *
 * The token endpoint limited requests per client id. A public client's id
 * is no secret: every installation of a metadata-document client shares
 * one URL as its id, and a registered id travels in every authorization
 * URL. Requests naming it need no credential, so one stranger sending
 * garbage could hold every user of that client at 429, code exchanges and
 * refreshes included. A public client's budget is now counted per address.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  approveWithPkce,
  call,
  OAUTH,
  type ProvisionedServer,
  REDIRECT_URI,
  registerClient,
  startProvisionedServer,
} from "../helpers.ts";

const RESOURCE = "https://tools.example/mcp";
const PER_MINUTE = 3;

describe("token requests of a public client from different addresses", () => {
  let t: ProvisionedServer;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE, { oauth: { tokenRequestsPerMinute: PER_MINUTE } });
    // As behind our own proxy, so the test can speak from several addresses.
    t.config.trustProxy = true;
  });
  afterAll(async () => {
    await t.stop();
  });

  const tokenFrom = (address: string, form: Record<string, string>) =>
    call(t.url, `${OAUTH}/token`, { headers: { "x-forwarded-for": address }, form });

  test("a stranger exhausting the budget from one address does not stop the user at another", async () => {
    const clientId = await registerClient(t.url);
    for (let i = 0; i < PER_MINUTE + 2; i++) {
      await tokenFrom("203.0.113.9", {
        grant_type: "refresh_token",
        refresh_token: `lime_rt_guess${i}`,
        client_id: clientId,
      });
    }
    const stranger = await tokenFrom("203.0.113.9", {
      grant_type: "refresh_token",
      refresh_token: "lime_rt_again",
      client_id: clientId,
    });
    expect(stranger.status).toBe(429);

    const grant = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE });
    const user = await tokenFrom("198.51.100.7", {
      grant_type: "authorization_code",
      code: grant.code,
      code_verifier: grant.verifier,
      redirect_uri: REDIRECT_URI,
      client_id: clientId,
    });
    expect(user.status).toBe(200);
    expect(user.body.access_token).toBeDefined();
  });
});
