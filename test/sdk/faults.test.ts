/**
 * The SDKs under faults, against a real server over real HTTP: the server
 * restarted mid-stream, the stream dropped before the approval, the JWKS
 * endpoint down after the first fetch, keys rotated between issue and
 * verify, clock skew inside and beyond tolerance, a flood of unknown kids.
 * Only the transport is tampered with (helpers/faulty-fetch.ts).
 */
import { describe, expect, test } from "bun:test";
import type { PassportContext } from "@lime-ts/core/passport";
import type { LoginOutcome } from "@lime-ts/sdk";
import { AgentClient, SiteClient, type SiteClientOptions } from "@lime-ts/sdk";
import { type FaultyFetch, faultyFetch } from "./helpers/faulty-fetch.ts";
import { tokenWithKid } from "./helpers/issuer.ts";
import { serverForFile } from "./helpers/server-for-file.ts";
import { siteClientsClosedAfterEach } from "./helpers/site-clients.ts";
import { until } from "./helpers/until.ts";

// Every test gets its own owner, site and agent (serverForFile), so no test sees another's login events.
const lime = serverForFile({ config: { sseKeepaliveMs: 1_000 } });

/** The running test's agent. */
function agent(): AgentClient {
  return new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
}

const JWKS_PATH = "/.well-known/jwks.json";

const closedAfterTest = siteClientsClosedAfterEach();

function siteWith(faulty: FaultyFetch, options: Partial<SiteClientOptions> = {}): SiteClient {
  const site = new SiteClient({
    baseUrl: lime.server.url,
    siteToken: lime.ids.siteToken,
    siteId: lime.ids.siteId,
    fetch: faulty.fetch,
    ...options,
    events: { pollIntervalMs: 200, reconnectBaseMs: 50, reconnectMaxMs: 500, ...options.events },
  });
  return closedAfterTest(site);
}

/** A site whose unknown-kid refetches wait 30 s on a clock only `passCooldown()` moves. */
function siteWithKidCooldown(faulty: FaultyFetch) {
  let now = Date.now();
  const site = siteWith(faulty, { now: () => now, jwks: { cooldownMs: 30_000 } });
  return {
    site,
    passCooldown: () => {
      now += 30_000;
    },
  };
}

/**
 * One login through `site` as a site runs it: the site creates a request and
 * starts waiting before the agent approves. `passport` is the site's wait: the
 * verified passport, or the error its verification ended in.
 */
async function login(site: SiteClient): Promise<{ requestId: string; passport: Promise<PassportContext> }> {
  const { requestId } = await site.createLoginRequest();
  const passport = site.waitForLogin(requestId, { timeout: 10_000 });
  // Handled here as well: if the approval below throws, the caller never awaits
  // the wait, and its rejection at close() must fail this test, not the next one.
  passport.catch(() => {});
  await agent().login(requestId);
  return { requestId, passport };
}

/** A site on a tampered transport with one onLogin handler that collects the outcomes. */
function listeningSite() {
  const faulty = faultyFetch();
  const site = siteWith(faulty);
  const outcomes: LoginOutcome[] = [];
  const subscription = site.onLogin((outcome) => {
    outcomes.push(outcome);
  });
  return { faulty, site, outcomes, subscription };
}

