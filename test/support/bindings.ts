/**
 * Agent Binding in tests: a site with a registered origin, and the hosted
 * connect page's two actions, taken through the service functions the page
 * calls (the page itself is built elsewhere), as a signed-in owner would.
 */
import type { UserRecord } from "../../server/foundation/users/store.ts";
import {
  type ApprovedBinding,
  approveBinding,
  type DeniedBinding,
  denyBinding,
} from "../../server/modules/bindings/service.ts";
import type { Provisioned, TestServer } from "../../server/testing.ts";

/** Registers `origin` for the provisioned site (PATCH as its owner); bindings need one. */
export async function setSiteOrigin(t: TestServer, p: Provisioned, origin: string | null): Promise<void> {
  const response = await fetch(`${t.url}/api/v1/foundation/sites/${p.siteId}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${p.sessionToken}`, "content-type": "application/json" },
    body: JSON.stringify({ origin }),
  });
  if (response.status !== 200) throw new Error(`setting the origin failed: ${await response.text()}`);
}

export async function ownerRecord(t: TestServer, ownerId: string): Promise<UserRecord> {
  const owner = await t.server.context.users.users.findById(ownerId);
  if (!owner) throw new Error(`no owner ${ownerId}`);
  return owner;
}

/** The user signed in as `p`'s owner picks `agentId` (default `p`'s agent) on the connect page. */
export async function pickAgent(
  t: TestServer,
  bindingId: string,
  p: Pick<Provisioned, "ownerId" | "agentId">,
  agentId = p.agentId,
): Promise<ApprovedBinding> {
  return approveBinding(t.server.context.bindings, {
    bindingId,
    owner: await ownerRecord(t, p.ownerId),
    agentId,
    ip: "203.0.113.7",
  });
}

/** The user declines on the connect page, signed in as `p`'s owner or (null) not signed in. */
export async function decline(
  t: TestServer,
  bindingId: string,
  p: Pick<Provisioned, "ownerId"> | null,
): Promise<DeniedBinding> {
  return denyBinding(t.server.context.bindings, {
    bindingId,
    owner: p === null ? null : await ownerRecord(t, p.ownerId),
    ip: "203.0.113.7",
  });
}

/** The query parameters of the URL the browser is sent back to. */
export function callbackParams(redirectUrl: string): Record<string, string> {
  return Object.fromEntries(new URL(redirectUrl).searchParams);
}
