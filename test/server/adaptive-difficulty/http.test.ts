/**
 * The adaptive difficulty over HTTP (docs/adaptive-difficulty.md): what the
 * challenge carries under a flood, per address after failures, once calm;
 * the site API's policy fields; `/metrics`. Addresses come from
 * X-Forwarded-For through a trusted proxy; the clock is the test server's.
 */

import { describe, expect, test } from "bun:test";
import * as pow from "@lime-ts/core/pow";
import type { FakeClock, TestServer } from "../../../server/testing.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { api, withTestServer, wrongNonce } from "../helpers.ts";
import { METRICS_TOKEN, sample, scrape } from "../operations/support.ts";

const REQUESTS = "/api/v1/modules/agent-login/requests";
const SITES = "/api/v1/foundation/sites";
const FLOOR = 4;

const OPTIONS = {
  config: {
    trustProxy: true,
    rateLimits: {
      loginRequestsPerMinute: 10_000,
      challengeFetchesPerMinute: 10_000,
      approvalsPerMinute: 10_000,
    },
    metrics: { token: METRICS_TOKEN, port: null, host: "127.0.0.1" },
  },
};

const from = (address: string) => ({ "x-forwarded-for": address });

async function addSite(t: TestServer, sessionToken: string, body: Record<string, unknown> = {}) {
  const response = await api(t.url, `${SITES}/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${sessionToken}` },
    json: { display_name: "Another shop", pow_difficulty: FLOOR, ...body },
  });
  expect(response.status).toBe(201);
  return response.body.data as { site_id: string; site_token: string };
}

async function open(t: TestServer, siteToken: string) {
  const created = await api(t.url, REQUESTS, {
    method: "POST",
    headers: { "x-site-token": siteToken },
    json: {},
  });
  expect(created.status).toBe(201);
  return created.body.data as { login_request_id: string; pow_difficulty: number };
}

async function challenge(t: TestServer, id: string, address: string) {
  const fetched = await api(t.url, `/api/v1/auth/requests/${id}`, { headers: from(address) });
  expect(fetched.status).toBe(200);
  return fetched.body.data as { pow_challenge: string; pow_difficulty: number };
}

