/**
 * Agent Binding on a real server: the site's routes over HTTP, the hosted
 * connect page's steps through the service functions it calls, the
 * passport checked with `jose` against the served JWKS, expiry on a frozen
 * clock, single use under racing decisions, the owner's list and revoke,
 * and the audit trail.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { loadConfig } from "../../server/config.ts";
import {
  FINISHED_BINDING_RETENTION_MS,
  getBindingForConnectPage,
  listBindableAgents,
} from "../../server/modules/bindings/service.ts";
import { FakeClock, type Provisioned, type TestServer } from "../../server/testing.ts";
import { callbackParams, decline, ownerRecord, pickAgent, setSiteOrigin } from "../support/bindings.ts";
import { api, countRows, startProvisioned, withTestServer } from "./helpers.ts";

const REQUESTS = "/api/v1/modules/bindings/requests";
const ORIGIN = "https://shop.example";
const CALLBACK = `${ORIGIN}/bind/callback`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function create(t: TestServer, siteToken: string, redirectUri: unknown = CALLBACK) {
  return api(t.url, REQUESTS, {
    method: "POST",
    headers: { "x-site-token": siteToken },
    json: { redirect_uri: redirectUri },
  });
}

async function createId(t: TestServer, p: Provisioned, redirectUri = CALLBACK): Promise<string> {
  const created = await create(t, p.siteToken, redirectUri);
  expect(created.status).toBe(201);
  return created.body.data.binding_id as string;
}

function status(t: TestServer, siteToken: string, id: string) {
  return api(t.url, `${REQUESTS}/${id}`, { headers: { "x-site-token": siteToken } });
}

function asOwner(p: Provisioned) {
  return { authorization: `Bearer ${p.sessionToken}` };
}

async function auditActions(t: TestServer, p: Provisioned) {
  const audit = await api(t.url, "/api/v1/foundation/audit?limit=200", { headers: asOwner(p) });
  expect(audit.status).toBe(200);
  return audit.body.data.events as Array<{
    action: string;
    outcome: string;
    actor: { type: string; id: string | null };
    target: { type: string; id: string } | null;
    reason: string | null;
    ip: string | null;
  }>;
}

/** The rejection a service call ended with. */
async function refusal(
  run: () => Promise<unknown>,
): Promise<{ code: string; detail: Record<string, unknown> }> {
  try {
    await run();
  } catch (error) {
    return error as { code: string; detail: Record<string, unknown> };
  }
  throw new Error("expected a refusal");
}