describe("event stream faults", () => {
  test("server restarted mid-stream: the outcome of a request created before the restart still arrives, once", async () => {
    const { faulty, site, outcomes, subscription } = listeningSite();
    await until(() => site.events.connected);
    const created = await site.createLoginRequest();
    await lime.server.restart();
    await agent().login(created.requestId);
    await until(() => outcomes.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ type: "approved", requestId: created.requestId });
    await until(() => site.events.connected);
    expect(faulty.count("/agent-login/events")).toBeGreaterThanOrEqual(2);
    await subscription.stop();
  });

  test("stream dropped before the approval: the reconnect resumes with Last-Event-ID", async () => {
    const { faulty, site, outcomes, subscription } = listeningSite();
    const first = await site.createLoginRequest();
    await agent().login(first.requestId);
    await until(() => outcomes.length === 1);
    const lastId = site.events.lastEventId;
    expect(lastId).toBeDefined();
    faulty.dropStreams();
    const second = await site.createLoginRequest();
    await agent().login(second.requestId);
    await until(() => outcomes.length === 2);
    expect(outcomes[1]).toMatchObject({ type: "approved", requestId: second.requestId });
    // The reconnect (after the server's `retry:`, capped by reconnectMaxMs) carries the last id.
    await until(() => faulty.lastEventIds.length >= 2);
    expect(faulty.lastEventIds[1]).toBe(lastId);
    await subscription.stop();
  });

  test("stream dropped and refused afterwards: the outcome arrives by polling the request status", async () => {
    const { faulty, site, outcomes, subscription } = listeningSite();
    await until(() => site.events.connected);
    const created = await site.createLoginRequest();
    faulty.refuseStreams = true;
    faulty.dropStreams();
    // The approval must happen while the site has no stream, or it could not arrive by polling.
    await until(() => !site.events.connected);
    await agent().login(created.requestId);
    await until(() => outcomes.length > 0);
    expect(outcomes[0]).toMatchObject({ type: "approved", requestId: created.requestId, via: "poll" });
    expect(site.events.connected).toBe(false);
    await subscription.stop();
  });

  test("stop() closes the stream and rejects a pending wait with SDK_STOPPED", async () => {
    const site = siteWith(faultyFetch());
    const created = await site.createLoginRequest();
    // Handled from the start: close() rejects it before close() itself resolves, and a rejection
    // nobody handles yet while close() awaits the stream is reported as unhandled.
    const waiting = site.waitForLogin(created.requestId).catch((error: unknown) => error);
    await until(() => site.events.connected);
    await site.close();
    expect(await waiting).toMatchObject({ code: "SDK_STOPPED" });
    expect(site.events.connected).toBe(false);
  });

  test("waitForLogin honours its timeout and its signal", async () => {
    const site = siteWith(faultyFetch());
    const created = await site.createLoginRequest();
    await expect(site.waitForLogin(created.requestId, { timeout: 100 })).rejects.toMatchObject({
      code: "SDK_TIMEOUT",
    });
    const controller = new AbortController();
    const waiting = site.waitForLogin(created.requestId, { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: "SDK_ABORTED" });
    await site.close();
  });

  test("an unknown site token stops the consumer with SITE_TOKEN_INVALID instead of retrying forever", async () => {
    const faulty = faultyFetch();
    const site = siteWith(faulty, { siteToken: "lime_site_nope" });
    const errors: Error[] = [];
    const subscription = site.onLogin(() => {}, { onError: (error) => errors.push(error) });
    await until(() => errors.length > 0);
    expect(errors[0]).toMatchObject({ code: "SITE_TOKEN_INVALID", status: 401 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(faulty.count("/agent-login/events")).toBe(1);
    await subscription.stop();
  });
});

describe("verification faults", () => {
  test("JWKS endpoint down after the first fetch: logins keep verifying from the cached keys", async () => {
    const faulty = faultyFetch();
    // maxTtlMs 0: the key set is stale at once, so every verification tries a background refresh.
    const site = siteWith(faulty, { jwks: { minTtlMs: 0, maxTtlMs: 0, retryAfterFailureMs: 0 } });
    await (await login(site)).passport;
    faulty.jwksDown = true;
    for (let i = 0; i < 3; i++) {
      const { requestId, passport } = await login(site);
      expect((await passport).requestId).toBe(requestId);
    }
    expect(site.verifier.jwks.stats.failures).toBeGreaterThan(0);
    await site.close();
  });

  test("key rotated between issue and verify: the retired key still verifies what it signed", async () => {
    const site = siteWith(faultyFetch());
    const created = await site.createLoginRequest();
    await agent().login(created.requestId);
    await lime.server.rotateKeys();
    // The site first meets the key set after the rotation; the passport was signed before it.
    const passport = await site.waitForLogin(created.requestId, { timeout: 10_000 });
    expect(passport.requestId).toBe(created.requestId);
    await site.close();
  });

  test("rotation after the site cached the keys: the pre-published next key verifies without a refetch", async () => {
    const faulty = faultyFetch();
    const site = siteWith(faulty);
    await (await login(site)).passport;
    const fetchesBefore = faulty.count(JWKS_PATH);
    const { current_kid } = await lime.server.rotateKeys();
    await (await login(site)).passport;
    expect(faulty.count(JWKS_PATH)).toBe(fetchesBefore);
    expect(site.verifier.jwks.kids).toContain(current_kid);
    await site.close();
  });

  test("two rotations past the cached set: one refetch on the unknown kid, once the cooldown allows", async () => {
    const faulty = faultyFetch();
    const { site, passCooldown } = siteWithKidCooldown(faulty);
    await (await login(site)).passport;
    const fetchesBefore = faulty.count(JWKS_PATH);
    await lime.server.rotateKeys();
    await lime.server.rotateKeys();
    // Within the cooldown the unknown kid is refused without asking the issuer.
    await expect((await login(site)).passport).rejects.toMatchObject({ code: "PASSPORT_UNKNOWN_KID" });
    expect(faulty.count(JWKS_PATH)).toBe(fetchesBefore);
    passCooldown();
    const passport = await (await login(site)).passport;
    expect(passport.agentId).toBe(lime.ids.agentId);
    expect(faulty.count(JWKS_PATH)).toBe(fetchesBefore + 1);
    await site.close();
  });

  test("clock skew inside the tolerance is accepted; beyond it the login is rejected with the core's code", async () => {
    for (const [skewMs, expected] of [
      [-20_000, "ok"],
      [20_000, "ok"],
      [-45_000, "PASSPORT_NOT_YET_VALID"],
      // Login passports live 60 s here; 100 s ahead is past exp + 30 s tolerance.
      [100_000, "PASSPORT_EXPIRED"],
    ] as const) {
      const site = siteWith(faultyFetch(), { now: () => Date.now() + skewMs, clockToleranceSec: 30 });
      const { requestId, passport } = await login(site);
      if (expected === "ok") expect((await passport).requestId).toBe(requestId);
      else await expect(passport).rejects.toMatchObject({ code: expected });
      await site.close();
    }
  });

  test("a flood of unknown kids reaches the issuer at most once per cooldown", async () => {
    const faulty = faultyFetch();
    const { site, passCooldown } = siteWithKidCooldown(faulty);
    await (await login(site)).passport;
    expect(faulty.count(JWKS_PATH)).toBe(1);
    const flood = Array.from({ length: 2000 }, () => tokenWithKid(crypto.randomUUID()));
    const verify = (token: string) => site.verifier.verify(token, { audience: "lime-passport" });
    const results = await Promise.allSettled(flood.map(verify));
    expect(results.every((r) => r.status === "rejected" && r.reason.code === "PASSPORT_UNKNOWN_KID")).toBe(
      true,
    );
    expect(faulty.count(JWKS_PATH)).toBe(1);
    passCooldown();
    await Promise.allSettled(flood.map(verify));
    expect(faulty.count(JWKS_PATH)).toBe(2);
    await site.close();
  });
});
