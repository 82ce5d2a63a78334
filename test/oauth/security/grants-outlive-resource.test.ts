/**
 * Regression: grants outliving the resource they were issued for.
 *
 * Deleting a registered MCP server left its grants minting access tokens
 * for it, through refresh tokens that rotation renews indefinitely; and
 * because registration is first come, whoever registered the same URI next
 * (another owner) received tokens carrying scopes an owner had granted to
 * the previous registration. A grant redeems only while the registration
 * it was issued under still exists.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  approveWithPkce,
  call,
  exchangeCode,
  OAUTH,
  type ProvisionedServer,
  registerClient,
  registerOwner,
  registerResource,
  startProvisionedServer,
  tokenRequest,
} from "../helpers.ts";

const RESOURCE = "https://tools.example/mcp";

describe("a grant does not survive its resource's registration", () => {
  let t: ProvisionedServer;
  let clientId: string;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE);
    clientId = await registerClient(t.url);
  });
  afterAll(async () => {
    await t.stop();
  });

  const refresh = (refreshToken: string) =>
    tokenRequest(t.url, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId });

  const refreshTokenFor = async () => {
    const grant = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE });
    const exchanged = await exchangeCode(t.url, { ...grant, clientId });
    expect(exchanged.status).toBe(200);
    return exchanged.body.refresh_token as string;
  };

  test("after the owner deletes the resource, and after someone else registers its URI again: invalid_grant", async () => {
    const first = await refreshTokenFor();
    const second = await refreshTokenFor();
    const pendingCode = await approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE });

    const owned = await call(t.url, `${OAUTH}/resources`, {
      headers: { authorization: `Bearer ${t.owner.sessionToken}` },
    });
    const resourceId = owned.body.data.resources[0].resource_id;
    const deleted = await call(t.url, `${OAUTH}/resources/${resourceId}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${t.owner.sessionToken}` },
    });
    expect(deleted.status).toBe(204);

    const afterDelete = await refresh(first);
    expect(afterDelete.status).toBe(400);
    expect(afterDelete.body.error).toBe("invalid_grant");
    const lateCode = await exchangeCode(t.url, { ...pendingCode, clientId });
    expect(lateCode.body.error).toBe("invalid_grant");

    t.clock.advance(1000);
    await registerResource(t.url, await registerOwner(t.url), RESOURCE, ["mcp:tools"]);
    const afterTakeover = await refresh(second);
    expect(afterTakeover.status).toBe(400);
    expect(afterTakeover.body.error).toBe("invalid_grant");
    expect(afterTakeover.body.access_token).toBeUndefined();

    // A grant made under the new registration works.
    const fresh = await refresh(await refreshTokenFor());
    expect(fresh.status).toBe(200);
  });
});