function approve(t: TestServer, id: string, agentToken: string, nonce: string, address: string) {
  return api(t.url, `${REQUESTS}/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": agentToken, ...from(address) },
    json: { pow_nonce: nonce },
  });
}

/** A nonce meeting `easier` bits but not `harder` ones. */
function nonceBetween(challenge: string, easier: number, harder: number): string {
  for (let nonce = 0; ; nonce++) {
    const candidate = String(nonce);
    if (pow.verify(challenge, easier, candidate) && !pow.verify(challenge, harder, candidate))
      return candidate;
  }
}

async function listSites(t: TestServer, sessionToken: string) {
  const listed = await api(t.url, SITES, { headers: { authorization: `Bearer ${sessionToken}` } });
  expect(listed.status).toBe(200);
  return listed.body.data.sites as Array<Record<string, unknown>>;
}

describe("adaptive difficulty over HTTP", () => {
  test(
    "a flood of one site's login requests raises the difficulty its challenges carry; another site keeps its floor",
    async () => {
      await withTestServer(OPTIONS, async (t) => {
        const flooded = await t.provision({ powDifficulty: FLOOR });
        const calm = await addSite(t, flooded.sessionToken);
        const first = await open(t, flooded.siteToken);
        expect(first.pow_difficulty).toBe(FLOOR);
        let last = first;
        for (let i = 0; i < 130; i++) last = await open(t, flooded.siteToken);
        // 131 requests in one instant: two doublings above 30 a minute, and a third begun.
        expect(last.pow_difficulty).toBe(FLOOR + 3);
        expect((await challenge(t, last.login_request_id, "192.0.2.10")).pow_difficulty).toBe(FLOOR + 3);
        // The first request keeps the difficulty it was opened with.
        expect((await challenge(t, first.login_request_id, "192.0.2.10")).pow_difficulty).toBe(FLOOR);

        const other = await open(t, calm.site_token);
        expect(other.pow_difficulty).toBe(FLOOR);
        expect((await challenge(t, other.login_request_id, "192.0.2.11")).pow_difficulty).toBe(FLOOR);

        const sites = await listSites(t, flooded.sessionToken);
        const floodedView = sites.find((s) => s.site_id === flooded.siteId)!;
        expect(floodedView).toMatchObject({
          pow_difficulty: FLOOR,
          pow_difficulty_max: FLOOR + 4,
          pow_surge_per_minute: 30,
          pow_difficulty_current: FLOOR + 3,
        });
        expect(sites.find((s) => s.site_id === calm.site_id)).toMatchObject({
          pow_difficulty_current: FLOOR,
        });

        // Calm for five minutes: back to the floor.
        (t.clock as FakeClock).advance(5 * 60_000);
        expect((await open(t, flooded.siteToken)).pow_difficulty).toBe(FLOOR);
      });
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("a site's ceiling bounds the rise, and a ceiling equal to the floor keeps it fixed", async () => {
    await withTestServer(OPTIONS, async (t) => {
      const owner = await t.registerOwner();
      const capped = await addSite(t, owner.sessionToken, { pow_difficulty_max: FLOOR + 1 });
      const fixed = await addSite(t, owner.sessionToken, { pow_difficulty_max: FLOOR });
      const sensitive = await addSite(t, owner.sessionToken, { pow_surge_per_minute: 1 });
      let cappedLast = 0;
      let fixedLast = 0;
      for (let i = 0; i < 200; i++) {
        cappedLast = (await open(t, capped.site_token)).pow_difficulty;
        fixedLast = (await open(t, fixed.site_token)).pow_difficulty;
      }
      expect(cappedLast).toBe(FLOOR + 1);
      expect(fixedLast).toBe(FLOOR);
      // A surge rate of one a minute: the second request in a minute is already above it.
      expect((await open(t, sensitive.site_token)).pow_difficulty).toBe(FLOOR);
      expect((await open(t, sensitive.site_token)).pow_difficulty).toBe(FLOOR + 1);
    });
  });

  test("wrong nonces from one address raise that address's next challenges, not another address's", async () => {
    await withTestServer(OPTIONS, async (t) => {
      const p = await t.provision({ powDifficulty: FLOOR });
      const bad = "198.51.100.7";
      const good = "203.0.113.9";
      for (let i = 0; i < 3; i++) {
        const { login_request_id: id } = await open(t, p.siteToken);
        const shown = await challenge(t, id, bad);
        const refused = await approve(
          t,
          id,
          p.agentToken,
          wrongNonce(shown.pow_challenge, shown.pow_difficulty),
          bad,
        );
        expect(refused.status).toBe(400);
        expect(refused.body.error.code).toBe("INVALID_POW");
      }
      const next = await open(t, p.siteToken);
      expect(next.pow_difficulty).toBe(FLOOR);
      // Three failures: two bits more for the failing address when it fetches.
      const shownToBad = await challenge(t, next.login_request_id, bad);
      expect(shownToBad.pow_difficulty).toBe(FLOOR + 2);
      const forGood = await open(t, p.siteToken);
      expect((await challenge(t, forGood.login_request_id, good)).pow_difficulty).toBe(FLOOR);

      // The approval is checked against what was shown: the floor's work is not enough, the raised one is.
      const cheap = nonceBetween(shownToBad.pow_challenge, FLOOR, FLOOR + 2);
      expect((await approve(t, next.login_request_id, p.agentToken, cheap, bad)).body.error.code).toBe(
        "INVALID_POW",
      );
      const solved = await pow.solve(shownToBad.pow_challenge, FLOOR + 2);
      expect((await approve(t, next.login_request_id, p.agentToken, solved.nonce, bad)).status).toBe(200);
    });
  });

  test("the first fetch fixes the difficulty: a later fetch from a failing address sees the same number", async () => {
    await withTestServer(OPTIONS, async (t) => {
      const p = await t.provision({ powDifficulty: FLOOR });
      const bad = "198.51.100.8";
      for (let i = 0; i < 3; i++) {
        const { login_request_id: id } = await open(t, p.siteToken);
        const shown = await challenge(t, id, bad);
        await approve(t, id, p.agentToken, wrongNonce(shown.pow_challenge, shown.pow_difficulty), bad);
      }
      const { login_request_id: id } = await open(t, p.siteToken);
      const first = await challenge(t, id, "203.0.113.10");
      expect(first.pow_difficulty).toBe(FLOOR);
      expect((await challenge(t, id, bad)).pow_difficulty).toBe(FLOOR);
      const solved = await pow.solve(first.pow_challenge, FLOOR);
      expect((await approve(t, id, p.agentToken, solved.nonce, "203.0.113.10")).status).toBe(200);
    });
  });

  test("a shown challenge left to expire counts against the address it was shown to", async () => {
    await withTestServer(OPTIONS, async (t) => {
      const p = await t.provision({ powDifficulty: FLOOR });
      const idle = "198.51.100.9";
      const { login_request_id: abandoned } = await open(t, p.siteToken);
      await challenge(t, abandoned, idle);
      const { login_request_id: neverFetched } = await open(t, p.siteToken);
      (t.clock as FakeClock).advance(t.config.lifetimes.loginRequestMs + 1);
      // Reading an overdue request expires it (and every other overdue one).
      const expired = await api(t.url, `/api/v1/auth/requests/${abandoned}`, { headers: from(idle) });
      expect(expired.body.error.code).toBe("REQUEST_EXPIRED");
      expect((await api(t.url, `/api/v1/auth/requests/${neverFetched}`)).body.error.code).toBe(
        "REQUEST_EXPIRED",
      );
      const next = await open(t, p.siteToken);
      expect((await challenge(t, next.login_request_id, idle)).pow_difficulty).toBe(FLOOR + 1);
      const other = await open(t, p.siteToken);
      expect((await challenge(t, other.login_request_id, "203.0.113.11")).pow_difficulty).toBe(FLOOR);
    });
  });

  test("the policy is set on registration and PATCH: null is the default, a ceiling below the floor is refused", async () => {
    await withTestServer(OPTIONS, async (t) => {
      const owner = await t.registerOwner();
      const auth = { authorization: `Bearer ${owner.sessionToken}` };
      const refused = await api(t.url, `${SITES}/register`, {
        method: "POST",
        headers: auth,
        json: { display_name: "Shop", pow_difficulty: 16, pow_difficulty_max: 15 },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe("VALIDATION_FAILED");

      const site = await addSite(t, owner.sessionToken, {
        pow_difficulty: 10,
        pow_difficulty_max: 12,
        pow_surge_per_minute: 600,
      });
      const patch = (json: Record<string, unknown>) =>
        api(t.url, `${SITES}/${site.site_id}`, { method: "PATCH", headers: auth, json });
      expect((await patch({ pow_difficulty_max: 9 })).body.error.code).toBe("VALIDATION_FAILED");
      expect((await patch({ pow_difficulty: 13, pow_difficulty_max: 12 })).body.error.code).toBe(
        "VALIDATION_FAILED",
      );
      // LIME's clients set only the floor: raising it above the ceiling is accepted and lifts the ceiling.
      const lifted = await patch({ pow_difficulty: 14 });
      expect(lifted.status).toBe(200);
      expect(lifted.body.data).toMatchObject({
        pow_difficulty: 14,
        pow_difficulty_max: 14,
        pow_surge_per_minute: 600,
      });
      const reset = await patch({ pow_difficulty_max: null, pow_surge_per_minute: null });
      expect(reset.body.data).toMatchObject({
        pow_difficulty: 14,
        pow_difficulty_max: 18,
        pow_surge_per_minute: 30,
      });
      expect((await patch({ pow_difficulty_max: 32 })).body.data.pow_difficulty_max).toBe(32);
      expect((await patch({ pow_difficulty_max: 33 })).status).toBe(400);
      expect((await patch({ pow_surge_per_minute: 0 })).status).toBe(400);
    });
  });

  test("/metrics counts raises by cause and the difficulty challenges were shown at", async () => {
    await withTestServer(OPTIONS, async (t) => {
      const p = await t.provision({ powDifficulty: FLOOR });
      const { login_request_id: id } = await open(t, p.siteToken);
      const shown = await challenge(t, id, "198.51.100.20");
      await approve(
        t,
        id,
        p.agentToken,
        wrongNonce(shown.pow_challenge, shown.pow_difficulty),
        "198.51.100.20",
      );
      for (let i = 0; i < 40; i++) await open(t, p.siteToken);
      const raised = await open(t, p.siteToken);
      await challenge(t, raised.login_request_id, "198.51.100.20");
      const text = await scrape(t.url);
      expect(sample(text, "lime_pow_difficulty_raises_total", { cause: "site_load" })).toBeGreaterThanOrEqual(
        1,
      );
      expect(sample(text, "lime_pow_difficulty_raises_total", { cause: "address_failures" })).toBe(1);
      expect(sample(text, "lime_pow_challenge_difficulty_count")).toBe(2);
      expect(sample(text, "lime_pow_challenge_difficulty_bucket", { le: "8" })).toBe(2);
    });
  });
});