describe("Agent Binding", () => {
  let t: TestServer;
  let p: Provisioned;
  let clock: FakeClock;

  beforeAll(async () => {
    clock = new FakeClock();
    ({ t, p } = await startProvisioned({ clock, publicUrlIsOwnUrl: true }));
    await setSiteOrigin(t, p, ORIGIN);
  });
  afterAll(async () => {
    await t.stop();
  });

  describe("a site creates a binding request", () => {
    test("201 in the envelope: binding_id, connect_url on this server, PENDING, expires_at in whole seconds", async () => {
      const created = await create(t, p.siteToken);
      expect(created.status).toBe(201);
      expect(created.body.ok).toBe(true);
      const data = created.body.data;
      expect(data.binding_id).toMatch(UUID);
      expect(data.connect_url).toBe(`${t.config.publicUrl}/connect?binding_id=${data.binding_id}`);
      expect(data.status).toBe("PENDING");
      expect(data.expires_at).toMatch(ISO_UTC);
      expect(Date.parse(data.expires_at)).toBe(Math.floor((clock.now() + 600_000) / 1000) * 1000);
      expect(data.site_id).toBe(p.siteId);
    });

    test("redirect_uri: https on the site's origin; anything else is 400 REDIRECT_URI_NOT_ALLOWED naming the rule", async () => {
      const before = countRows(t.db, "bindings");
      for (const [uri, reason] of [
        ["http://shop.example/bind/callback", "insecure_scheme"],
        ["javascript:alert(1)", "insecure_scheme"],
        ["ftp://shop.example/x", "insecure_scheme"],
        ["https://evil.example/bind/callback", "origin_mismatch"],
        ["https://shop.example.evil.example/cb", "origin_mismatch"],
        ["https://shop.example:8443/cb", "origin_mismatch"],
        ["https://user:secret@shop.example/cb", "credentials"],
        ["https://shop.example/cb#frag", "fragment"],
        ["/bind/callback", "not_absolute"],
        ["shop.example/cb", "not_absolute"],
        ["https://shop.example/cb?passport=forged", "reserved_parameter"],
        ["https://shop.example/cb?binding_id=x", "reserved_parameter"],
      ]) {
        const refused = await create(t, p.siteToken, uri);
        expect([uri, refused.status, refused.body.error.code, refused.body.error.detail]).toEqual([
          uri,
          400,
          "REDIRECT_URI_NOT_ALLOWED",
          { field: "redirect_uri", reason },
        ]);
      }
      for (const body of [
        {},
        { redirect_uri: 5 },
        { redirect_uri: "" },
        { redirect_uri: `${CALLBACK}?${"a".repeat(2048)}` },
      ]) {
        const refused = await api(t.url, REQUESTS, {
          method: "POST",
          headers: { "x-site-token": p.siteToken },
          json: body,
        });
        expect([body, refused.status, refused.body.error.code]).toEqual([body, 400, "VALIDATION_FAILED"]);
      }
      expect(countRows(t.db, "bindings")).toBe(before);
    });

    test("plain http only to loopback: localhost, 127.0.0.0/8 and [::1] origins work, another http origin cannot bind", async () => {
      await withTestServer({}, async (local) => {
        const own = await local.provision();
        for (const origin of ["http://localhost:3000", "http://127.0.0.2:8080", "http://[::1]:4000"]) {
          await setSiteOrigin(local, own, origin);
          const created = await create(local, own.siteToken, `${origin}/cb?keep=1`);
          expect([origin, created.status]).toEqual([origin, 201]);
        }
        await setSiteOrigin(local, own, "http://shop.example");
        const refused = await create(local, own.siteToken, "http://shop.example/cb");
        expect(refused.body.error).toMatchObject({
          code: "REDIRECT_URI_NOT_ALLOWED",
          detail: { reason: "insecure_scheme" },
        });
      });
    });

    test("a site without a registered origin cannot bind: 409 SITE_ORIGIN_REQUIRED", async () => {
      await withTestServer({}, async (local) => {
        const own = await local.provision();
        const refused = await create(local, own.siteToken);
        expect(refused.status).toBe(409);
        expect(refused.body.error.code).toBe("SITE_ORIGIN_REQUIRED");
        expect(countRows(local.db, "bindings")).toBe(0);
      });
    });

    test("the site token is required and checked (401 with LIME's codes)", async () => {
      const missing = await api(t.url, REQUESTS, { method: "POST", json: { redirect_uri: CALLBACK } });
      expect([missing.status, missing.body.error.code]).toEqual([401, "SITE_TOKEN_MISSING"]);
      const wrong = await create(t, "lime_site_not-a-real-token");
      expect([wrong.status, wrong.body.error.code]).toEqual([401, "SITE_TOKEN_INVALID"]);
    });

    test("creation is rate limited per site (429 with Retry-After)", async () => {
      await withTestServer({ config: { rateLimits: { bindingRequestsPerMinute: 2 } } }, async (local) => {
        const own = await local.provision();
        await setSiteOrigin(local, own, ORIGIN);
        expect((await create(local, own.siteToken)).status).toBe(201);
        expect((await create(local, own.siteToken)).status).toBe(201);
        const limited = await create(local, own.siteToken);
        expect([limited.status, limited.body.error.code]).toEqual([429, "RATE_LIMIT_EXCEEDED"]);
        expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      });
    });
  });

  describe("the site reads its request", () => {
    test("PENDING with no agent yet; another site's request and unknown ids are 404 BINDING_NOT_FOUND", async () => {
      const id = await createId(t, p);
      const read = await status(t, p.siteToken, id);
      expect(read.status).toBe(200);
      expect(read.body.data).toMatchObject({
        binding_id: id,
        site_id: p.siteId,
        status: "PENDING",
        redirect_uri: CALLBACK,
        agent_id: null,
        decided_at: null,
        revoked_at: null,
      });
      const other = await t.provision();
      const foreign = await status(t, other.siteToken, id);
      expect([foreign.status, foreign.body.error.code]).toEqual([404, "BINDING_NOT_FOUND"]);
      const unknown = await status(t, p.siteToken, crypto.randomUUID());
      expect([unknown.status, unknown.body.error.code]).toEqual([404, "BINDING_NOT_FOUND"]);
      const malformed = await status(t, p.siteToken, "br_1");
      expect([malformed.status, malformed.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
    });
  });

  describe("the user picks an agent on the connect page", () => {
    test("approve: the browser goes to redirect_uri with the passport and binding_id; jose verifies it against the JWKS", async () => {
      const id = await createId(t, p, `${CALLBACK}?from=settings&note=a%20b`);
      const approved = await pickAgent(t, id, p);
      const url = new URL(approved.redirectUrl);
      expect(`${url.origin}${url.pathname}`).toBe(CALLBACK);
      expect(url.search).toStartWith("?from=settings&note=a%20b&passport=");
      const params = callbackParams(approved.redirectUrl);
      expect(Object.keys(params)).toEqual(["from", "note", "passport", "binding_id"]);
      expect(params.binding_id).toBe(id);

      const jwks = (await (await fetch(`${t.url}/api/v1/core/.well-known/jwks.json`)).json()) as {
        keys: Parameters<typeof createLocalJWKSet>[0]["keys"];
      };
      const { payload, protectedHeader } = await jwtVerify(
        params.passport!,
        createLocalJWKSet({ keys: jwks.keys }),
        {
          issuer: t.config.publicUrl,
          audience: "lime-binding",
          typ: "binding+jwt",
          algorithms: ["RS256"],
          currentDate: new Date(clock.now()),
        },
      );
      expect(protectedHeader.alg).toBe("RS256");
      expect(payload).toMatchObject({
        iss: t.config.publicUrl,
        sub: p.agentId,
        agent_id: p.agentId,
        aud: "lime-binding",
        binding_id: id,
        user_id: p.ownerId,
        site_id: p.siteId,
        user_kyc_level: 1,
        agent_reputation: 0,
        passport_version: 1,
      });
      expect(payload.exp! - payload.iat!).toBe(60);
      expect(payload.jti).toMatch(UUID);
      expect(approved.passport.expiresAt).toBe(payload.exp! * 1000);

      const read = await status(t, p.siteToken, id);
      expect(read.body.data).toMatchObject({ status: "COMPLETED", agent_id: p.agentId, revoked_at: null });
      expect(read.body.data.decided_at).toMatch(ISO_UTC);
    });

    test("the connect page's view: the site's name and origin, the status, the expiry; malformed ids are not found", async () => {
      const id = await createId(t, p);
      const view = await getBindingForConnectPage(t.server.context.bindings, id);
      expect(view).toMatchObject({
        bindingId: id,
        status: "PENDING",
        site: { id: p.siteId, displayName: "Test shop", origin: ORIGIN, status: "ACTIVE" },
      });
      for (const bad of ["", "br_1", "'; DROP TABLE bindings; --", crypto.randomUUID()]) {
        expect((await refusal(() => getBindingForConnectPage(t.server.context.bindings, bad))).code).toBe(
          "BINDING_NOT_FOUND",
        );
      }
      const agents = await listBindableAgents(t.server.context.bindings, await ownerRecord(t, p.ownerId));
      expect(agents.map((agent) => agent.id)).toContain(p.agentId);
    });

    test("deny: the browser goes back with error=access_denied, signed in or not; the site reads DENIED", async () => {
      for (const who of [p, null]) {
        const id = await createId(t, p, `${CALLBACK}?from=settings`);
        const denied = await decline(t, id, who);
        expect(denied.redirectUrl).toBe(`${CALLBACK}?from=settings&error=access_denied&binding_id=${id}`);
        const read = await status(t, p.siteToken, id);
        expect(read.body.data).toMatchObject({ status: "DENIED", agent_id: null });
      }
    });

    test("single use: a second approval, a denial after an approval, an approval after a denial are BINDING_ALREADY_DECIDED", async () => {
      const approvedId = await createId(t, p);
      await pickAgent(t, approvedId, p);
      expect((await refusal(() => pickAgent(t, approvedId, p))).code).toBe("BINDING_ALREADY_DECIDED");
      expect((await refusal(() => decline(t, approvedId, p))).code).toBe("BINDING_ALREADY_DECIDED");
      const deniedId = await createId(t, p);
      await decline(t, deniedId, null);
      expect((await refusal(() => pickAgent(t, deniedId, p))).code).toBe("BINDING_ALREADY_DECIDED");
    });

    test("racing decisions: of 12 concurrent approvals and denials exactly one wins, the rest are BINDING_ALREADY_DECIDED", async () => {
      const id = await createId(t, p);
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? decline(t, id, p) : pickAgent(t, id, p))),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const lost of results.filter((r) => r.status === "rejected")) {
        expect((lost as PromiseRejectedResult).reason.code).toBe("BINDING_ALREADY_DECIDED");
      }
      const read = await status(t, p.siteToken, id);
      expect(["COMPLETED", "DENIED"]).toContain(read.body.data.status);
    });

    test("only an ACTIVE agent of the signed-in owner: another owner's agent and a revoked agent are AGENT_NOT_FOUND", async () => {
      const other = await t.provision();
      const id = await createId(t, p);
      expect((await refusal(() => pickAgent(t, id, p, other.agentId))).code).toBe("AGENT_NOT_FOUND");
      expect((await refusal(() => pickAgent(t, id, p, "not-a-uuid"))).code).toBe("AGENT_NOT_FOUND");
      const spare = await api(t.url, "/api/v1/core/agents/register", {
        method: "POST",
        headers: asOwner(p),
        json: { display_name: "Spare" },
      });
      const spareId = spare.body.data.agent_id as string;
      const revoked = await api(t.url, `/api/v1/core/agents/${spareId}`, {
        method: "DELETE",
        headers: asOwner(p),
      });
      expect(revoked.status).toBeLessThan(300);
      expect((await refusal(() => pickAgent(t, id, p, spareId))).code).toBe("AGENT_NOT_FOUND");
      expect((await status(t, p.siteToken, id)).body.data.status).toBe("PENDING");
    });

    test("a suspended site cannot be bound (SITE_SUSPENDED); an origin changed since creation refuses the old redirect_uri", async () => {
      await withTestServer({}, async (local) => {
        const own = await local.provision();
        await setSiteOrigin(local, own, ORIGIN);
        const id = await createId(local, own);
        const suspend = `/api/v1/foundation/sites/${own.siteId}`;
        await api(local.url, `${suspend}/suspend`, { method: "POST", headers: asOwner(own) });
        expect((await refusal(() => pickAgent(local, id, own))).code).toBe("SITE_SUSPENDED");
        await api(local.url, `${suspend}/reactivate`, { method: "POST", headers: asOwner(own) });
        await setSiteOrigin(local, own, "https://new.shop.example");
        const moved = await refusal(() => pickAgent(local, id, own));
        expect([moved.code, moved.detail.reason]).toEqual(["REDIRECT_URI_NOT_ALLOWED", "origin_mismatch"]);
        await setSiteOrigin(local, own, null);
        expect((await refusal(() => decline(local, id, own))).code).toBe("SITE_ORIGIN_REQUIRED");
      });
    });
  });

  describe("expiry", () => {
    test("past expires_at a request reads EXPIRED, cannot be decided (BINDING_EXPIRED), the sweep records it, later purges it", async () => {
      await withTestServer({ clock: new FakeClock(), publicUrlIsOwnUrl: true }, async (local) => {
        const frozen = local.clock as FakeClock;
        const own = await local.provision();
        await setSiteOrigin(local, own, ORIGIN);
        const id = await createId(local, own);
        frozen.advance(local.config.lifetimes.bindingRequestMs - 1);
        expect((await status(local, own.siteToken, id)).body.data.status).toBe("PENDING");
        frozen.advance(1);
        expect((await status(local, own.siteToken, id)).body.data.status).toBe("EXPIRED");
        expect((await refusal(() => pickAgent(local, id, own))).code).toBe("BINDING_EXPIRED");
        expect((await refusal(() => decline(local, id, null))).code).toBe("BINDING_EXPIRED");
        expect((await local.server.context.bindings.store.findById(id))?.status).toBe("PENDING");

        await local.server.maintain();
        expect((await local.server.context.bindings.store.findById(id))?.status).toBe("EXPIRED");
        expect((await status(local, own.siteToken, id)).body.data.status).toBe("EXPIRED");
        const expired = (await auditActions(local, own)).filter(
          (e) => e.action === "binding_request.expired",
        );
        expect(expired).toEqual([
          expect.objectContaining({
            actor: { type: "system", id: null },
            target: { type: "binding_request", id },
          }),
        ]);

        frozen.advance(FINISHED_BINDING_RETENTION_MS + 1);
        await local.server.maintain();
        expect((await status(local, own.siteToken, id)).status).toBe(404);
      });
    });

    test("BINDING_REQUEST_TTL_SECONDS: default 600, 60 to 3600", () => {
      expect(loadConfig({}).lifetimes.bindingRequestMs).toBe(600_000);
      expect(loadConfig({ BINDING_REQUEST_TTL_SECONDS: "120" }).lifetimes.bindingRequestMs).toBe(120_000);
      for (const bad of ["59", "3601", "ten"]) {
        expect(() => loadConfig({ BINDING_REQUEST_TTL_SECONDS: bad })).toThrow("BINDING_REQUEST_TTL_SECONDS");
      }
      expect(loadConfig({}).rateLimits.bindingRequestsPerMinute).toBe(120);
    });
  });

  describe("owners list and revoke their bindings", () => {
    test("the owner's list: site name and origin, agent, when; in pages; the site sees REVOKED once revoked", async () => {
      const own = await t.provision();
      await setSiteOrigin(t, own, "https://own.example");
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await createId(t, own, "https://own.example/cb");
        await pickAgent(t, id, own);
        ids.push(id);
        clock.advance(1000);
      }
      const first = await api(t.url, "/api/v1/modules/bindings?limit=2", { headers: asOwner(own) });
      expect(first.status).toBe(200);
      expect(first.body.data.bindings.map((b: { binding_id: string }) => b.binding_id)).toEqual([
        ids[2],
        ids[1],
      ]);
      expect(first.body.data.bindings[0]).toEqual({
        binding_id: ids[2],
        status: "COMPLETED",
        site: { site_id: own.siteId, display_name: "Test shop", origin: "https://own.example" },
        agent: { agent_id: own.agentId, display_name: "Test agent" },
        completed_at: expect.stringMatching(ISO_UTC),
        revoked_at: null,
        revocation_reason: null,
      });
      const second = await api(
        t.url,
        `/api/v1/modules/bindings?limit=2&before=${first.body.data.next_cursor}`,
        {
          headers: asOwner(own),
        },
      );
      expect(second.body.data.bindings.map((b: { binding_id: string }) => b.binding_id)).toEqual([ids[0]]);
      expect(second.body.data.next_cursor).toBeNull();
      const badCursor = await api(t.url, "/api/v1/modules/bindings?before=12_nope", {
        headers: asOwner(own),
      });
      expect([badCursor.status, badCursor.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);

      const revoke = (id: string, who: Provisioned) =>
        api(t.url, `/api/v1/modules/bindings/${id}/revoke`, { method: "POST", headers: asOwner(who) });
      const stranger = await revoke(ids[0]!, p);
      expect([stranger.status, stranger.body.error.code]).toEqual([404, "BINDING_NOT_FOUND"]);
      const revoked = await revoke(ids[0]!, own);
      expect(revoked.status).toBe(200);
      expect(revoked.body.data).toMatchObject({
        binding_id: ids[0],
        status: "REVOKED",
        revocation_reason: "owner_revoked",
      });
      const again = await revoke(ids[0]!, own);
      expect(again.body.data).toEqual(revoked.body.data);

      const read = await status(t, own.siteToken, ids[0]!);
      expect(read.body.data).toMatchObject({
        status: "REVOKED",
        agent_id: own.agentId,
        revocation_reason: "owner_revoked",
      });
      expect(read.body.data.revoked_at).toMatch(ISO_UTC);

      const pending = await createId(t, own, "https://own.example/cb");
      expect((await revoke(pending, own)).body.error.code).toBe("BINDING_NOT_FOUND");
      expect((await api(t.url, "/api/v1/modules/bindings")).status).toBe(401);
    });

    test("revoking the agent revokes its bindings as the site sees them (revocation_reason agent_revoked)", async () => {
      const own = await t.provision();
      await setSiteOrigin(t, own, ORIGIN);
      const id = await createId(t, own);
      await pickAgent(t, id, own);
      await api(t.url, `/api/v1/core/agents/${own.agentId}`, { method: "DELETE", headers: asOwner(own) });
      const read = await status(t, own.siteToken, id);
      expect(read.body.data).toMatchObject({
        status: "REVOKED",
        agent_id: own.agentId,
        revocation_reason: "agent_revoked",
      });
      expect(read.body.data.revoked_at).toMatch(ISO_UTC);
    });

    test("a cookie session needs the CSRF header to revoke", async () => {
      const cookieOnly = await api(t.url, `/api/v1/modules/bindings/${crypto.randomUUID()}/revoke`, {
        method: "POST",
        headers: { cookie: `lime_session=${p.sessionToken}` },
      });
      expect([cookieOnly.status, cookieOnly.body.error.code]).toEqual([403, "CSRF_TOKEN_MISSING"]);
    });
  });

  describe("audit", () => {
    test("creation, completion, denial, refusals, revocation and the passport are recorded; the picking owner's address stays theirs", async () => {
      const siteOwner = await t.provision();
      await setSiteOrigin(t, siteOwner, ORIGIN);
      const user = await t.provision();
      const completed = await createId(t, siteOwner);
      await pickAgent(t, completed, user);
      const denied = await createId(t, siteOwner);
      await decline(t, denied, user);
      await refusal(() => pickAgent(t, completed, user));
      await api(t.url, `/api/v1/modules/bindings/${completed}/revoke`, {
        method: "POST",
        headers: asOwner(user),
      });

      const siteTrail = await auditActions(t, siteOwner);
      const userTrail = await auditActions(t, user);
      const about = (trail: typeof siteTrail, id: string) =>
        trail.filter((e) => e.target?.id === id).map((e) => [e.action, e.outcome, e.reason, e.ip]);
      expect(about(siteTrail, completed).reverse()).toEqual([
        ["binding_request.created", "success", null, expect.any(String)],
        ["binding_request.completed", "success", null, null],
        ["binding_request.decision_rejected", "failure", "BINDING_ALREADY_DECIDED", null],
        ["binding.revoked", "success", null, null],
      ]);
      expect(about(userTrail, completed).reverse()).toEqual([
        ["binding_request.completed", "success", null, "203.0.113.7"],
        ["binding_request.decision_rejected", "failure", "BINDING_ALREADY_DECIDED", "203.0.113.7"],
        ["binding.revoked", "success", null, expect.any(String)],
      ]);
      expect(
        about(siteTrail, denied)
          .reverse()
          .map(([action]) => action),
      ).toEqual(["binding_request.created", "binding_request.denied"]);
      expect(siteTrail.find((e) => e.action === "binding.revoked")?.actor).toEqual({
        type: "owner",
        id: user.ownerId,
      });
      const issued = userTrail.filter((e) => e.action === "passport.issued" && e.reason === "binding");
      expect(issued).toHaveLength(1);
      const raw = JSON.stringify([siteTrail, userTrail]);
      expect(raw).not.toContain("eyJ");
    });
  });

  test("/openapi/json describes the four binding routes", async () => {
    const spec = (await (await fetch(`${t.url}/openapi/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      "POST /api/v1/modules/bindings/requests",
      "GET /api/v1/modules/bindings/requests/{id}",
      "GET /api/v1/modules/bindings",
      "POST /api/v1/modules/bindings/{id}/revoke",
    ]) {
      expect(routes).toContain(route);
    }
  });

  test("the passport header names a key the JWKS publishes", async () => {
    const id = await createId(t, p);
    const { passport } = await pickAgent(t, id, p);
    const kid = decodeProtectedHeader(passport.jwt).kid;
    const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    expect(jwks.keys.map((key) => key.kid)).toContain(kid!);
  });
});
