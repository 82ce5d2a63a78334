import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { verify } from "@lime-ts/core/pow";
import {
  approveWithPkce,
  authorizationPath,
  call,
  exchangeCode,
  type JsonAnswer,
  OAUTH,
  type ProvisionedServer,
  peekClaims,
  pkcePair,
  REDIRECT_URI,
  registerAgent,
  registerClient,
  registerResource,
  revokeAgent,
  solvePow,
  startProvisionedServer,
  tokenRequest,
} from "./helpers.ts";

const RESOURCE = "https://tools.example/mcp";

describe("authorization code flow with PKCE (OAuth 2.1 §4.1), agent self-approval", () => {
  let t: ProvisionedServer;
  let clientId: string;

  beforeAll(async () => {
    t = await startProvisionedServer(RESOURCE, { scopes: ["mcp:tools", "files:read"] });
    clientId = await registerClient(t.url);
  });
  afterAll(async () => {
    await t.stop();
  });

  /** A fresh code for `clientId`, approved by the agent. */
  const freshCode = (overrides: { scope?: string } = {}) =>
    approveWithPkce(t.url, t.agent.agentToken, { clientId, resource: RESOURCE, ...overrides });
  /** The audit rows recorded for `action`, oldest first (replays have no owner trail an API could show). */
  const auditRows = (action: string) =>
    t.db
      .query(
        "SELECT actor_type, outcome, reason, target_type, target_id FROM audit_events WHERE action = ? ORDER BY seq",
      )
      .all(action) as {
      actor_type: string;
      outcome: string;
      reason: string;
      target_type: string;
      target_id: string;
    }[];
  /** Why the grant `grantId` was revoked (null while it stands). */
  const revokedReason = (grantId: string) =>
    (
      t.db.query("SELECT revoked_reason FROM oauth_grants WHERE id = ?").get(grantId) as {
        revoked_reason: string | null;
      }
    ).revoked_reason;
  /**
   * Runs `replay` (a leaked credential presented again) and expects one more
   * `action` audit row (anonymous, failure, invalid_grant) and its grant
   * revoked for `reason`; returns the replay's answer.
   */
  const recordsReplay = async (action: string, reason: string, replay: () => Promise<JsonAnswer>) => {
    const before = auditRows(action).length;
    const answer = await replay();
    const recorded = auditRows(action);
    expect(recorded.length).toBe(before + 1);
    expect(recorded.at(-1)).toMatchObject({
      actor_type: "anonymous",
      outcome: "failure",
      reason: "invalid_grant",
      target_type: "oauth_grant",
    });
    expect(revokedReason(recorded.at(-1)!.target_id)).toBe(reason);
    return answer;
  };
  const exchange = (code: string, verifier: string, extra: Record<string, string | string[]> = {}) =>
    exchangeCode(t.url, { code, verifier, clientId }, { resource: RESOURCE, ...extra });

  describe("the authorization endpoint", () => {
    test("an agent gets a PoW challenge (envelope) for a valid request", async () => {
      const answer = await call(
        t.url,
        authorizationPath({ clientId, resource: RESOURCE, challenge: pkcePair().challenge, method: "S256" }),
        { headers: { "x-agent-token": t.agent.agentToken } },
      );
      expect(answer.status).toBe(200);
      expect(answer.body.ok).toBe(true);
      expect(answer.body.data.pow_algorithm).toBe("sha256");
      expect(answer.body.data.pow_challenge).toMatch(/^[0-9a-f]{64}$/);
      expect(answer.body.data.resource).toBe(RESOURCE);
      expect(answer.body.data.scope).toBe("mcp:tools files:read");
    });

    test("the solved challenge redirects at once with code, state and iss (RFC 9207)", async () => {
      const { location, code } = await freshCode();
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(location.searchParams.get("state")).toBe("state-123");
      expect(location.searchParams.get("iss")).toBe(t.issuer);
    });

    test("an unknown client or a redirect URI that is not registered exactly: an error page, never a redirect", async () => {
      const challenge = pkcePair().challenge;
      for (const params of [
        { clientId: "mcp_unknown", resource: RESOURCE, challenge, method: "S256" },
        {
          clientId,
          resource: RESOURCE,
          challenge,
          method: "S256",
          redirectUri: "https://evil.example/callback",
        },
        { clientId, resource: RESOURCE, challenge, method: "S256", redirectUri: `${REDIRECT_URI}/` },
        {
          clientId,
          resource: RESOURCE,
          challenge,
          method: "S256",
          redirectUri: "http://127.0.0.1:8977/callback",
        },
        { clientId, resource: RESOURCE, challenge, method: "S256", redirectUri: `${REDIRECT_URI}?x=1` },
      ]) {
        const answer = await call(t.url, authorizationPath(params));
        expect(answer.status).toBe(400);
        expect(answer.headers.get("location")).toBeNull();
        expect(answer.headers.get("content-type")).toStartWith("text/html");
        expect(answer.headers.get("x-frame-options")).toBe("DENY");
      }
      const noRedirect = await call(t.url, `${OAUTH}/authorize?response_type=code&client_id=${clientId}`);
      expect(noRedirect.status).toBe(400);
      expect(noRedirect.headers.get("location")).toBeNull();
    });

    const redirected = async (params: Parameters<typeof authorizationPath>[0]) => {
      const answer = await call(t.url, authorizationPath(params));
      expect(answer.status).toBe(302);
      const location = new URL(answer.headers.get("location")!);
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
      expect(location.searchParams.get("iss")).toBe(t.issuer);
      expect(location.searchParams.get("code")).toBeNull();
      return location;
    };

    test("PKCE is required and S256 only: plain or a missing method → invalid_request at the redirect URI, with state", async () => {
      const challenge = pkcePair().challenge;
      for (const params of [
        { clientId, resource: RESOURCE, challenge, method: "plain" },
        { clientId, resource: RESOURCE, challenge },
        { clientId, resource: RESOURCE, method: "S256" },
        { clientId, resource: RESOURCE, challenge: "too-short", method: "S256" },
      ]) {
        const location = await redirected(params);
        expect(location.searchParams.get("error")).toBe("invalid_request");
        expect(location.searchParams.get("state")).toBe("state-123");
      }
    });

    test("response_type other than code → unsupported_response_type (no implicit flow)", async () => {
      const location = await redirected({
        clientId,
        resource: RESOURCE,
        challenge: pkcePair().challenge,
        method: "S256",
        responseType: "token",
      });
      expect(location.searchParams.get("error")).toBe("unsupported_response_type");
    });

    test("an unknown, missing, malformed or repeated resource → invalid_target (RFC 8707)", async () => {
      const challenge = pkcePair().challenge;
      for (const resource of [
        "https://unknown.example/mcp",
        [],
        "https://tools.example/mcp#frag",
        "not-a-uri",
        [RESOURCE, "https://other.example/mcp"],
      ]) {
        const location = await redirected({ clientId, resource, challenge, method: "S256" });
        expect(location.searchParams.get("error")).toBe("invalid_target");
      }
    });

    test("a scope the resource does not declare → invalid_scope; a repeated parameter → invalid_request", async () => {
      const challenge = pkcePair().challenge;
      const scope = await redirected({
        clientId,
        resource: RESOURCE,
        challenge,
        method: "S256",
        scope: "admin",
      });
      expect(scope.searchParams.get("error")).toBe("invalid_scope");
      const repeated = await redirected({
        clientId,
        resource: RESOURCE,
        challenge,
        method: "S256",
        extra: { response_type: "code" },
      });
      expect(repeated.searchParams.get("error")).toBe("invalid_request");
    });

    test("agent approval: a wrong nonce leaves the request pending; another agent, a missing nonce, a lapsed or decided request are refused", async () => {
      const pkce = pkcePair();
      const challenge = await call(
        t.url,
        authorizationPath({ clientId, resource: RESOURCE, challenge: pkce.challenge, method: "S256" }),
        { headers: { "x-agent-token": t.agent.agentToken } },
      );
      const { authorization_request_id: id, pow_challenge, pow_difficulty } = challenge.body.data;
      const approve = (token: string, nonce?: string) =>
        call(t.url, `${OAUTH}/authorize`, {
          headers: { "x-agent-token": token },
          json: { authorization_request_id: id, ...(nonce === undefined ? {} : { pow_nonce: nonce }) },
        });
      let wrong = 0;
      while (verify(pow_challenge, pow_difficulty, String(wrong))) wrong++;
      const nonce = await solvePow(pow_challenge, pow_difficulty);
      const bad = await approve(t.agent.agentToken, String(wrong));
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe("INVALID_POW");
      const missing = await approve(t.agent.agentToken);
      expect(missing.body.error.code).toBe("MISSING_POW_NONCE");
      const other = await registerAgent(t.url, t.owner);
      const foreign = await approve(other.agentToken, nonce);
      expect(foreign.status).toBe(404);
      expect(foreign.body.error.code).toBe("OAUTH_AUTHORIZATION_REQUEST_NOT_FOUND");
      const good = await approve(t.agent.agentToken, nonce);
      expect(good.status).toBe(302);
      const again = await approve(t.agent.agentToken, nonce);
      expect(again.body.error.code).toBe("OAUTH_AUTHORIZATION_REQUEST_NOT_FOUND");

      const late = await call(
        t.url,
        authorizationPath({ clientId, resource: RESOURCE, challenge: pkce.challenge, method: "S256" }),
        { headers: { "x-agent-token": t.agent.agentToken } },
      );
      t.clock.advance(t.config.oauth.authorizationRequestMs + 1000);
      try {
        const lapsed = await call(t.url, `${OAUTH}/authorize`, {
          headers: { "x-agent-token": t.agent.agentToken },
          json: {
            authorization_request_id: late.body.data.authorization_request_id,
            pow_nonce: await solvePow(late.body.data.pow_challenge, late.body.data.pow_difficulty),
          },
        });
        expect(lapsed.status).toBe(410);
        expect(lapsed.body.error.code).toBe("OAUTH_AUTHORIZATION_REQUEST_EXPIRED");
      } finally {
        t.clock.advance(-(t.config.oauth.authorizationRequestMs + 1000));
      }
    });
  });

  describe("the token endpoint", () => {
    test("a code and its verifier → an RFC 9068 access token for the resource, a refresh token, no-store", async () => {
      const { code, verifier } = await freshCode();
      const answer = await exchange(code, verifier);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.headers.get("pragma")).toBe("no-cache");
      expect(answer.body.token_type).toBe("Bearer");
      expect(answer.body.expires_in).toBe(300);
      expect(answer.body.scope).toBe("mcp:tools files:read");
      expect(answer.body.refresh_token).toStartWith("lime_rt_");
      const claims = peekClaims(answer.body.access_token);
      expect(claims.aud).toBe(RESOURCE);
      expect(claims.sub).toBe(t.agent.agentId);
      expect(claims.client_id).toBe(clientId);
      expect(claims.iss).toBe(t.issuer);
      expect(claims.lime_principal).toBe("agent");
    });

    test("a wrong code_verifier → invalid_grant; a missing one → invalid_request", async () => {
      const { code } = await freshCode();
      const wrong = await exchange(code, pkcePair().verifier);
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe("invalid_grant");
      const { code: other } = await freshCode();
      const missing = await tokenRequest(t.url, {
        grant_type: "authorization_code",
        code: other,
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
      });
      expect(missing.body.error).toBe("invalid_request");
    });

    test("code replay → invalid_grant, and what the code issued is revoked (refresh and introspection)", async () => {
      const { code, verifier } = await freshCode();
      const first = await exchange(code, verifier);
      expect(first.status).toBe(200);
      const replay = await recordsReplay("oauth.code_replayed", "code_replayed", () =>
        exchange(code, verifier),
      );
      expect(replay.status).toBe(400);
      expect(replay.body.error).toBe("invalid_grant");
      const refresh = await tokenRequest(t.url, {
        grant_type: "refresh_token",
        refresh_token: first.body.refresh_token,
        client_id: clientId,
      });
      expect(refresh.body.error).toBe("invalid_grant");
      const introspection = await call(t.url, `${OAUTH}/introspect`, {
        headers: { authorization: `Bearer ${t.introspectionToken}` },
        form: { token: first.body.access_token },
      });
      expect(introspection.body).toEqual({ active: false });
    });

    test("a redirect_uri unlike the authorization request's → invalid_grant", async () => {
      const { code, verifier } = await freshCode();
      const answer = await exchange(code, verifier, { redirect_uri: "http://127.0.0.1:8976/other" });
      expect(answer.body.error).toBe("invalid_grant");
    });

    test("another client presenting the code → invalid_grant; an unknown client → invalid_client (401)", async () => {
      const { code, verifier } = await freshCode();
      const otherClient = await registerClient(t.url);
      const stolen = await exchange(code, verifier, { client_id: otherClient });
      expect(stolen.body.error).toBe("invalid_grant");
      const { code: code2, verifier: verifier2 } = await freshCode();
      const unknown = await exchange(code2, verifier2, { client_id: "mcp_nobody" });
      expect(unknown.status).toBe(401);
      expect(unknown.body.error).toBe("invalid_client");
    });

    test("an expired code (fake clock) → invalid_grant", async () => {
      const { code, verifier } = await freshCode();
      t.clock.advance(t.config.oauth.authorizationCodeMs + 1000);
      try {
        const answer = await exchange(code, verifier);
        expect(answer.body.error).toBe("invalid_grant");
      } finally {
        t.clock.advance(-(t.config.oauth.authorizationCodeMs + 1000));
      }
    });

    test("a resource other than the authorized one → invalid_target", async () => {
      await registerResource(t.url, t.owner, "https://second.example/mcp");
      const { code, verifier } = await freshCode();
      const answer = await exchange(code, verifier, { resource: "https://second.example/mcp" });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_target");
    });

    test("grant types: password → unsupported_grant_type, none → invalid_request, client_credentials for a public client → unauthorized_client", async () => {
      const password = await tokenRequest(t.url, {
        grant_type: "password",
        username: "u",
        password: "p",
        client_id: clientId,
      });
      expect(password.body.error).toBe("unsupported_grant_type");
      const none = await tokenRequest(t.url, { client_id: clientId });
      expect(none.body.error).toBe("invalid_request");
      const credentials = await tokenRequest(t.url, {
        grant_type: "client_credentials",
        client_id: clientId,
      });
      expect(credentials.body.error).toBe("unauthorized_client");
    });

    test("client secrets do not exist here: client_secret or Basic credentials → invalid_client", async () => {
      const { code, verifier } = await freshCode();
      const secret = await exchange(code, verifier, { client_secret: "guess" });
      expect(secret.status).toBe(401);
      expect(secret.body.error).toBe("invalid_client");
      const basic = await call(t.url, `${OAUTH}/token`, {
        headers: { authorization: `Basic ${btoa(`${clientId}:x`)}` },
        form: { grant_type: "authorization_code", code, code_verifier: verifier },
      });
      expect(basic.body.error).toBe("invalid_client");
    });

    test("a duplicated parameter → invalid_request (RFC 6749 §3.1)", async () => {
      const { code, verifier } = await freshCode();
      const answer = await exchange(code, verifier, { code: [code, code] });
      expect(answer.body.error).toBe("invalid_request");
    });
  });

  describe("refresh tokens (OAuth 2.1 §4.3.1: rotation for public clients)", () => {
    const refresh = (token: string, extra: Record<string, string> = {}) =>
      tokenRequest(t.url, {
        grant_type: "refresh_token",
        refresh_token: token,
        client_id: clientId,
        ...extra,
      });

    test("each use rotates; reusing a rotated token revokes the whole family → invalid_grant", async () => {
      const { code, verifier } = await freshCode();
      const first = await exchange(code, verifier);
      const second = await refresh(first.body.refresh_token);
      expect(second.status).toBe(200);
      expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
      expect(peekClaims(second.body.access_token).aud).toBe(RESOURCE);
      const reuse = await recordsReplay("oauth.refresh_reused", "refresh_reused", () =>
        refresh(first.body.refresh_token),
      );
      expect(reuse.body.error).toBe("invalid_grant");
      const familyGone = await refresh(second.body.refresh_token);
      expect(familyGone.body.error).toBe("invalid_grant");
    });

    test("narrowing the scope works, widening → invalid_scope; another resource → invalid_target; another client → invalid_grant", async () => {
      const { code, verifier } = await freshCode({ scope: "mcp:tools" });
      const first = await exchange(code, verifier);
      expect(first.body.scope).toBe("mcp:tools");
      const widen = await refresh(first.body.refresh_token, { scope: "mcp:tools files:read" });
      expect(widen.body.error).toBe("invalid_scope");
      const { code: code2, verifier: verifier2 } = await freshCode();
      const full = await exchange(code2, verifier2);
      const narrowed = await refresh(full.body.refresh_token, { scope: "files:read" });
      expect(narrowed.status).toBe(200);
      expect(narrowed.body.scope).toBe("files:read");
      const target = await refresh(narrowed.body.refresh_token, { resource: "https://unknown.example/mcp" });
      expect(target.body.error).toBe("invalid_target");
      const otherClient = await registerClient(t.url);
      const stolen = await tokenRequest(t.url, {
        grant_type: "refresh_token",
        refresh_token: narrowed.body.refresh_token,
        client_id: otherClient,
      });
      expect(stolen.body.error).toBe("invalid_grant");
    });

    test("an expired refresh token → invalid_grant", async () => {
      const { code, verifier } = await freshCode();
      const first = await exchange(code, verifier);
      t.clock.advance(t.config.oauth.refreshTokenMs + 1000);
      try {
        expect((await refresh(first.body.refresh_token)).body.error).toBe("invalid_grant");
      } finally {
        t.clock.advance(-(t.config.oauth.refreshTokenMs + 1000));
      }
    });

    test("once the agent is revoked, its refresh tokens → invalid_grant", async () => {
      const second = await registerAgent(t.url, t.owner);
      const { code, verifier } = await approveWithPkce(t.url, second.agentToken, {
        clientId,
        resource: RESOURCE,
      });
      const first = await exchange(code, verifier);
      await revokeAgent(t.url, t.owner, second.agentId);
      expect((await refresh(first.body.refresh_token)).body.error).toBe("invalid_grant");
    });
  });
});
