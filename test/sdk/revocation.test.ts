/**
 * Revocation that reaches sites, end to end against a live server: an agent
 * logs in to a site, the site holds the still-unexpired passport, the owner
 * revokes (the agent, its token, a binding), and the site SDK refuses the
 * passport with PASSPORT_REVOKED, learning it from its event stream (the
 * list's poll interval set to an hour, so only the stream can teach it) or
 * from the polled list (a bare verifier with a short interval, no stream).
 */
import { describe, expect, test } from "bun:test";
import {
  AgentClient,
  createPassportGuard,
  PassportVerifier,
  passportChallenge,
  type RevocationEntry,
  SiteClient,
  type SiteClientOptions,
} from "@lime-ts/sdk";
import type { Provisioned } from "../../server/testing.ts";
import { callbackParams, pickAgent, setSiteOrigin } from "../support/bindings.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";
import { serverForFile } from "./helpers/server-for-file.ts";
import { siteClientsClosedAfterEach } from "./helpers/site-clients.ts";
import { until } from "./helpers/until.ts";

const lime = serverForFile();
const closedAfterTest = siteClientsClosedAfterEach();
const HOUR = 3_600_000;

function siteClient(ids: Provisioned, options: Partial<SiteClientOptions> = {}) {
  return closedAfterTest(
    new SiteClient({ baseUrl: lime.server.url, siteToken: ids.siteToken, siteId: ids.siteId, ...options }),
  );
}

/** A verifier with no stream: it learns only from the list, polled every 20 ms. */
function pollingVerifier() {
  return new PassportVerifier({
    issuer: lime.server.url,
    audience: "lime-site-login",
    revocation: { pollIntervalMs: 20, retryAfterFailureMs: 0 },
  });
}

/** An agent's login to the site: the passport the site holds, and its request. */
async function login(site: SiteClient, agentToken: string) {
  const agent = new AgentClient({ baseUrl: lime.server.url, agentToken });
  const { requestId } = await site.createLoginRequest();
  const waiting = site.waitForLogin(requestId, { timeout: 20_000 });
  await agent.login(requestId);
  const passport = await waiting;
  const { passportJwt } = await site.getLoginRequest(requestId);
  return { requestId, passport, jwt: passportJwt! };
}

async function owner(ids: Provisioned, method: string, path: string) {
  const response = await fetch(`${lime.server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ids.sessionToken}` },
  });
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : ((await response.json()) as { data: Record<string, unknown> }).data;
}

