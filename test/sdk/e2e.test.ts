/**
 * End to end over real HTTP against a real server (createApp on a free
 * port, temporary SQLite): the agent SDK logs into a site that uses the
 * site SDK, and the site gets a verified PassportContext.
 */
import { describe, expect, test } from "bun:test";
import { createSolver, solve } from "@lime-ts/core/pow";
import type { LoginOutcome } from "@lime-ts/sdk";
import { AgentClient, LimeApiError, SiteClient } from "@lime-ts/sdk";
import { agentPassport } from "@lime-ts/sdk/elysia";
import { Elysia } from "elysia";
import { serverForFile } from "./helpers/server-for-file.ts";
import { siteClientsClosedAfterEach } from "./helpers/site-clients.ts";
import { until } from "./helpers/until.ts";

const lime = serverForFile();
const closedAfterTest = siteClientsClosedAfterEach();

function clients(siteOptions: Partial<ConstructorParameters<typeof SiteClient>[0]> = {}) {
  const agent = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
  const site = closedAfterTest(
    new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken, ...siteOptions }),
  );
  return { agent, site };
}

describe("agent login end to end", () => {
  test("createLoginRequest -> AgentClient.login -> waitForLogin gives the verified passport", async () => {
    const { agent, site } = clients();
    const created = await site.createLoginRequest();
    expect(created.status).toBe("PENDING");
    const waiting = site.waitForLogin(created.requestId, { timeout: 20_000 });
    const progress: number[] = [];
    const approval = await agent.login(created.requestId, {
      onProgress: ({ hashes }) => progress.push(hashes),
    });
    expect(approval).toMatchObject({
      requestId: created.requestId,
      siteId: lime.ids.siteId,
      approvedAgentId: lime.ids.agentId,
    });
    expect(approval.pow.difficulty).toBe(12);
    const passport = await waiting;
    expect(passport.agentId).toBe(lime.ids.agentId);
    expect(passport.requestId).toBe(created.requestId);
    expect(passport.siteId).toBe(lime.ids.siteId);
    expect(passport.issuer).toBe(lime.server.url);
    expect(passport.audience).toEqual(["lime-site-login"]);
    await site.close();
  });

  test("agents that log in often share a kept solver: every login approved, its nonce verified", async () => {
    const solver = createSolver({ workers: 2 });
    try {
      const site = closedAfterTest(
        new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken }),
      );
      const agent = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken, solver });
      for (let i = 0; i < 3; i++) {
        const created = await site.createLoginRequest();
        const challenge = await agent.getLoginChallenge(created.requestId);
        const waiting = site.waitForLogin(created.requestId, { timeout: 20_000 });
        const approval = await agent.login(created.requestId);
        // The server checked the nonce; this checks it is the smallest, as one thread finds.
        expect(approval.pow.nonce).toBe((await solve(challenge.powChallenge, challenge.powDifficulty)).nonce);
        expect((await waiting).requestId).toBe(created.requestId);
      }
      expect(
        () => new AgentClient({ baseUrl: lime.server.url, agentToken: "t", solver: {} as never }),
      ).toThrow("AgentClient: solver must be a solver from createSolver()");
    } finally {
      solver.close();
    }
  });

  test("onLogin dispatches each approval once, with the verified passport, to every handler", async () => {
    const { agent, site } = clients();
    const seen: LoginOutcome[] = [];
    const other: LoginOutcome[] = [];
    const subA = site.onLogin((outcome) => {
      seen.push(outcome);
    });
    const subB = site.onLogin((outcome) => {
      other.push(outcome);
    });
    const first = await site.createLoginRequest();
    const second = await site.createLoginRequest();
    await agent.login(first.requestId);
    await agent.login(second.requestId);
    await until(() => seen.length >= 2 && other.length >= 2);
    expect(seen.map((o) => o.type)).toEqual(["approved", "approved"]);
    expect(new Set(seen.map((o) => o.requestId))).toEqual(new Set([first.requestId, second.requestId]));
    for (const outcome of seen) {
      if (outcome.type !== "approved") throw new Error("expected approvals");
      expect(outcome.passport.agentId).toBe(lime.ids.agentId);
      expect(outcome.passport.requestId).toBe(outcome.requestId);
    }
    expect(other).toHaveLength(2);
    await subA.stop();
    await subB.stop();
    expect(site.events.connected).toBe(false);
  });

  test("a waitForLogin started after the approval still resolves (status endpoint)", async () => {
    const { agent, site } = clients({ siteId: lime.ids.siteId });
    const created = await site.createLoginRequest();
    await agent.login(created.requestId);
    const passport = await site.waitForLogin(created.requestId, { timeout: 10_000 });
    expect(passport.requestId).toBe(created.requestId);
    await site.close();
  });

  test("profile() and the typed rejection of a second approval", async () => {
    const { agent, site } = clients();
    const profile = await agent.profile();
    expect(profile).toMatchObject({ agentId: lime.ids.agentId, displayName: "Test agent" });
    const created = await site.createLoginRequest();
    await agent.login(created.requestId);
    const again = await agent.login(created.requestId).catch((error: unknown) => error);
    // The public challenge of an approved request is refused by the server with its own code.
    expect(again).toBeInstanceOf(LimeApiError);
    expect((again as LimeApiError).code).toBe("LOGIN_REQUEST_ALREADY_APPROVED");
    await site.close();
  });

  test("a wrong agent token is INVALID_AGENT_TOKEN (401) and is not retried", async () => {
    let calls = 0;
    const counting = (input: string | URL | Request, init?: RequestInit) => {
      calls++;
      return fetch(input, init);
    };
    const agent = new AgentClient({
      baseUrl: lime.server.url,
      agentToken: "lime_agent_wrong",
      fetch: counting,
    });
    const error = (await agent.profile().catch((e: unknown) => e)) as LimeApiError;
    expect(error).toBeInstanceOf(LimeApiError);
    expect(error.code).toBe("INVALID_AGENT_TOKEN");
    expect(error.status).toBe(401);
    expect(calls).toBe(1);
  });

  test("self-service passport: cached per audience, and presented to a site with AgentClient.fetch", async () => {
    const { agent } = clients();
    const a = await agent.passport({ audience: "https://shop.test" });
    const b = await agent.passport({ audience: "https://shop.test" });
    expect(b).toBe(a);
    const [c1, c2] = await Promise.all([
      agent.passport({ audience: "x" }),
      agent.passport({ audience: "x" }),
    ]);
    expect(c1).toBe(c2);
    expect(c1).not.toBe(a);
  });
});

