/**
 * Our server against the wire behaviour of LIME's published Python SDKs, one
 * test per SDK method (docs/compat-lime-python.md has the table). Each test
 * sends what the SDK sends and reads the answer the way the SDK reads it
 * (./lime-python-sdk.ts); a drift of our server that would break an
 * unmodified SDK fails here. Real server, real crypto, `jose` as the
 * independent verifier.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader, type JWK } from "jose";
import { systemClock } from "../../server/clock.ts";
import { loadConfig } from "../../server/config.ts";
import { FakeClock, type Provisioned, startTestServer, type TestServer } from "../../server/testing.ts";
import { pickAgent, setSiteOrigin } from "../support/bindings.ts";
import { withBadSignature } from "../support/tamper.ts";
import {
  AGENT_AUTH_CODES,
  AgentSdkClient,
  agentSdkDomain,
  agentSdkGetMcpAccessToken,
  agentSdkLogin,
  agentSdkMcpToken,
  agentSdkProfile,
  agentSdkSolve,
  approvalResult,
  MCP_JWKS_PATH,
  mcpServerSdkFetchJwks,
  mcpServerSdkSnapshot,
  mcpServerSdkVerify,
  parsePythonIsoTime,
  readEnvelope,
  SdkError,
  SiteSdkClient,
  SiteSdkEventStream,
  siteSdkCreateBindingRequest,
  siteSdkCreateLoginRequest,
  siteSdkVerifyBindingPassport,
  siteSdkVerifyPassport,
  siteSdkWaitForLogin,
} from "./lime-python-sdk.ts";

const ADMIN_TOKEN = "compat-admin-token-0123456789abcdef0123456789";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The server's documented form; the SDKs need only what `parsePythonIsoTime` accepts. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** The OAuth module is another engineer's work in progress; its checks switch on once app.ts mounts it. */
const oauthMounted = readFileSync(join(import.meta.dir, "../../server/app.ts"), "utf8").includes(
  "./modules/oauth/",
);

async function expectSdkError(
  promise: Promise<unknown>,
  kind: SdkError["kind"],
  code?: string,
  status?: number,
) {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SdkError);
  const sdkError = error as SdkError;
  expect(sdkError.kind).toBe(kind);
  if (code !== undefined) expect(sdkError.code).toBe(code);
  if (status !== undefined) expect(sdkError.httpStatus).toBe(status);
  return sdkError;
}

