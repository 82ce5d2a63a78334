import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { verifyPassport } from "@lime-ts/core/passport";
import { FakeClock, type Provisioned, startTestServer, type TestServer } from "../../server/testing.ts";
import {
  api,
  countRows,
  SseClient,
  solvePow,
  startProvisioned,
  withTestServer,
  wrongNonce,
} from "./helpers.ts";

const REQUESTS = "/api/v1/modules/agent-login/requests";
const EVENTS = "/api/v1/modules/agent-login/events";

async function createRequest(t: TestServer, siteToken: string) {
  const created = await api(t.url, REQUESTS, {
    method: "POST",
    headers: { "x-site-token": siteToken },
    json: {},
  });
  expect(created.status).toBe(201);
  return created.body.data.login_request_id as string;
}

async function solveFor(t: TestServer, id: string): Promise<string> {
  const challenge = await api(t.url, `/api/v1/auth/requests/${id}`);
  expect(challenge.status).toBe(200);
  return solvePow(challenge.body.data.pow_challenge, challenge.body.data.pow_difficulty);
}

function approve(t: TestServer, id: string, agentToken: string, nonce?: string) {
  return api(t.url, `${REQUESTS}/${id}/approve`, {
    method: "POST",
    headers: { "x-agent-token": agentToken },
    json: nonce === undefined ? {} : { pow_nonce: nonce },
  });
}

function status(t: TestServer, id: string, siteToken: string) {
  return api(t.url, `${REQUESTS}/${id}`, { headers: { "x-site-token": siteToken } });
}

function connect(t: TestServer, siteToken: string, lastEventId?: string) {
  const headers: Record<string, string> = { "x-site-token": siteToken };
  if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
  return SseClient.connect(t.url + EVENTS, headers);
}

