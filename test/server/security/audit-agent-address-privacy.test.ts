/**
 * Regression: approvals and rejected approvals were audited for both the
 * agent's owner and the site's owner with the agent's network address, so a
 * site owner collected the addresses of other people's agents (failed
 * attempts included) from its own audit log. The site owner's copy now
 * carries no address; the agent owner's copy keeps it.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Provisioned, startTestServer, type TestServer } from "../../../server/testing.ts";
import { api, solvePow, wrongNonce } from "../helpers.ts";

const REQUESTS = "/api/v1/modules/agent-login/requests";

let t: TestServer;
let site: Provisioned;
let agentOwner: { sessionToken: string };
let agentToken: string;

beforeAll(async () => {
  t = await startTestServer();
  site = await t.provision();
  agentOwner = await t.registerOwner();
  const agent = await api(t.url, "/api/v1/core/agents/register", {
    method: "POST",
    headers: { authorization: `Bearer ${agentOwner.sessionToken}` },
    json: { display_name: "Someone else's agent" },
  });
  agentToken = agent.body.data.agent_token;
});
afterAll(async () => {
  await t.stop();
});

async function auditOf(sessionToken: string, action: string) {
  const page = await api(t.url, "/api/v1/foundation/audit?limit=200", {
    headers: { authorization: `Bearer ${sessionToken}` },
  });
  expect(page.status).toBe(200);
  // biome-ignore lint/suspicious/noExplicitAny: audit events are JSON
  return page.body.data.events.filter((event: any) => event.action === action);
}

describe("the agent's address stays with the agent's owner", () => {
  test("rejected and successful approvals reach the site owner without the agent's address", async () => {
    const created = await api(t.url, REQUESTS, {
      method: "POST",
      headers: { "x-site-token": site.siteToken },
      json: {},
    });
    const id = created.body.data.login_request_id as string;
    const challenge = (await api(t.url, `/api/v1/auth/requests/${id}`)).body.data;
    const approve = (nonce: string) =>
      api(t.url, `${REQUESTS}/${id}/approve`, {
        method: "POST",
        headers: { "x-agent-token": agentToken },
        json: { pow_nonce: nonce },
      });
    expect((await approve(wrongNonce(challenge.pow_challenge, challenge.pow_difficulty))).status).toBe(400);
    expect((await approve(await solvePow(challenge.pow_challenge, challenge.pow_difficulty))).status).toBe(
      200,
    );

    for (const action of ["login_request.approval_rejected", "login_request.approved"]) {
      const siteSide = await auditOf(site.sessionToken, action);
      const agentSide = await auditOf(agentOwner.sessionToken, action);
      expect(siteSide).toHaveLength(1);
      expect(agentSide).toHaveLength(1);
      expect(siteSide[0].ip).toBeNull();
      expect(agentSide[0].ip).toBe("127.0.0.1");
    }
  });
});
