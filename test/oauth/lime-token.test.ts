import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AgentClient } from "@lime-ts/sdk";
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { loadConfig } from "../../server/config.ts";
import {
  authorizationPath,
  call,
  OAUTH,
  type ProvisionedServer,
  peekClaims,
  peekHeader,
  pkcePair,
  registerAgent,
  registerClient,
  revokeAgent,
  solvePow,
  startProvisionedServer,
  tokenRequest,
} from "./helpers.ts";

const TOKEN_PATH = "/api/v1/modules/oauth/token";

describe("LIME's headless token endpoint (POST /api/v1/modules/oauth/token, JSON {domain})", () => {
  let t: ProvisionedServer;
  beforeAll(async () => {
    t = await startProvisionedServer("https://tools.example/mcp", { scopes: ["mcp:tools", "files:read"] });
  });
  afterAll(async () => {
    await t.stop();
  });

  const ask = (json: unknown, token: string | null = t.agent.agentToken) =>
    call(t.url, TOKEN_PATH, { json, headers: token === null ? {} : { "x-agent-token": token } });

  test("answers exactly {access_token, token_type: Bearer, expires_in: 300} with Cache-Control: no-store", async () => {
    const answer = await ask({ domain: "tools.example" });
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    expect(answer.body.token_type).toBe("Bearer");
    expect(answer.body.expires_in).toBe(300);
    expect(answer.headers.get("cache-control")).toBe("no-store");
  });

  test("the token is an RS256 at+jwt for the agent, audience-bound to mcp and the domain, without passport claims", async () => {
    const { body } = await ask({ domain: "tools.example" });
    const header = peekHeader(body.access_token);
    expect(header.alg).toBe("RS256");
    expect(header.typ).toBe("at+jwt");
    const claims = peekClaims(body.access_token);
    expect(claims.sub).toBe(t.agent.agentId);
    expect(claims.iss).toBe(t.issuer);
    expect(claims.aud).toEqual(["mcp", "https://tools.example"]);
    expect(claims.client_id).toBe(t.agent.agentId);
    expect(claims.scope).toBe("files:read mcp:tools");
    expect(typeof claims.jti).toBe("string");
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    for (const absent of ["user_id", "passport_version", "request_id"])
      expect(claims[absent]).toBeUndefined();
  });

  test("what LIME's lime-mcp-server-sdk does verifies it: metadata at the LIME path → same-origin jwks_uri → data.keys → iss equals issuer", async () => {
    const { body } = await ask({ domain: "tools.example" });
    const metadata = await call(t.url, "/api/v1/modules/oauth/.well-known/oauth-authorization-server");
    const jwksUri = new URL(metadata.body.jwks_uri);
    expect(jwksUri.origin).toBe(new URL(t.url).origin);
    const jwks = await call(t.url, jwksUri.pathname);
    // An independent verifier (jose), fed the envelope-shaped key set as LIME's SDK reads it.
    const { payload } = await jwtVerify(body.access_token, createLocalJWKSet({ keys: jwks.body.data.keys }), {
      issuer: metadata.body.issuer,
      audience: "mcp",
      algorithms: ["RS256"],
      typ: "at+jwt",
    });
    expect(payload.sub).toBe(t.agent.agentId);
  });

  test("the TypeScript agent SDK's mcpAccessToken works unmodified", async () => {
    const client = new AgentClient({ baseUrl: t.url, agentToken: t.agent.agentToken });
    const token = await client.mcpAccessToken("https://tools.example/mcp");
    expect(peekClaims(token).aud).toEqual(["mcp", "https://tools.example"]);
  });

  test("agent credential problems answer in the envelope LIME's clients branch on", async () => {
    const missing = await ask({ domain: "tools.example" }, null);
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe("MISSING_AGENT_TOKEN");
    const invalid = await ask({ domain: "tools.example" }, "lime_agent_not-a-real-token");
    expect(invalid.status).toBe(401);
    expect(invalid.body.error.code).toBe("INVALID_AGENT_TOKEN");
    expect(invalid.headers.get("cache-control")).toBe("no-store");
  });

  test("request problems answer in RFC 6749 JSON: invalid_request without a domain, invalid_target for a malformed one", async () => {
    const none = await ask({});
    expect(none.status).toBe(400);
    expect(none.body).toEqual({ error: "invalid_request", error_description: expect.any(String) });
    for (const domain of ["tools.example/mcp", "user@tools.example", "tools.example?x=1"]) {
      const answer = await ask({ domain });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_target");
      expect(answer.headers.get("cache-control")).toBe("no-store");
    }
  });

  test("a revoked agent gets AGENT_REVOKED", async () => {
    const other = await registerAgent(t.url, t.owner);
    await revokeAgent(t.url, t.owner, other.agentId);
    const answer = await ask({ domain: "tools.example" }, other.agentToken);
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe("AGENT_REVOKED");
  });
});

