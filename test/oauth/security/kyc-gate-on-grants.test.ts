/**
 * Regression: OAUTH_MIN_OWNER_KYC_LEVEL ignored by the grant-based doors.
 *
 * The headless form, the agent self-approval and client credentials refuse
 * an agent whose owner is below the minimum, but a refresh token (renewed
 * on every rotation, so alive indefinitely) or a code already issued kept
 * minting access tokens for that agent after the operator lowered the
 * owner's level. The policy must hold at every mint.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KycLevel } from "../../../server/foundation/users/store.ts";
import {
  approveWithPkce,
  exchangeCode,
  type ProvisionedServer,
  registerClient,
  startProvisionedServer,
  tokenRequest,
} from "../helpers.ts";

const RESOURCE = "https://tools.example/mcp";

describe("the owner KYC minimum applies to codes and refresh tokens already issued", () => {
  let t: ProvisionedServer;
  let clientId: string;

  const setOwnerKyc = (level: KycLevel) =>
    t.server.context.users.users.setKycLevel(t.owner.ownerId, level, t.clock.now());

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE, { oauth: { minOwnerKycLevel: 2 } });
    clientId = await registerClient(t.url);
  });
  afterAll(async () => {
    await t.stop();
  });

  test("a refresh after the owner's level fell below the minimum → invalid_grant, no token", async () => {
    await setOwnerKyc(2);
    const grant = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE });
    const exchanged = await exchangeCode(t.url, { ...grant, clientId });
    expect(exchanged.status).toBe(200);

    await setOwnerKyc(1);
    const refreshed = await tokenRequest(t.url, {
      grant_type: "refresh_token",
      refresh_token: exchanged.body.refresh_token,
      client_id: clientId,
    });
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe("invalid_grant");
    expect(refreshed.body.access_token).toBeUndefined();
  });

  test("a code redeemed after the owner's level fell below the minimum → invalid_grant, no token", async () => {
    await setOwnerKyc(2);
    const grant = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE });

    await setOwnerKyc(0);
    const exchanged = await exchangeCode(t.url, { ...grant, clientId });
    expect(exchanged.status).toBe(400);
    expect(exchanged.body.error).toBe("invalid_grant");
    expect(exchanged.body.access_token).toBeUndefined();
  });
});