describe("LIME Python SDKs against our server", () => {
  let t: TestServer;
  let p: Provisioned;
  let api: string;
  let agent: AgentSdkClient;
  let site: SiteSdkClient;

  beforeAll(async () => {
    // The SDKs check expiry against the wall clock, so this server runs on it too.
    t = await startTestServer({ clock: systemClock, config: { adminToken: ADMIN_TOKEN } });
    p = await t.provision();
    api = `${t.url}/api/v1`;
    agent = new AgentSdkClient(api, p.agentToken);
    site = new SiteSdkClient(api, p.siteToken);
  });
  afterAll(async () => {
    await t.stop();
  });

  describe("lime-agents-sdk: LimeAgent", () => {
    test("login(request_id): public challenge, the SDK's own solver, approve with X-Agent-Token → ApprovalResult", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      const client = new AgentSdkClient(api, p.agentToken);
      const result = await agentSdkLogin(client, created.requestId);

      expect(result.requestId).toBe(created.requestId);
      expect(result.siteId).toBe(p.siteId);
      expect(["APPROVED", "DELIVERED"]).toContain(result.status);
      expect(result.approvedAgentId).toBe(p.agentId);
      expect(result.expiresAt.getTime()).toBe(created.expiresAt.getTime());

      const [challenge, approve] = client.sent;
      expect(challenge!.url).toBe(`${api}/auth/requests/${created.requestId}`);
      expect(challenge!.headers).toEqual({ Accept: "application/json" });
      expect(approve!.url).toBe(`${api}/modules/agent-login/requests/${created.requestId}/approve`);
      expect(approve!.body).toMatch(/^\{"pow_nonce": "(0|[1-9]\d*)"\}$/);
    });

    test("login(): the challenge carries what the solver reads (64-hex challenge, integer difficulty, sha256, ISO time)", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      const data = await agent.getPublic(`/auth/requests/${created.requestId}`);
      expect(data.pow_challenge).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isInteger(data.pow_difficulty)).toBe(true);
      expect(data.pow_algorithm).toBe("sha256");
      expect(data.status).toBe("PENDING");
      expect(data.expires_at).toMatch(ISO_UTC);
      expect(data.site).toEqual({ site_id: p.siteId, display_name: "Test shop" });
    });

    test("login() with a wrong nonce: ApiError INVALID_POW (400), the request stays PENDING and a retry succeeds", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      const challenge = await agent.getPublic(`/auth/requests/${created.requestId}`);
      const good = agentSdkSolve(String(challenge.pow_challenge), Number(challenge.pow_difficulty));
      const wrong = good === "0" ? "1" : String(Number(good) - 1);
      await expectSdkError(
        agent.post(`/modules/agent-login/requests/${created.requestId}/approve`, { pow_nonce: wrong }),
        "ApiError",
        "INVALID_POW",
        400,
      );
      expect((await agent.getPublic(`/auth/requests/${created.requestId}`)).status).toBe("PENDING");
      const retried = await agentSdkLogin(agent, created.requestId);
      expect(retried.approvedAgentId).toBe(p.agentId);
    });

    test("login() without pow_nonce: ApiError MISSING_POW_NONCE (400)", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      await expectSdkError(
        agent.post(`/modules/agent-login/requests/${created.requestId}/approve`, {}),
        "ApiError",
        "MISSING_POW_NONCE",
        400,
      );
    });

    test("login() with an unknown request id: ApiError SITE_LOGIN_REQUEST_NOT_FOUND (404), as LIME's integration test asserts", async () => {
      // tests/integration/test_full_cycle.py test_invalid_request_id_raises, with its id.
      await expectSdkError(
        agentSdkLogin(agent, "00000000-0000-4000-8000-000000000099"),
        "ApiError",
        "SITE_LOGIN_REQUEST_NOT_FOUND",
        404,
      );
    });

    test("login() on an approved request: the challenge fetch is an ApiError LOGIN_REQUEST_ALREADY_APPROVED (409)", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      await agentSdkLogin(agent, created.requestId);
      await expectSdkError(
        agentSdkLogin(agent, created.requestId),
        "ApiError",
        "LOGIN_REQUEST_ALREADY_APPROVED",
        409,
      );
    });

    test("login() with a bad or absent agent token: AuthenticationError INVALID_AGENT_TOKEN / MISSING_AGENT_TOKEN (401)", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      const impostor = new AgentSdkClient(api, `lime_agent_${"A".repeat(43)}`);
      await expectSdkError(
        agentSdkLogin(impostor, created.requestId),
        "AuthenticationError",
        "INVALID_AGENT_TOKEN",
        401,
      );
      // The SDK refuses to start without a token; the code is still one its client maps.
      const answer = await fetch(`${api}/modules/agent-login/requests/${created.requestId}/approve`, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: '{"pow_nonce": "1"}',
      });
      const body = await answer.text();
      await expectSdkError(
        (async () => readEnvelope(answer.status, body, AGENT_AUTH_CODES))(),
        "AuthenticationError",
        "MISSING_AGENT_TOKEN",
        401,
      );
    });

    test("get_profile(): GET with Content-Type and no body → AgentProfile with every field the SDK reads", async () => {
      const profile = await agentSdkProfile(agent);
      expect(profile).toEqual({
        agentId: p.agentId,
        ownerId: p.ownerId,
        displayName: "Test agent",
        avatarUrl: null,
        description: "integration test agent",
        ownerKycLevel: 1,
        agentReputation: 0,
      });
      expect(agent.sent.at(-1)!.headers["Content-Type"]).toBe("application/json");
    });

    test.skipIf(!oauthMounted)(
      "get_mcp_access_token(target): POST /modules/oauth/token {domain} → exactly {access_token, token_type, expires_in}, no-store",
      async () => {
        // Zero-Touch: nobody registered rs.example, as with LIME.
        const token = await agentSdkGetMcpAccessToken(agent, "https://rs.example/mcp");
        expect(agent.sent.at(-1)!.body).toBe('{"domain": "rs.example"}');
        expect(token.tokenType).toBe("Bearer");
        // The SDK refreshes `mcp_token_refresh_skew` (30 s) early; a shorter life would refresh on every call.
        expect(token.expiresIn).toBeGreaterThan(30);
        expect(decodeJwt(token.accessToken).sub).toBe(p.agentId);
        await expectSdkError(
          agentSdkMcpToken(new AgentSdkClient(api, `lime_agent_${"A".repeat(43)}`), "rs.example"),
          "AuthenticationError",
          undefined,
          401,
        );
      },
    );

    test.skipIf(!oauthMounted)(
      "get_mcp_access_token('http://localhost:4212/mcp'): the SDK strips the port; the token is bound to localhost",
      async () => {
        const token = await agentSdkGetMcpAccessToken(agent, "http://localhost:4212/mcp");
        expect(agent.sent.at(-1)!.body).toBe('{"domain": "localhost"}');
        const claims = decodeJwt(token.accessToken);
        expect(claims.aud).toEqual(["mcp", "https://localhost"]);
        expect(claims.domain).toBe("localhost");
        expect(() => agentSdkDomain("http://127.0.0.1:4212/mcp")).toThrow("IP address");
      },
    );
  });

  describe("lime-sites-sdk: LimeSite", () => {
    test("create_login_request(): POST {} with X-Site-Token → LoginRequestResult (login_request_id, PENDING, expires_at)", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      expect(created.requestId).toMatch(UUID);
      expect(created.status).toBe("PENDING");
      expect(created.expiresAt.getTime()).toBeGreaterThan(Date.now());
      const raw = await site.post("/modules/agent-login/requests", {});
      expect(raw.expires_at).toMatch(ISO_UTC);
    });

    test("create_login_request() with a bad, absent or suspended site token: AuthenticationError with LIME's codes (401)", async () => {
      await expectSdkError(
        siteSdkCreateLoginRequest(new SiteSdkClient(api, `lime_site_${"A".repeat(43)}`)),
        "AuthenticationError",
        "SITE_TOKEN_INVALID",
        401,
      );
      await expectSdkError(
        siteSdkCreateLoginRequest(new SiteSdkClient(api, "")),
        "AuthenticationError",
        "SITE_TOKEN_MISSING",
        401,
      );
      const other = await t.provision();
      const suspended = await fetch(`${api}/foundation/sites/${other.siteId}/suspend`, {
        method: "POST",
        headers: { authorization: `Bearer ${other.sessionToken}` },
      });
      expect(suspended.status).toBe(200);
      const suspendedSite = new SiteSdkClient(api, other.siteToken);
      await expectSdkError(
        siteSdkCreateLoginRequest(suspendedSite),
        "AuthenticationError",
        "SITE_SUSPENDED",
        401,
      );
      await expectSdkError(
        new SiteSdkEventStream().connect(suspendedSite),
        "ApiError",
        "SSE_HTTP_ERROR",
        401,
      );
    });

    test("on_login: the event stream hands (request_id, passport) to the handler; keepalives are data frames", async () => {
      const own = await t.provision();
      const ownSite = new SiteSdkClient(api, own.siteToken);
      const stream = new SiteSdkEventStream();
      const calls: Array<[string, string | null]> = [];
      stream.onLogin((id, passport) => calls.push([id, passport]));
      await stream.connect(ownSite);
      try {
        expect(stream.status).toBe(200);
        expect(stream.contentType).toStartWith("text/event-stream");
        const created = await siteSdkCreateLoginRequest(ownSite);
        await agentSdkLogin(new AgentSdkClient(api, own.agentToken), created.requestId);
        await stream.waitFor(() => calls.length === 1 && stream.frames.some((f) => f.kind === "keepalive"));
        expect(calls[0]![0]).toBe(created.requestId);
        const verified = await siteSdkVerifyPassport(ownSite, calls[0]![1]!, {
          expectedRequestId: created.requestId,
        });
        expect(verified.claims.agent_id).toBe(own.agentId);
        expect(stream.frames.find((f) => f.kind === "keepalive")!.payload).toEqual({ type: "keepalive" });
        expect(stream.frames.filter((f) => f.kind === "ignore")).toEqual([]);
      } finally {
        await stream.close();
      }
    });

    test("on_login after a reconnect without Last-Event-ID: an approval made while no stream was open is delivered", async () => {
      const own = await t.provision();
      const ownSite = new SiteSdkClient(api, own.siteToken);
      const created = await siteSdkCreateLoginRequest(ownSite);
      await agentSdkLogin(new AgentSdkClient(api, own.agentToken), created.requestId);

      const stream = new SiteSdkEventStream();
      const calls: Array<[string, string | null]> = [];
      stream.onLogin((id, passport) => calls.push([id, passport]));
      await stream.connect(ownSite);
      try {
        await stream.waitFor(() => calls.length === 1);
        expect(calls[0]![0]).toBe(created.requestId);
        expect(typeof calls[0]![1]).toBe("string");
      } finally {
        await stream.close();
      }
    });

    test("on_login when the server ends the stream (site suspended): the error frame is logged, no handler runs", async () => {
      const q = await t.provision();
      const own = new SiteSdkClient(api, q.siteToken);
      const stream = new SiteSdkEventStream();
      const calls: Array<[string, string | null]> = [];
      stream.onLogin((id, passport) => calls.push([id, passport]));
      await stream.connect(own);
      try {
        const suspended = await fetch(`${t.url}/api/v1/foundation/sites/${q.siteId}/suspend`, {
          method: "POST",
          headers: { authorization: `Bearer ${q.sessionToken}` },
        });
        expect(suspended.status).toBe(200);
        await stream.waitFor(() => stream.logged.length > 0);
        expect(stream.logged).toEqual(["SSE error frame: [SITE_SUSPENDED] The site is suspended."]);
        expect(stream.frames.at(-1)!.payload).toEqual({
          type: "error",
          code: "SITE_SUSPENDED",
          message: "The site is suspended.",
        });
        expect(calls).toEqual([]);
      } finally {
        await stream.close();
      }
    });

    test("wait_for_login(request_id) (site SDK < 1.0): frames of the site's other requests are skipped, ours is returned", async () => {
      const own = await t.provision();
      const ownSite = new SiteSdkClient(api, own.siteToken);
      const ownAgent = new AgentSdkClient(api, own.agentToken);
      const other = await siteSdkCreateLoginRequest(ownSite);
      const ours = await siteSdkCreateLoginRequest(ownSite);
      const waiting = siteSdkWaitForLogin(ownSite, ours.requestId);
      await agentSdkLogin(ownAgent, other.requestId);
      await agentSdkLogin(ownAgent, ours.requestId);
      const result = await waiting;
      expect(result.requestId).toBe(ours.requestId);
      expect(result.redirectUrl).toBeNull();
      expect(decodeJwt(result.agentPassportJwt).request_id).toBe(ours.requestId);
    });

    test("verify_passport(jwt, expected_request_id): top-level JWKS `keys` by kid, RS256, aud lime-site-login, TTL ≤ 120 s", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      await agentSdkLogin(agent, created.requestId);
      const jwt = await passportFor(created.requestId);
      const { claims } = await siteSdkVerifyPassport(site, jwt, { expectedRequestId: created.requestId });
      expect(claims).toMatchObject({
        agent_id: p.agentId,
        user_id: p.ownerId,
        request_id: created.requestId,
        site_id: p.siteId,
        aud: "lime-site-login",
        owner_kyc_level: 1,
        passport_version: 1,
      });
      // The claims LIME's site README tells integrators to read, as the signed token carries them.
      const signed = decodeJwt(jwt);
      expect(signed).toMatchObject({
        agent_id: p.agentId,
        user_id: p.ownerId,
        request_id: created.requestId,
      });
      expect(signed.user_kyc_level).toBe(1);
      expect(Number.isInteger(signed.agent_reputation)).toBe(true);
      expect(claims.user_kyc_level).toBe(1);
      expect(claims.agent_reputation).toBe(signed.agent_reputation as number);
      expect(claims.sub).toBeUndefined();
      expect(Number(claims.exp) - Number(claims.iat)).toBeLessThanOrEqual(120);
      expect(decodeProtectedHeader(jwt).alg).toBe("RS256");

      await expectSdkError(
        siteSdkVerifyPassport(site, jwt, { expectedRequestId: crypto.randomUUID() }),
        "InvalidPassportError",
      );
      await expectSdkError(siteSdkVerifyPassport(site, withBadSignature(jwt)), "InvalidPassportError");
      await expectSdkError(
        siteSdkVerifyPassport(site, jwt, { now: Number(claims.exp) }),
        "InvalidPassportError",
        undefined,
      );
    });

    test("verify_passport() as site SDK < 1.1.0 read it (JWKS through the envelope) and < 1.2.1 (PyJWT iat check on)", async () => {
      const created = await siteSdkCreateLoginRequest(site);
      await agentSdkLogin(agent, created.requestId);
      const jwt = await passportFor(created.requestId);
      const verified = await siteSdkVerifyPassport(site, jwt, {
        expectedRequestId: created.requestId,
        jwksThroughEnvelope: true,
        checkIat: true,
      });
      expect(verified.valid).toBe(true);
    });

    test("verify_passport() across a key rotation: a kid missing from the cached JWKS is found by the SDK's one refetch", async () => {
      const keyCache = new Map<string, CryptoKey>();
      const before = await siteSdkCreateLoginRequest(site);
      await agentSdkLogin(agent, before.requestId);
      const oldJwt = await passportFor(before.requestId);
      await siteSdkVerifyPassport(site, oldJwt, { keyCache });

      for (let i = 0; i < 2; i++) {
        const rotated = await fetch(`${api}/admin/keys/rotate`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(rotated.status).toBe(200);
      }
      const after = await siteSdkCreateLoginRequest(site);
      await agentSdkLogin(agent, after.requestId);
      const newJwt = await passportFor(after.requestId);
      const newKid = decodeProtectedHeader(newJwt).kid!;
      expect(keyCache.has(newKid)).toBe(false);
      await siteSdkVerifyPassport(site, newJwt, { keyCache, expectedRequestId: after.requestId });
      // The passport signed before both rotations still verifies: its key stays published while it lives.
      await siteSdkVerifyPassport(site, oldJwt, { keyCache });
    });

    test("the keepalive interval always stays inside the stream read timeout the site SDK sets (310 s)", () => {
      expect(loadConfig({ PORT: "0" }).sseKeepaliveMs).toBeLessThan(310_000);
      expect(loadConfig({ PORT: "0", SSE_KEEPALIVE_SECONDS: "300" }).sseKeepaliveMs).toBeLessThan(310_000);
      expect(() => loadConfig({ PORT: "0", SSE_KEEPALIVE_SECONDS: "310" })).toThrow("SSE_KEEPALIVE_SECONDS");
    });

    describe("Agent Binding (site SDK 1.2+, 2.0)", () => {
      const ORIGIN = "https://shop.example";
      const CALLBACK = `${ORIGIN}/bind/callback`;

      /** A site with a registered origin (bindings need one) and the LIME SDK's client for it. */
      async function bindingSite() {
        const own = await t.provision();
        await setSiteOrigin(t, own, ORIGIN);
        return { own, client: new SiteSdkClient(api, own.siteToken) };
      }

      test("create_binding_request(redirect_uri=): 201 → BindingRequestResult (binding_id, connect_url as given, PENDING, expires_at)", async () => {
        const { client } = await bindingSite();
        const before = Date.now();
        const result = await siteSdkCreateBindingRequest(client, CALLBACK);
        expect(result.bindingId).toMatch(UUID);
        expect(result.connectUrl).toBe(`${t.config.publicUrl}/connect?binding_id=${result.bindingId}`);
        expect(result.status).toBe("PENDING");
        const ttl = t.config.lifetimes.bindingRequestMs;
        expect(result.expiresAt.getTime()).toBeGreaterThanOrEqual(Math.floor((before + ttl) / 1000) * 1000);
        expect(result.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + ttl);
        const raw = await client.post("/modules/bindings/requests", { redirect_uri: CALLBACK });
        expect(raw.expires_at).toMatch(ISO_UTC);
      });

      test("create_binding_request(): a bad site token is AuthenticationError; a refused redirect_uri or a site without origin is ApiError", async () => {
        const { client } = await bindingSite();
        await expectSdkError(
          siteSdkCreateBindingRequest(new SiteSdkClient(api, `lime_site_${"A".repeat(43)}`), CALLBACK),
          "AuthenticationError",
          "SITE_TOKEN_INVALID",
          401,
        );
        await expectSdkError(
          siteSdkCreateBindingRequest(client, "not-a-url"),
          "ApiError",
          "REDIRECT_URI_NOT_ALLOWED",
          400,
        );
        await expectSdkError(
          siteSdkCreateBindingRequest(client, "https://evil.example/cb"),
          "ApiError",
          "REDIRECT_URI_NOT_ALLOWED",
          400,
        );
        await expectSdkError(
          siteSdkCreateBindingRequest(site, CALLBACK),
          "ApiError",
          "SITE_ORIGIN_REQUIRED",
          409,
        );
      });

      test("verify_binding_passport(jwt): the passport from ?passport= passes the SDK's checks (jose verifies the RS256 signature)", async () => {
        const { own, client } = await bindingSite();
        const created = await siteSdkCreateBindingRequest(client, `${CALLBACK}?from=settings`);
        // The hosted connect page's step, through the service function it calls.
        const { redirectUrl } = await pickAgent(t, created.bindingId, own);
        const callback = new URL(redirectUrl);
        expect(`${callback.origin}${callback.pathname}`).toBe(CALLBACK);
        expect(callback.searchParams.get("from")).toBe("settings");
        expect(callback.searchParams.get("binding_id")).toBe(created.bindingId);
        const jwt = callback.searchParams.get("passport")!;

        const verified = await siteSdkVerifyBindingPassport(client, jwt);
        expect(verified.valid).toBe(true);
        expect(verified.claims).toMatchObject({
          agent_id: own.agentId,
          binding_id: created.bindingId,
          user_id: own.ownerId,
          site_id: own.siteId,
          aud: "lime-binding",
          user_kyc_level: 1,
          agent_reputation: 0,
          passport_version: 1,
        });
        expect(verified.claims.sub).toBeUndefined();
        expect(Number(verified.claims.exp) - Number(verified.claims.iat)).toBeLessThanOrEqual(60);
        expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: "RS256", typ: "binding+jwt" });

        // Site SDK < 1.1.0 (JWKS through the envelope) and < 1.2.1 (PyJWT's iat check on) accept it too.
        const older = await siteSdkVerifyBindingPassport(client, jwt, {
          jwksThroughEnvelope: true,
          checkIat: true,
        });
        expect(older.valid).toBe(true);
      });

      test("verify_binding_passport(): a login passport, a tampered one and an expired one are InvalidPassportError", async () => {
        const { own, client } = await bindingSite();
        const created = await siteSdkCreateBindingRequest(client, CALLBACK);
        const jwt = new URL((await pickAgent(t, created.bindingId, own)).redirectUrl).searchParams.get(
          "passport",
        )!;
        const login = await siteSdkCreateLoginRequest(site);
        await agentSdkLogin(agent, login.requestId);
        const audience = await expectSdkError(
          siteSdkVerifyBindingPassport(client, await passportFor(login.requestId)),
          "InvalidPassportError",
        );
        expect(audience.message).toContain("Invalid audience");
        await expectSdkError(
          siteSdkVerifyBindingPassport(client, withBadSignature(jwt)),
          "InvalidPassportError",
        );
        await expectSdkError(
          siteSdkVerifyBindingPassport(client, jwt, { now: Number(decodeJwt(jwt).exp) }),
          "InvalidPassportError",
        );
      });
    });
  });

  describe("lime-mcp-server-sdk: TokenVerifier", () => {
    test("JWKS at the SDK's default path: the envelope `{ok, data: {keys}}`, non-empty, unique kids, public RSA keys only", async () => {
      const keys = await mcpServerSdkFetchJwks(t.url, "");
      expect(keys.length).toBeGreaterThan(0);
      const kids = keys.map((key) => key.kid);
      expect(new Set(kids).size).toBe(kids.length);
      for (const key of keys) {
        expect(Object.keys(key).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
        expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
      }
      const raw = (await (await fetch(`${t.url}${MCP_JWKS_PATH}`)).json()) as { keys: JWK[] };
      expect(raw.keys).toEqual(keys);
    });

    test("the root /.well-known/jwks.json satisfies both readers too (a jwks_uri may name either path)", async () => {
      const viaEnvelope = await mcpServerSdkFetchJwks(t.url, `${t.url}/.well-known/jwks.json`);
      const site = new SiteSdkClient(t.url, p.siteToken);
      const topLevel = (await site.fetchSpecDocument("/.well-known/jwks.json")).keys;
      expect(topLevel).toEqual(viaEnvelope);
    });

    describe.skipIf(!oauthMounted)("with the OAuth module", () => {
      let m: TestServer;
      let mp: Provisioned;

      beforeAll(async () => {
        m = await startTestServer({ clock: systemClock, publicUrlIsOwnUrl: true });
        mp = await m.provision();
      });
      afterAll(async () => {
        await m?.stop();
      });

      test("warmup(): metadata read through the envelope, issuer present, same-origin jwks_uri followed", async () => {
        const snapshot = await mcpServerSdkSnapshot(m.url);
        expect(snapshot.issuer).toBe(m.url);
        expect(snapshot.keys.length).toBeGreaterThan(0);
      });

      test("verify(token): a token from lime-agents-sdk's call passes with iss, aud mcp, sub, domain pin, no passport claims", async () => {
        const token = await agentSdkGetMcpAccessToken(
          new AgentSdkClient(`${m.url}/api/v1`, mp.agentToken),
          "https://rs.example/mcp",
        );
        const snapshot = await mcpServerSdkSnapshot(m.url);
        const claims = await mcpServerSdkVerify(token.accessToken, {
          ...snapshot,
          expectedDomain: "rs.example",
        });
        expect(claims.sub).toBe(mp.agentId);
        await expect(
          mcpServerSdkVerify(token.accessToken, { ...snapshot, expectedDomain: "other.example" }),
        ).rejects.toThrow("Domain mismatch");
      });
    });
  });

  /** The passport of an approved request, read from the status route (ours); the stream carries the same JWT. */
  async function passportFor(requestId: string): Promise<string> {
    const response = await fetch(`${api}/modules/agent-login/requests/${requestId}`, {
      headers: { "X-Site-Token": site.siteToken, Accept: "application/json" },
    });
    const jwt = ((await response.json()) as { data: { agent_passport_jwt: string | null } }).data
      .agent_passport_jwt;
    expect(typeof jwt).toBe("string");
    return jwt!;
  }
});