describe("agent login over HTTP", () => {
  let t: TestServer;
  let p: Provisioned;

  beforeAll(async () => {
    t = await startTestServer();
  });
  // A site's undelivered outcomes go to its next stream: each test has its own
  // owner, site and agent, so none receives what another left behind.
  beforeEach(async () => {
    p = await t.provision();
  });
  afterAll(async () => {
    await t.stop();
  });

  test("the whole flow: create, challenge, solve, approve, SSE delivery, local verification against the served JWKS", async () => {
    const created = await api(t.url, REQUESTS, {
      method: "POST",
      headers: { "x-site-token": p.siteToken },
      json: {},
    });
    expect(created.status).toBe(201);
    expect(created.body.ok).toBe(true);
    const id = created.body.data.login_request_id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.data.status).toBe("PENDING");
    expect(created.body.data.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const challenge = await api(t.url, `/api/v1/auth/requests/${id}`);
    expect(challenge.status).toBe(200);
    expect(challenge.body.data).toMatchObject({
      login_request_id: id,
      status: "PENDING",
      pow_difficulty: 8,
      pow_algorithm: "sha256",
      site: { site_id: p.siteId, display_name: "Test shop" },
    });
    expect(challenge.body.data.pow_challenge).toMatch(/^[0-9a-f]{64}$/);

    const stream = await connect(t, p.siteToken);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toStartWith("text/event-stream");

    const nonce = await solvePow(challenge.body.data.pow_challenge, challenge.body.data.pow_difficulty);
    const approved = await approve(t, id, p.agentToken, nonce);
    expect(approved.status).toBe(200);
    expect(approved.body.data).toMatchObject({
      request_id: id,
      site_id: p.siteId,
      status: "APPROVED",
      approved_agent_id: p.agentId,
    });

    const [event] = (await stream.waitFor((events) => events.some((e) => e.data.type === "approved"))).filter(
      (e) => e.data.type === "approved",
    );
    await stream.close();
    expect(event!.id).toMatch(/^\d+$/);
    expect(event!.data.login_request_id).toBe(id);
    expect(event!.data.redirect_url).toBeNull();

    const jwks = await api(t.url, "/.well-known/jwks.json");
    const passport = await verifyPassport(event!.data.agent_passport_jwt, jwks.body, {
      issuer: t.config.publicUrl,
      audience: "lime-site-login",
      requestId: id,
      siteId: p.siteId,
      now: Math.floor(t.clock.now() / 1000),
    });
    expect(passport.agentId).toBe(p.agentId);
    expect(passport.ownerId).toBe(p.ownerId);
    expect(passport.ownerKycLevel).toBe(1);
    expect(passport.expiresAt - passport.issuedAt).toBeLessThanOrEqual(120);
    const header = JSON.parse(
      Buffer.from(event!.data.agent_passport_jwt.split(".")[0], "base64url").toString(),
    );
    expect(header).toEqual({ alg: "RS256", typ: "passport+jwt", kid: jwks.body.keys[0].kid });

    const after = await status(t, id, p.siteToken);
    expect(after.body.data.status).toBe("DELIVERED");
    expect(after.body.data.approved_agent_id).toBe(p.agentId);
    expect(after.body.data.agent_passport_jwt).toBe(event!.data.agent_passport_jwt);
  });

  test("an outcome reached while the site has no stream is delivered on its next connection (APPROVED → DELIVERED)", async () => {
    const id = await createRequest(t, p.siteToken);
    expect((await approve(t, id, p.agentToken, await solveFor(t, id))).status).toBe(200);
    expect((await status(t, id, p.siteToken)).body.data.status).toBe("APPROVED");

    const late = await connect(t, p.siteToken);
    const events = await late.waitFor((all) => all.some((e) => e.data.login_request_id === id));
    await late.close();
    expect(events.filter((e) => e.data.login_request_id === id)).toHaveLength(1);
    expect((await status(t, id, p.siteToken)).body.data.status).toBe("DELIVERED");

    // Delivered once: a fresh connection without Last-Event-ID does not get it again.
    const again = await connect(t, p.siteToken);
    await again.waitFor((all) => all.some((e) => e.data.type === "keepalive"));
    await again.close();
    expect(again.outcomes()).toHaveLength(0);
  });

  test("a reconnect with Last-Event-ID replays every outcome after that id, even ones already written", async () => {
    const stream = await connect(t, p.siteToken);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await createRequest(t, p.siteToken);
      ids.push(id);
      expect((await approve(t, id, p.agentToken, await solveFor(t, id))).status).toBe(200);
    }
    const seen = await stream.waitFor((all) =>
      ids.every((id) => all.some((e) => e.data.login_request_id === id)),
    );
    await stream.close();
    const firstEventId = seen.find((e) => e.data.login_request_id === ids[0])!.id!;

    const resumed = await connect(t, p.siteToken, firstEventId);
    const replay = await resumed.waitFor(
      (all) =>
        all.filter((e) => e.data.type === "approved").length >= 2 &&
        all.some((e) => e.data.type === "keepalive"),
    );
    await resumed.close();
    const replayed = replay.filter((e) => e.data.type === "approved").map((e) => e.data.login_request_id);
    expect(replayed).toEqual([ids[1], ids[2]]);
    expect(replay.filter((e) => e.data.type === "approved").map((e) => Number(e.id))).toEqual(
      [...replay.filter((e) => e.data.type === "approved").map((e) => Number(e.id))].sort((a, b) => a - b),
    );
  });

  test("keepalives keep arriving and carry no id", async () => {
    const stream = await connect(t, p.siteToken);
    // Generous: how soon they come is the clock's business, not this test's.
    const events = await stream.waitFor(
      (all) => all.filter((e) => e.data.type === "keepalive").length >= 2,
      10_000,
    );
    await stream.close();
    for (const event of events.filter((e) => e.data.type === "keepalive")) {
      expect(event.id).toBeNull();
      expect(event.data).toEqual({ type: "keepalive" });
    }
  });

  test("concurrent approvals of one request: exactly one 200, the rest LOGIN_REQUEST_ALREADY_APPROVED", async () => {
    const id = await createRequest(t, p.siteToken);
    const nonce = await solveFor(t, id);
    const racers = await Promise.all(
      Array.from({ length: 8 }, () =>
        api(t.url, "/api/v1/core/agents/register", {
          method: "POST",
          headers: { authorization: `Bearer ${p.sessionToken}` },
          json: { display_name: "racer" },
        }),
      ),
    );
    const results = await Promise.all(racers.map((r) => approve(t, id, r.body.data.agent_token, nonce)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    for (const loser of results.filter((r) => r.status === 409)) {
      expect(loser.body.error.code).toBe("LOGIN_REQUEST_ALREADY_APPROVED");
    }
    const winner = results.find((r) => r.status === 200)!;
    const outcomes = t.db
      .query("SELECT COUNT(*) AS n FROM login_outcomes WHERE login_request_id = ? AND type = 'approved'")
      .get(id) as { n: number };
    expect(outcomes.n).toBe(1);
    expect((await status(t, id, p.siteToken)).body.data.approved_agent_id).toBe(
      winner.body.data.approved_agent_id,
    );
  });

  test("a wrong nonce is INVALID_POW and leaves the request PENDING; the right one then succeeds", async () => {
    const id = await createRequest(t, p.siteToken);
    const challenge = (await api(t.url, `/api/v1/auth/requests/${id}`)).body.data;
    const wrong = await approve(
      t,
      id,
      p.agentToken,
      wrongNonce(challenge.pow_challenge, challenge.pow_difficulty),
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ ok: false, error: { code: "INVALID_POW" } });
    for (const malformed of ["-1", "01", " 5", "1e3", "18446744073709551616", "abc"]) {
      const response = await approve(t, id, p.agentToken, malformed);
      expect(response.body.error.code).toBe("INVALID_POW");
    }
    expect((await status(t, id, p.siteToken)).body.data.status).toBe("PENDING");
    const right = await approve(
      t,
      id,
      p.agentToken,
      await solvePow(challenge.pow_challenge, challenge.pow_difficulty),
    );
    expect(right.status).toBe(200);
  });

  test("a missing nonce is MISSING_POW_NONCE, with an empty object, an empty string or no body at all", async () => {
    const id = await createRequest(t, p.siteToken);
    expect((await approve(t, id, p.agentToken)).body.error.code).toBe("MISSING_POW_NONCE");
    expect((await approve(t, id, p.agentToken, "")).body.error.code).toBe("MISSING_POW_NONCE");
    const noBody = await api(t.url, `${REQUESTS}/${id}/approve`, {
      method: "POST",
      headers: { "x-agent-token": p.agentToken },
    });
    expect(noBody.status).toBe(400);
    expect(noBody.body.error.code).toBe("MISSING_POW_NONCE");
  });

  test("a second approval after success is LOGIN_REQUEST_ALREADY_APPROVED; the challenge is no longer served", async () => {
    const id = await createRequest(t, p.siteToken);
    const nonce = await solveFor(t, id);
    expect((await approve(t, id, p.agentToken, nonce)).status).toBe(200);
    const second = await approve(t, id, p.agentToken, nonce);
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe("LOGIN_REQUEST_ALREADY_APPROVED");
    expect((await api(t.url, `/api/v1/auth/requests/${id}`)).body.error.code).toBe(
      "LOGIN_REQUEST_ALREADY_APPROVED",
    );
  });

  test("unknown requests are SITE_LOGIN_REQUEST_NOT_FOUND, and another site cannot read this site's request", async () => {
    const unknown = crypto.randomUUID();
    expect((await api(t.url, `/api/v1/auth/requests/${unknown}`)).body.error.code).toBe(
      "SITE_LOGIN_REQUEST_NOT_FOUND",
    );
    expect((await approve(t, unknown, p.agentToken, "1")).body.error.code).toBe(
      "SITE_LOGIN_REQUEST_NOT_FOUND",
    );
    expect((await status(t, unknown, p.siteToken)).status).toBe(404);

    const id = await createRequest(t, p.siteToken);
    const other = await t.provision();
    const foreign = await status(t, id, other.siteToken);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe("SITE_LOGIN_REQUEST_NOT_FOUND");
  });

  test("agent token rejections: MISSING_AGENT_TOKEN, INVALID_AGENT_TOKEN, and AGENT_REVOKED at once after DELETE", async () => {
    const id = await createRequest(t, p.siteToken);
    const missing = await api(t.url, `${REQUESTS}/${id}/approve`, {
      method: "POST",
      json: { pow_nonce: "1" },
    });
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe("MISSING_AGENT_TOKEN");
    for (const bad of ["nonsense", `lime_agent_${"A".repeat(43)}`, p.siteToken]) {
      const response = await approve(t, id, bad, "1");
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe("INVALID_AGENT_TOKEN");
    }

    const auth = { authorization: `Bearer ${p.sessionToken}` };
    const agent = await api(t.url, "/api/v1/core/agents/register", {
      method: "POST",
      headers: auth,
      json: { display_name: "short-lived" },
    });
    const token = agent.body.data.agent_token;
    expect(
      (await api(t.url, "/api/v1/core/agents/me/profile", { headers: { "x-agent-token": token } })).status,
    ).toBe(200);
    const revoked = await api(t.url, `/api/v1/core/agents/${agent.body.data.agent_id}`, {
      method: "DELETE",
      headers: auth,
    });
    expect(revoked.status).toBe(204);
    const afterRevoke = await approve(t, id, token, await solveFor(t, id));
    expect(afterRevoke.status).toBe(401);
    expect(afterRevoke.body.error.code).toBe("AGENT_REVOKED");
    expect((await status(t, id, p.siteToken)).body.data.status).toBe("PENDING");
  });

  test("a rotated agent token stops working at once; the new one works", async () => {
    const auth = { authorization: `Bearer ${p.sessionToken}` };
    const agent = await api(t.url, "/api/v1/core/agents/register", {
      method: "POST",
      headers: auth,
      json: { display_name: "rotating" },
    });
    const rotated = await api(t.url, `/api/v1/core/agents/${agent.body.data.agent_id}/token`, {
      method: "POST",
      headers: auth,
    });
    expect(rotated.status).toBe(200);
    const old = await api(t.url, "/api/v1/core/agents/me/profile", {
      headers: { "x-agent-token": agent.body.data.agent_token },
    });
    expect(old.body.error.code).toBe("INVALID_AGENT_TOKEN");
    const fresh = await api(t.url, "/api/v1/core/agents/me/profile", {
      headers: { "x-agent-token": rotated.body.data.agent_token },
    });
    expect(fresh.body.data.agent_id).toBe(agent.body.data.agent_id);
  });

  test("site token rejections: SITE_TOKEN_MISSING, SITE_TOKEN_INVALID, SITE_SUSPENDED on every site route", async () => {
    const missing = await api(t.url, REQUESTS, { method: "POST", json: {} });
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe("SITE_TOKEN_MISSING");
    const invalid = await api(t.url, REQUESTS, {
      method: "POST",
      headers: { "x-site-token": "lime_site_x" },
      json: {},
    });
    expect(invalid.status).toBe(401);
    expect(invalid.body.error.code).toBe("SITE_TOKEN_INVALID");
    const stream = await connect(t, `lime_site_${"B".repeat(43)}`);
    expect(stream.status).toBe(401);

    const s = await t.provision();
    const id = await createRequest(t, s.siteToken);
    const nonce = await solveFor(t, id);
    const auth = { authorization: `Bearer ${s.sessionToken}` };
    const suspended = await api(t.url, `/api/v1/foundation/sites/${s.siteId}/suspend`, {
      method: "POST",
      headers: auth,
    });
    expect(suspended.body.data.status).toBe("SUSPENDED");

    const create = await api(t.url, REQUESTS, {
      method: "POST",
      headers: { "x-site-token": s.siteToken },
      json: {},
    });
    expect(create.status).toBe(401);
    expect(create.body.error.code).toBe("SITE_SUSPENDED");
    expect((await status(t, id, s.siteToken)).body.error.code).toBe("SITE_SUSPENDED");
    expect((await connect(t, s.siteToken)).status).toBe(401);
    expect((await api(t.url, `/api/v1/auth/requests/${id}`)).body.error.code).toBe("SITE_SUSPENDED");
    const approval = await approve(t, id, s.agentToken, nonce);
    expect(approval.status).toBe(401);
    expect(approval.body.error.code).toBe("SITE_SUSPENDED");

    await api(t.url, `/api/v1/foundation/sites/${s.siteId}/reactivate`, { method: "POST", headers: auth });
    expect((await approve(t, id, s.agentToken, nonce)).status).toBe(200);
  });

  test("the status endpoint hands the passport to the owning site while it is valid", async () => {
    const id = await createRequest(t, p.siteToken);
    expect((await approve(t, id, p.agentToken, await solveFor(t, id))).status).toBe(200);
    const live = await status(t, id, p.siteToken);
    expect(live.body.data.agent_passport_jwt).toStartWith("eyJ");
    (t.clock as FakeClock).advance(t.config.lifetimes.siteLoginPassportMs + 1000);
    const lapsed = await status(t, id, p.siteToken);
    expect(lapsed.body.data.status).toBe("APPROVED");
    expect(lapsed.body.data.agent_passport_jwt).toBeNull();
  });

  test("every approval and rejection is audited for the owner with its reason", async () => {
    const id = await createRequest(t, p.siteToken);
    const challenge = (await api(t.url, `/api/v1/auth/requests/${id}`)).body.data;
    const wrong = wrongNonce(challenge.pow_challenge, challenge.pow_difficulty);
    expect((await approve(t, id, p.agentToken, wrong)).status).toBe(400);
    const nonce = await solvePow(challenge.pow_challenge, challenge.pow_difficulty);
    expect((await approve(t, id, p.agentToken, nonce)).status).toBe(200);
    expect((await approve(t, id, p.agentToken, nonce)).status).toBe(409);
    const later = await createRequest(t, p.siteToken);
    const laterNonce = await solveFor(t, later);
    const auth = { authorization: `Bearer ${p.sessionToken}` };
    const revoked = await api(t.url, `/api/v1/core/agents/${p.agentId}`, { method: "DELETE", headers: auth });
    expect(revoked.status).toBe(204);
    expect((await approve(t, later, p.agentToken, laterNonce)).status).toBe(401);

    const audit = await api(t.url, "/api/v1/foundation/audit?limit=200", {
      headers: { authorization: `Bearer ${p.sessionToken}` },
    });
    const actions = audit.body.data.events.map(
      (e: { action: string; reason: string | null }) => `${e.action}:${e.reason}`,
    );
    expect(actions).toContain("login_request.approval_rejected:INVALID_POW");
    expect(actions).toContain("login_request.approval_rejected:LOGIN_REQUEST_ALREADY_APPROVED");
    expect(actions).toContain("login_request.approved:null");
    expect(actions).toContain("passport.issued:site_login");
    expect(actions).toContain("agent.revoked:null");
    expect(actions).toContain("agent.token_rejected:AGENT_REVOKED");
  });
});