describe("AgentClient.fetch against a site using the agentPassport plugin", () => {
  test("the site sees the verified passport; a request without one gets 401 AgentPassport", async () => {
    const site = new Elysia()
      .use(agentPassport({ issuer: lime.server.url, audience: "http://127.0.0.1" }))
      .get("/me", ({ passport }) => ({ agent: passport.agentId, aud: passport.audience }));
    site.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const base = `http://127.0.0.1:${site.server!.port}`;
      const agent = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
      const response = await agent.fetch(`${base}/me`, undefined, { audience: "http://127.0.0.1" });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ agent: lime.ids.agentId, aud: ["http://127.0.0.1"] });
      const bare = await fetch(`${base}/me`);
      expect(bare.status).toBe(401);
      expect(bare.headers.get("www-authenticate")).toBe('AgentPassport realm="http://127.0.0.1"');
      // The default audience is the target's origin, which this site does not accept: refused, re-tried once.
      const wrong = await agent.fetch(`${base}/me`);
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("www-authenticate")).toContain("PASSPORT_WRONG_AUDIENCE");
    } finally {
      await site.stop(true);
    }
  });

  test("refuses to send a passport over plain http to a non-loopback host", async () => {
    const agent = new AgentClient({ baseUrl: lime.server.url, agentToken: lime.ids.agentToken });
    await expect(agent.fetch("http://shop.example/")).rejects.toBeInstanceOf(TypeError);
  });
});

describe("site id", () => {
  test("a client that never created a request learns its id from one of its site's, even once answered", async () => {
    const { agent, site: creator } = clients();
    const created = await creator.createLoginRequest();
    await agent.login(created.requestId);
    const late = new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken });
    try {
      const passport = await late.waitForLogin(created.requestId, { timeout: 10_000 });
      expect(passport.siteId).toBe(lime.ids.siteId);
      expect(await late.siteId()).toBe(lime.ids.siteId);
    } finally {
      await late.close();
      await creator.close();
    }
  });

  test("verifyPassport(jwt, { requestId }) works without siteId, from a fresh client, after the approval", async () => {
    const { agent, site: creator } = clients();
    const created = await creator.createLoginRequest();
    await agent.login(created.requestId);
    const { passportJwt } = await creator.getLoginRequest(created.requestId);
    const fresh = new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken });
    try {
      const passport = await fresh.verifyPassport(passportJwt!, { requestId: created.requestId });
      expect(passport).toMatchObject({ requestId: created.requestId, siteId: lime.ids.siteId });
    } finally {
      await fresh.close();
      await creator.close();
    }
  });

  test("a request id the site token cannot read teaches nothing: a TypeError saying to pass siteId", async () => {
    const fresh = new SiteClient({ baseUrl: lime.server.url, siteToken: lime.ids.siteToken });
    try {
      const error = await fresh
        .verifyPassport("not-a-passport", { requestId: crypto.randomUUID() })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain("pass siteId");
      await expect(fresh.siteId()).rejects.toBeInstanceOf(TypeError);
    } finally {
      await fresh.close();
    }
  });
});
