/**
 * Reputation with a meaning (docs/decisions/agent-reputation.md): computed
 * from the agent's login history by the maintenance sweep, kept on the agent
 * row, shown with what it is made of in the owner's agent list, and carried
 * by the next passport. Time moves on a FakeClock; `maintain()` is the sweep.
 */

import { describe, expect, test } from "bun:test";
import { computeReputation, REPUTATION_RULES } from "../../server/core/agents/reputation.ts";
import { EMPTY_HISTORY } from "../../server/core/agents/store.ts";
import { FakeClock, type Provisioned, type TestServer } from "../../server/testing.ts";
import { api, solvePow, withTestServer, wrongNonce } from "./helpers.ts";

const DAY = 86_400_000;
/** Owner sessions outlive the weeks these tests move the clock by. */
const LONG_SESSIONS = { lifetimes: { sessionMs: 90 * DAY } };

async function openRequest(t: TestServer, siteToken: string): Promise<string> {
  const created = await api(t.url, "/api/v1/modules/agent-login/requests", {
    method: "POST",
    headers: { "x-site-token": siteToken },
    json: {},
  });
  return created.body.data.login_request_id as string;
}

async function challengeOf(t: TestServer, id: string) {
  const challenge = await api(t.url, `/api/v1/auth/requests/${id}`);
  return { challenge: challenge.body.data.pow_challenge, difficulty: challenge.body.data.pow_difficulty };
}

