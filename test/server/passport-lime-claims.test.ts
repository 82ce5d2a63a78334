/**
 * LIME's site SDK README tells integrators to read `agent_id`, `user_id`,
 * `user_kyc_level`, `agent_reputation` and `request_id` from a passport.
 * Both kinds of passport we sign carry them, beside our own names, and
 * `verifyPassport` hands the reputation back.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { verifyPassport } from "@lime-ts/core/passport";
import type { Provisioned, TestServer } from "../../server/testing.ts";
import { api, solvePow, startProvisioned } from "./helpers.ts";

function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());
}

async function siteLoginPassport(t: TestServer, p: Provisioned): Promise<{ jwt: string; requestId: string }> {
  const created = await api(t.url, "/api/v1/modules/agent-login/requests", {
    method: "POST",
    headers: { "x-site-token": p.siteToken },
    json: {},
  });
  const requestId = created.body.data.login_request_id as string;
  const challenge = await api(t.url, `/api/v1/auth/requests/${requestId}`);
  const nonce = await solvePow(challenge.body.data.pow_challenge, challenge.body.data.pow_difficulty);
  const approved = await api(t.url, `/api/v1/modules/agent-login/requests/${requestId}/approve`, {
    method: "POST",
    headers: { "x-agent-token": p.agentToken },
    json: { pow_nonce: nonce },
  });
  expect(approved.status).toBe(200);
  const state = await api(t.url, `/api/v1/modules/agent-login/requests/${requestId}`, {
    headers: { "x-site-token": p.siteToken },
  });
  return { jwt: state.body.data.agent_passport_jwt as string, requestId };
}

describe("LIME's passport claims", () => {
  let t: TestServer;
  let p: Provisioned;
  let jwks: unknown;
  beforeAll(async () => {
    ({ t, p } = await startProvisioned());
    jwks = (await api(t.url, "/.well-known/jwks.json")).body;
  });
  afterAll(async () => {
    await t.stop();
  });

  test("a site-login passport carries agent_id, user_id, user_kyc_level, agent_reputation, request_id", async () => {
    const { jwt, requestId } = await siteLoginPassport(t, p);
    const claims = payloadOf(jwt);
    expect(claims).toMatchObject({
      sub: p.agentId,
      agent_id: p.agentId,
      user_id: p.ownerId,
      owner_kyc_level: 1,
      user_kyc_level: 1,
      agent_reputation: 0,
      request_id: requestId,
      site_id: p.siteId,
    });
    const passport = await verifyPassport(jwt, jwks as never, {
      issuer: t.config.publicUrl,
      audience: "lime-site-login",
      requestId,
      siteId: p.siteId,
    });
    expect(passport.agentReputation).toBe(0);
  });

  test("a self-service passport carries the same aliases", async () => {
    const issued = await api(t.url, "/api/v1/core/passports", {
      method: "POST",
      headers: { "x-agent-token": p.agentToken },
      json: {},
    });
    expect(issued.status).toBe(201);
    const claims = payloadOf(issued.body.data.passport as string);
    expect(claims.agent_id).toBe(p.agentId);
    expect(claims.agent_id).toBe(claims.sub as string);
    expect(claims.user_kyc_level).toBe(claims.owner_kyc_level as number);
    expect(Number.isInteger(claims.agent_reputation)).toBe(true);
    expect(claims.request_id).toBeUndefined();
  });
});