async function refusal(run: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

/** Waits for the first second boundary after `iat`: a rotation then cuts off passports issued at `iat`. */
async function nextSecondAfter(iat: number) {
  await until(() => Date.now() >= (iat + 1) * 1000 + 5, 3_000);
}

describe("revocation reaches the site SDK", () => {
  test(
    "agent revoked: the stream's revoked event makes verifyPassport refuse the held passport (PASSPORT_REVOKED)",
    async () => {
      const ids = await lime.server.provision({ powDifficulty: 4 });
      const site = siteClient(ids, { revocation: { pollIntervalMs: HOUR } });
      const heard: RevocationEntry[] = [];
      site.onRevoked((entry) => {
        heard.push(entry);
      });
      const { requestId, jwt } = await login(site, ids.agentToken);
      expect((await site.verifyPassport(jwt, { requestId })).agentId).toBe(ids.agentId);

      await owner(ids, "DELETE", `/api/v1/core/agents/${ids.agentId}`);
      await until(() => heard.length > 0);
      expect(heard[0]).toEqual({ kind: "agent", agentId: ids.agentId, at: expect.any(Number) });
      expect(await refusal(() => site.verifyPassport(jwt, { requestId }))).toBe("PASSPORT_REVOKED");
      // From the stream alone: the list was fetched once, before the revocation.
      expect(site.verifier.revocations!.stats.requests).toBe(1);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "agent revoked: a verifier without a stream refuses within its poll interval",
    async () => {
      const ids = await lime.server.provision({ powDifficulty: 4 });
      const site = siteClient(ids, { revocation: { enabled: false } });
      const { requestId, jwt } = await login(site, ids.agentToken);
      const verifier = pollingVerifier();
      const bound = { requestId, siteId: ids.siteId };
      expect((await verifier.verify(jwt, bound)).agentId).toBe(ids.agentId);

      await owner(ids, "DELETE", `/api/v1/core/agents/${ids.agentId}`);
      expect(await eventually(() => refusal(() => verifier.verify(jwt, bound)))).toBe("PASSPORT_REVOKED");
      expect(verifier.revocations!.stats.pushed).toBe(0);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "agent token rotated: passports issued before are refused, by stream and by list; one issued after is accepted",
    async () => {
      const ids = await lime.server.provision({ powDifficulty: 4 });
      const site = siteClient(ids, { revocation: { pollIntervalMs: HOUR } });
      const heard: RevocationEntry[] = [];
      site.onRevoked((entry) => {
        heard.push(entry);
      });
      const before = await login(site, ids.agentToken);
      const verifier = pollingVerifier();
      const boundBefore = { requestId: before.requestId, siteId: ids.siteId };
      expect((await verifier.verify(before.jwt, boundBefore)).agentId).toBe(ids.agentId);
      await nextSecondAfter(before.passport.issuedAt);

      const rotated = await owner(ids, "POST", `/api/v1/core/agents/${ids.agentId}/token`);
      await until(() => heard.length > 0);
      expect(heard[0]).toMatchObject({ kind: "agent_token", agentId: ids.agentId });
      expect(await refusal(() => site.verifyPassport(before.jwt, { requestId: before.requestId }))).toBe(
        "PASSPORT_REVOKED",
      );
      await until(() => verifier.revocations!.listIssuedAt !== undefined);
      expect(await eventually(() => refusal(() => verifier.verify(before.jwt, boundBefore)))).toBe(
        "PASSPORT_REVOKED",
      );

      const after = await login(site, String(rotated!.agent_token));
      expect((await site.verifyPassport(after.jwt, { requestId: after.requestId })).agentId).toBe(
        ids.agentId,
      );
      const boundAfter = { requestId: after.requestId, siteId: ids.siteId };
      expect((await verifier.verify(after.jwt, boundAfter)).agentId).toBe(ids.agentId);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "binding revoked: its binding passport is refused, by stream and by list; the agent's login passports are not",
    async () => {
      const ids = await lime.server.provision({ powDifficulty: 4 });
      await setSiteOrigin(lime.server, ids, "https://shop.example");
      const site = siteClient(ids, { revocation: { pollIntervalMs: HOUR } });
      const heard: RevocationEntry[] = [];
      site.onRevoked((entry) => {
        heard.push(entry);
      });
      const created = await site.createBindingRequest({ redirectUri: "https://shop.example/lime/callback" });
      const { redirectUrl } = await pickAgent(lime.server, created.bindingId, ids);
      const passport = callbackParams(redirectUrl).passport!;
      const { requestId, jwt } = await login(site, ids.agentToken);
      const verifier = new PassportVerifier({
        issuer: lime.server.url,
        revocation: { pollIntervalMs: 20, retryAfterFailureMs: 0 },
      });
      expect((await verifier.verifyBinding(passport)).bindingId).toBe(created.bindingId);
      expect((await site.verifyBindingPassport(passport)).bindingId).toBe(created.bindingId);

      await owner(ids, "POST", `/api/v1/modules/bindings/${created.bindingId}/revoke`);
      await until(() => heard.length > 0);
      expect(heard[0]).toEqual({ kind: "binding", bindingId: created.bindingId, at: expect.any(Number) });
      expect(await refusal(() => site.verifyBindingPassport(passport))).toBe("PASSPORT_REVOKED");
      expect(await eventually(() => refusal(() => verifier.verifyBinding(passport)))).toBe(
        "PASSPORT_REVOKED",
      );
      expect((await site.verifyPassport(jwt, { requestId })).agentId).toBe(ids.agentId);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "a guard (no stream) refuses a revoked agent's self-service passport: 401 PASSPORT_REVOKED",
    async () => {
      const ids = await lime.server.provision({ powDifficulty: 4 });
      const agent = new AgentClient({ baseUrl: lime.server.url, agentToken: ids.agentToken });
      const passport = await agent.passport({ audience: "https://shop.example" });
      const guard = createPassportGuard({
        issuer: lime.server.url,
        audience: "https://shop.example",
        revocation: { pollIntervalMs: 20, retryAfterFailureMs: 0 },
      });
      const request = () =>
        new Request("https://shop.example/api", { headers: { authorization: `AgentPassport ${passport}` } });
      expect((await guard(request())).agentId).toBe(ids.agentId);

      await owner(ids, "DELETE", `/api/v1/core/agents/${ids.agentId}`);
      expect(await eventually(() => refusal(() => guard(request())))).toBe("PASSPORT_REVOKED");
      const error = await guard(request()).catch((caught: unknown) => caught);
      const answer = passportChallenge(error, guard.realm);
      expect(answer.status).toBe(401);
      expect(await answer.json()).toMatchObject({ error: { code: "PASSPORT_REVOKED" } });
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "a site that connects after the revocation gets the event replayed (offline delivery)",
    async () => {
      const ids = await lime.server.provision({ powDifficulty: 4 });
      const first = siteClient(ids, { revocation: { enabled: false } });
      const { requestId, jwt } = await login(first, ids.agentToken);
      await first.close();
      await owner(ids, "DELETE", `/api/v1/core/agents/${ids.agentId}`);

      const later = siteClient(ids, { revocation: { pollIntervalMs: HOUR } });
      // Its list is fetched now, with the entry: turn to the stream by looking at what it heard.
      const heard: RevocationEntry[] = [];
      later.onRevoked((entry) => {
        heard.push(entry);
      });
      await until(() => heard.length > 0);
      expect(heard[0]).toMatchObject({ kind: "agent", agentId: ids.agentId });
      expect(await refusal(() => later.verifyPassport(jwt, { requestId }))).toBe("PASSPORT_REVOKED");
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});

/** Retries `probe` (every 10 ms, up to 5 s) until it gives a defined value. */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