describe("Zero-Touch: OAUTH_DOMAIN_TOKENS", () => {
  const askFor = (t: ProvisionedServer, domain: string) =>
    call(t.url, TOKEN_PATH, { json: { domain }, headers: { "x-agent-token": t.agent.agentToken } });

  test("any-host (the default): an unregistered host gets a token bound to it, with no scope", async () => {
    const t = await startProvisionedServer("https://tools.example/mcp", { scopes: ["mcp:tools"] });
    try {
      expect(t.server.context.config.oauth.domainTokens).toBe("any-host");
      const answer = await askFor(t, "unknown.example");
      expect(answer.status).toBe(200);
      expect(Object.keys(answer.body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
      const claims = peekClaims(answer.body.access_token);
      expect(claims.aud).toEqual(["mcp", "https://unknown.example"]);
      expect(claims.domain).toBe("unknown.example");
      expect(claims.sub).toBe(t.agent.agentId);
      expect(claims.scope).toBeUndefined();
      // A registered host keeps its declared scopes.
      expect(peekClaims((await askFor(t, "tools.example")).body.access_token).scope).toBe("mcp:tools");
    } finally {
      await t.stop();
    }
  });

  test("registered-only: a host nobody registered is invalid_target; a registered one still works", async () => {
    const t = await startProvisionedServer("https://tools.example/mcp", {
      oauth: { domainTokens: "registered-only" },
    });
    try {
      const refused = await askFor(t, "unknown.example");
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe("invalid_target");
      expect((await askFor(t, "tools.example")).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  test("registered-only: a server registered on a port is reached by its host name alone, as LIME's SDK asks", async () => {
    const t = await startProvisionedServer("http://localhost:4212/mcp", {
      oauth: { domainTokens: "registered-only" },
      scopes: ["mcp:tools"],
    });
    try {
      const stripped = await askFor(t, "localhost");
      expect(stripped.status).toBe(200);
      const claims = peekClaims(stripped.body.access_token);
      expect(claims.aud).toEqual(["mcp", "https://localhost"]);
      expect(claims.domain).toBe("localhost");
      expect(claims.scope).toBe("mcp:tools");
      const exact = peekClaims((await askFor(t, "localhost:4212")).body.access_token);
      expect(exact.aud).toEqual(["mcp", "https://localhost:4212"]);
      expect(exact.domain).toBe("localhost");
      // Another port is another server, and a name that is a prefix of the registered one is another host.
      expect((await askFor(t, "localhost:4213")).body.error).toBe("invalid_target");
      expect((await askFor(t, "local")).body.error).toBe("invalid_target");
    } finally {
      await t.stop();
    }
  });

  test("OAUTH_DOMAIN_TOKENS reads any-host or registered-only, and nothing else", () => {
    expect(loadConfig({}).oauth.domainTokens).toBe("any-host");
    expect(loadConfig({ OAUTH_DOMAIN_TOKENS: "registered-only" }).oauth.domainTokens).toBe("registered-only");
    expect(() => loadConfig({ OAUTH_DOMAIN_TOKENS: "some-hosts" })).toThrow(/OAUTH_DOMAIN_TOKENS/);
  });
});

describe("OAUTH_CAPABILITY_DENIED", () => {
  test("an owner below OAUTH_MIN_OWNER_KYC_LEVEL: 403 in the envelope, and no other agent door opens", async () => {
    const t = await startProvisionedServer("https://tools.example/mcp", { oauth: { minOwnerKycLevel: 2 } });
    try {
      const answer = await call(t.url, TOKEN_PATH, {
        json: { domain: "tools.example" },
        headers: { "x-agent-token": t.agent.agentToken },
      });
      expect(answer.status).toBe(403);
      expect(answer.body.ok).toBe(false);
      expect(answer.body.error.code).toBe("OAUTH_CAPABILITY_DENIED");

      // The same policy on the other agent doors: self-approval and client credentials.
      const clientId = await registerClient(t.url);
      const challenge = await call(
        t.url,
        authorizationPath({
          clientId,
          resource: "https://tools.example/mcp",
          challenge: pkcePair().challenge,
          method: "S256",
        }),
        { headers: { "x-agent-token": t.agent.agentToken } },
      );
      const approval = await call(t.url, `${OAUTH}/authorize`, {
        headers: { "x-agent-token": t.agent.agentToken },
        json: {
          authorization_request_id: challenge.body.data.authorization_request_id,
          pow_nonce: await solvePow(challenge.body.data.pow_challenge, challenge.body.data.pow_difficulty),
        },
      });
      expect(approval.status).toBe(403);
      expect(approval.body.error.code).toBe("OAUTH_CAPABILITY_DENIED");
      const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
      await call(t.url, `${OAUTH}/agents/me/jwks`, {
        method: "PUT",
        headers: { "x-agent-token": t.agent.agentToken },
        json: { keys: [await exportJWK(publicKey)] },
      });
      const now = Math.floor(t.clock.now() / 1000);
      const assertion = await new SignJWT({ jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer(t.agent.agentId)
        .setSubject(t.agent.agentId)
        .setAudience(t.issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(privateKey);
      const credentials = await tokenRequest(t.url, {
        grant_type: "client_credentials",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: assertion,
        resource: "https://tools.example/mcp",
      });
      expect(credentials.body.error).toBe("unauthorized_client");
    } finally {
      await t.stop();
    }
  });
});