function approve(t: TestServer, id: string, agentToken: string, nonce: string) {
  return api(t.url, `/api/v1/modules/agent-login/requests/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": agentToken },
    json: { pow_nonce: nonce },
  });
}

async function logIn(t: TestServer, agentToken: string, siteToken: string): Promise<string> {
  const id = await openRequest(t, siteToken);
  const { challenge, difficulty } = await challengeOf(t, id);
  expect((await approve(t, id, agentToken, await solvePow(challenge, difficulty))).status).toBe(200);
  return id;
}

async function listed(t: TestServer, p: Provisioned) {
  const list = await api(t.url, "/api/v1/core/agents", {
    headers: { authorization: `Bearer ${p.sessionToken}` },
  });
  return list.body.data.agents.find((agent: { agent_id: string }) => agent.agent_id === p.agentId);
}

async function profileReputation(t: TestServer, agentToken: string): Promise<number> {
  const profile = await api(t.url, "/api/v1/core/agents/me/profile", {
    headers: { "x-agent-token": agentToken },
  });
  return profile.body.data.agent_reputation;
}

describe("the formula", () => {
  test("logins 2 each (≤ 40), sites 6 each (≤ 30), a point a day (≤ 30), −5 per rejection halving weekly", () => {
    const history = { ...EMPTY_HISTORY, successfulLogins: 3, distinctSites: 2, recentRejections: 1 };
    expect(computeReputation(history, 0, 0)).toEqual({
      score: 13,
      ageDays: 0,
      recentRejections: 1,
      points: { logins: 6, sites: 12, age: 0, rejections: -5 },
    });
    const later = computeReputation(history, 0, REPUTATION_RULES.rejectionHalfLifeMs);
    expect(later.points).toEqual({ logins: 6, sites: 12, age: 7, rejections: -3 });
    const veteran = { ...EMPTY_HISTORY, successfulLogins: 500, distinctSites: 50 };
    expect(computeReputation(veteran, 0, 400 * DAY).score).toBe(100);
    const abuser = { ...EMPTY_HISTORY, successfulLogins: 1, recentRejections: 40 };
    expect(computeReputation(abuser, 0, 0).score).toBe(0);
    expect(Object.is(computeReputation(EMPTY_HISTORY, 0, 0).points.rejections, 0)).toBe(true);
  });
});

describe("agent reputation on a running server", () => {
  test("a new agent is 0, computed by the sweep; the owner sees the score and what it is made of", async () => {
    await withTestServer({ clock: new FakeClock() }, async (t) => {
      const p = await t.provision();
      const before = await listed(t, p);
      expect(before.agent_reputation).toBe(0);
      expect(before.reputation).toEqual({
        score: 0,
        computed_at: null,
        successful_logins: 0,
        distinct_sites: 0,
        age_days: 0,
        recent_rejected_approvals: 0,
        points: { logins: 0, sites: 0, age: 0, rejections: 0 },
      });
      await t.server.maintain();
      expect((await listed(t, p)).reputation.computed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });
  });

  test("logins and distinct sites raise it; the profile, the list and the next passport agree", async () => {
    await withTestServer({ clock: new FakeClock() }, async (t) => {
      const p = await t.provision();
      const other = await t.provision();
      await logIn(t, p.agentToken, p.siteToken);
      await logIn(t, p.agentToken, p.siteToken);
      await logIn(t, p.agentToken, other.siteToken);
      // The counters move at once; the score on the next sweep.
      expect((await listed(t, p)).reputation).toMatchObject({ successful_logins: 3, distinct_sites: 2 });
      expect(await profileReputation(t, p.agentToken)).toBe(0);
      await t.server.maintain();
      const shown = await listed(t, p);
      expect(shown.agent_reputation).toBe(18);
      expect(shown.reputation).toMatchObject({
        score: 18,
        points: { logins: 6, sites: 12, age: 0, rejections: 0 },
      });
      expect(await profileReputation(t, p.agentToken)).toBe(18);

      const issued = await api(t.url, "/api/v1/core/passports", {
        method: "POST",
        headers: { "x-agent-token": p.agentToken },
        json: {},
      });
      const claims = JSON.parse(Buffer.from(issued.body.data.passport.split(".")[1], "base64url").toString());
      expect(claims.agent_reputation).toBe(18);
    });
  });

  test("a wrong proof of work counts against the agent and fades; a lost race does not count", async () => {
    const clock = new FakeClock();
    await withTestServer({ clock, config: LONG_SESSIONS }, async (t) => {
      const p = await t.provision();
      await logIn(t, p.agentToken, p.siteToken);
      const id = await openRequest(t, p.siteToken);
      const { challenge, difficulty } = await challengeOf(t, id);
      expect((await approve(t, id, p.agentToken, wrongNonce(challenge, difficulty))).status).toBe(400);
      const won = await logIn(t, p.agentToken, p.siteToken);
      // Approving an approved request again is 409 and no fault of the agent's.
      expect((await approve(t, won, p.agentToken, "1")).status).toBe(409);
      await t.server.maintain();
      const now = await listed(t, p);
      expect(now.reputation).toMatchObject({
        successful_logins: 2,
        distinct_sites: 1,
        recent_rejected_approvals: 1,
        points: { logins: 4, sites: 6, age: 0, rejections: -5 },
      });
      expect(now.agent_reputation).toBe(5);

      // A week on, the daily recomputation has aged the agent and halved the rejection.
      clock.advance(REPUTATION_RULES.rejectionHalfLifeMs);
      await t.server.maintain();
      const week = await listed(t, p);
      expect(week.reputation).toMatchObject({
        age_days: 7,
        recent_rejected_approvals: 0.5,
        points: { logins: 4, sites: 6, age: 7, rejections: -3 },
      });
      expect(week.agent_reputation).toBe(14);
    });
  });

  test("an approval after expiry counts; the sweep leaves a revoked agent's score where it was", async () => {
    const clock = new FakeClock();
    await withTestServer({ clock, config: LONG_SESSIONS }, async (t) => {
      const p = await t.provision();
      await logIn(t, p.agentToken, p.siteToken);
      await t.server.maintain();
      expect((await listed(t, p)).agent_reputation).toBe(8);
      const id = await openRequest(t, p.siteToken);
      const { challenge, difficulty } = await challengeOf(t, id);
      const nonce = await solvePow(challenge, difficulty);
      clock.advance(t.config.lifetimes.loginRequestMs + 1);
      expect((await approve(t, id, p.agentToken, nonce)).body.error.code).toBe("REQUEST_EXPIRED");
      await t.server.maintain();
      expect((await listed(t, p)).agent_reputation).toBe(3);

      await api(t.url, `/api/v1/core/agents/${p.agentId}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${p.sessionToken}` },
      });
      clock.advance(30 * DAY);
      await t.server.maintain();
      const revoked = await listed(t, p);
      expect(revoked.status).toBe("REVOKED");
      expect(revoked.agent_reputation).toBe(3);
    });
  });
});