describe("LIME Python SDKs: expiry and rate limits", () => {
  let t: TestServer;
  let clock: FakeClock;

  beforeAll(async () => {
    clock = new FakeClock();
    t = await startTestServer({
      clock,
      config: { rateLimits: { approvalsPerMinute: 2, loginRequestsPerMinute: 3 } },
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  test("on_login with an expired request: the handler gets (request_id, None)", async () => {
    const p = await t.provision();
    const site = new SiteSdkClient(`${t.url}/api/v1`, p.siteToken);
    const stream = new SiteSdkEventStream();
    const calls: Array<[string, string | null]> = [];
    stream.onLogin((id, passport) => calls.push([id, passport]));
    await stream.connect(site);
    try {
      const created = await siteSdkCreateLoginRequest(site);
      clock.advance(t.config.lifetimes.loginRequestMs + 1000);
      await t.server.maintain();
      await stream.waitFor(() => calls.length === 1);
      expect(calls[0]).toEqual([created.requestId, null]);
    } finally {
      await stream.close();
    }
  });

  test("login() on an expired request: ApiError REQUEST_EXPIRED, the code LIME's docs branch on", async () => {
    const p = await t.provision();
    const api = `${t.url}/api/v1`;
    const created = await siteSdkCreateLoginRequest(new SiteSdkClient(api, p.siteToken));
    clock.advance(t.config.lifetimes.loginRequestMs + 1000);
    const error = await expectSdkError(
      agentSdkLogin(new AgentSdkClient(api, p.agentToken), created.requestId),
      "ApiError",
      "REQUEST_EXPIRED",
    );
    expect(error.detail).toEqual({ reason: "login_request_expired" });
  });

  test("RateLimitError: 429 RATE_LIMIT_EXCEEDED with a whole-seconds Retry-After, for the agent and for the site", async () => {
    const p = await t.provision();
    const api = `${t.url}/api/v1`;
    const site = new SiteSdkClient(api, p.siteToken);
    const agent = new AgentSdkClient(api, p.agentToken);
    const created = await siteSdkCreateLoginRequest(site);
    const approve = () =>
      agent.post(`/modules/agent-login/requests/${created.requestId}/approve`, { pow_nonce: "x" });
    await expectSdkError(approve(), "ApiError", "INVALID_POW");
    await expectSdkError(approve(), "ApiError", "INVALID_POW");
    await expectSdkError(approve(), "RateLimitError", "RATE_LIMIT_EXCEEDED", 429);
    const raw = await fetch(`${api}/modules/agent-login/requests/${created.requestId}/approve`, {
      method: "POST",
      headers: { "X-Agent-Token": p.agentToken, "Content-Type": "application/json" },
      body: '{"pow_nonce": "x"}',
    });
    expect(raw.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);

    await siteSdkCreateLoginRequest(site);
    await siteSdkCreateLoginRequest(site);
    await expectSdkError(siteSdkCreateLoginRequest(site), "RateLimitError", "RATE_LIMIT_EXCEEDED", 429);
  });

  test("the fromisoformat model refuses what Python 3.10 refuses, so the time checks above can fail", () => {
    expect(parsePythonIsoTime("2026-11-26T12:00:00Z").toISOString()).toBe("2026-11-26T12:00:00.000Z");
    expect(() => parsePythonIsoTime("2026-11-26T12:00:00.1Z")).toThrow();
    const example = approvalResult({
      request_id: "r",
      site_id: "s",
      status: "APPROVED",
      expires_at: "2026-11-26T12:00:00Z",
      approved_agent_id: null,
    });
    expect(example.approvedAgentId).toBeNull();
  });
});