describe("agent login over time", () => {
  test("expiry: overdue requests become EXPIRED, the stream gets an expired event, approval is REQUEST_EXPIRED", async () => {
    const clock = new FakeClock();
    await withTestServer({ clock }, async (t) => {
      const p = await t.provision();
      const id = await createRequest(t, p.siteToken);
      const nonce = await solveFor(t, id);
      const stream = await connect(t, p.siteToken);
      clock.advance(t.config.lifetimes.loginRequestMs + 1);
      await t.server.maintain();
      const events = await stream.waitFor((all) => all.some((e) => e.data.type === "expired"));
      await stream.close();
      const expired = events.find((e) => e.data.type === "expired")!;
      expect(expired.data).toEqual({ type: "expired", login_request_id: id });
      expect(expired.id).toMatch(/^\d+$/);
      expect((await status(t, id, p.siteToken)).body.data.status).toBe("EXPIRED");
      const late = await approve(t, id, p.agentToken, nonce);
      expect(late.status).toBe(410);
      expect(late.body.error.code).toBe("REQUEST_EXPIRED");
      expect(late.body.error.detail).toEqual({ reason: "login_request_expired" });
      expect((await api(t.url, `/api/v1/auth/requests/${id}`)).body.error.code).toBe("REQUEST_EXPIRED");
    });
  });

  test("expiry is enforced at approval time even before the sweep runs, and the site still hears of it", async () => {
    const clock = new FakeClock();
    await withTestServer({ clock }, async (t) => {
      const p = await t.provision();
      const id = await createRequest(t, p.siteToken);
      const nonce = await solveFor(t, id);
      clock.advance(t.config.lifetimes.loginRequestMs);
      const late = await approve(t, id, p.agentToken, nonce);
      expect(late.body.error.code).toBe("REQUEST_EXPIRED");
      const stream = await connect(t, p.siteToken);
      const events = await stream.waitFor((all) => all.some((e) => e.data.type === "expired"));
      await stream.close();
      expect(events.filter((e) => e.data.type === "expired").map((e) => e.data.login_request_id)).toEqual([
        id,
      ]);
    });
  });

  test("a login request survives a restart: created, server replaced on the same database, approved, delivered", async () => {
    const first = await startTestServer();
    const databasePath = first.databasePath;
    const p = await first.provision();
    const id = await createRequest(first, p.siteToken);
    const nonce = await solveFor(first, id);
    const kidsBefore = (await api(first.url, "/.well-known/jwks.json")).body.keys.map(
      (k: { kid: string }) => k.kid,
    );
    await first.server.stop();
    first.db.close();

    await withTestServer({ databasePath, keyEncryptionKey: first.keyEncryptionKey }, async (second) => {
      expect((await approve(second, id, p.agentToken, nonce)).status).toBe(200);
      const stream = await connect(second, p.siteToken);
      const events = await stream.waitFor((all) => all.some((e) => e.data.type === "approved"));
      await stream.close();
      const jwks = (await api(second.url, "/.well-known/jwks.json")).body;
      expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(kidsBefore);
      const passport = await verifyPassport(
        events.find((e) => e.data.type === "approved")!.data.agent_passport_jwt,
        jwks,
        {
          issuer: second.config.publicUrl,
          audience: "lime-site-login",
          requestId: id,
          siteId: p.siteId,
        },
      );
      expect(passport.agentId).toBe(p.agentId);
      expect((await status(second, id, p.siteToken)).body.data.status).toBe("DELIVERED");
    });
  });

  test("RATE_LIMIT_EXCEEDED with Retry-After once a site exceeds its login-request budget; nothing stored", async () => {
    await withTestServer({ config: { rateLimits: { loginRequestsPerMinute: 2 } } }, async (t) => {
      const p = await t.provision();
      await createRequest(t, p.siteToken);
      await createRequest(t, p.siteToken);
      const before = countRows(t.db, "login_requests");
      const limited = await api(t.url, REQUESTS, {
        method: "POST",
        headers: { "x-site-token": p.siteToken },
        json: {},
      });
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe("RATE_LIMIT_EXCEEDED");
      const retryAfter = Number(limited.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(countRows(t.db, "login_requests")).toBe(before);
    });
  });

  test("approval attempts are rate limited per agent, so nonce guessing is bounded", async () => {
    await withTestServer({ config: { rateLimits: { approvalsPerMinute: 3 } } }, async (t) => {
      const p = await t.provision();
      const id = await createRequest(t, p.siteToken);
      const codes: string[] = [];
      for (let i = 0; i < 4; i++) codes.push((await approve(t, id, p.agentToken, "0")).body.error?.code);
      expect(codes.slice(0, 3).every((c) => c === "INVALID_POW" || c === undefined)).toBe(true);
      expect(codes[3]).toBe("RATE_LIMIT_EXCEEDED");
    });
  });

  test("open streams per site are capped (429 with Retry-After); a disconnect frees its slot", async () => {
    await withTestServer({ config: { rateLimits: { streamsPerSite: 2 } } }, async (t) => {
      const p = await t.provision();
      const a = await connect(t, p.siteToken);
      const b = await connect(t, p.siteToken);
      const refused = await api(t.url, EVENTS, { headers: { "x-site-token": p.siteToken } });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("RATE_LIMIT_EXCEEDED");
      expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
      await a.close();
      // The server frees the slot when it notices the disconnect; wait for that, however long it takes.
      while (t.server.context.eventStreams.openCount() > 1) await Bun.sleep(10);
      const c = await connect(t, p.siteToken);
      expect(c.status).toBe(200);
      await Promise.all([b.close(), c.close()]);
    });
  });

  test("a client that goes away ends its stream at once, not at the next keepalive", async () => {
    // A keepalive longer than the test's time limit: only the transport's reaction to the closed
    // connection (it cancels the stream's body) can free the slot in time.
    await withTestServer({ config: { sseKeepaliveMs: 600_000 } }, async (t) => {
      const p = await t.provision();
      const stream = await connect(t, p.siteToken);
      expect(stream.status).toBe(200);
      expect(t.server.context.eventStreams.openCount()).toBe(1);
      await stream.close();
      while (t.server.context.eventStreams.openCount() > 0) await Bun.sleep(10);
      expect(t.server.context.eventStreams.openCount()).toBe(0);
    });
  });

  test("stopping the server ends open streams instead of hanging on them", async () => {
    const { t, p } = await startProvisioned();
    const stream = await connect(t, p.siteToken);
    expect(stream.status).toBe(200);
    await t.stop();
    expect(t.server.context.eventStreams.openCount()).toBe(0);
    await stream.close();
  });
});
