/**
 * The official `@modelcontextprotocol/sdk` client, unmodified, against the
 * example MCP server and this authorization server, over real HTTP: 401 →
 * Protected Resource Metadata → Authorization Server Metadata → client
 * identification (DCR in one test, a Client ID Metadata Document in
 * another) → PKCE completed headlessly by the agent → tool call → refresh →
 * refused after revocation. Then the same with the SDK's
 * `PrivateKeyJwtProvider` (client credentials).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PrivateKeyJwtProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { exportJWK, generateKeyPair } from "jose";
import { AgentOAuthProvider, connectWithOAuth } from "../../examples/mcp-server/agent-provider.ts";
import { EXAMPLE_SCOPE, type RunningMcpServer } from "../../examples/mcp-server/server.ts";
import { type CimdHost, startCimdHost } from "./cimd-host.ts";
import {
  call,
  OAUTH,
  type ProvisionedServer,
  peekClaims,
  REDIRECT_URI,
  registerAgent,
  revokeAgent,
  startWithExampleMcp,
} from "./helpers.ts";

interface Recorded {
  method: string;
  url: URL;
  status: number;
  grantType: string | null;
  error: string | null;
}

/** A fetch that records every request the SDK makes (and the OAuth error code of each answer). */
function recordingFetch(log: Recorded[]) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const body = request.method === "POST" ? await request.clone().text() : "";
    const response = await fetch(request);
    const grantType = body.includes("grant_type=") ? new URLSearchParams(body).get("grant_type") : null;
    let error: string | null = null;
    if (!response.ok && response.headers.get("content-type")?.includes("json")) {
      error = ((await response.clone().json()) as { error?: unknown }).error as string | null;
    }
    log.push({
      method: request.method,
      url: new URL(request.url),
      status: response.status,
      grantType,
      error,
    });
    return response;
  };
}

function whoami(result: unknown): Record<string, unknown> {
  return (result as { structuredContent: Record<string, unknown> }).structuredContent;
}

describe("the official MCP SDK client, end to end", () => {
  let t: ProvisionedServer;
  let mcp: RunningMcpServer;
  let host: CimdHost;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    host = startCimdHost();
    ({ t, mcp, stop } = await startWithExampleMcp({
      oauth: { cimd: { allowLoopback: true, caFile: host.caFile } },
    }));
  });
  afterAll(async () => {
    await stop();
    await host.stop();
  });

  /** The shared story: connect, call, refresh, revoke; `identified` checks how the client got its id. */
  async function authorizationCodeStory(
    provider: AgentOAuthProvider,
    agent: { agentId: string },
    log: Recorded[],
  ) {
    const fetchFn = recordingFetch(log);
    const client = await connectWithOAuth(mcp.url, provider, { fetch: fetchFn });
    try {
      const origin = new URL(mcp.url).origin;
      const paths = log.map(
        (entry) => `${entry.method} ${entry.url.origin === origin ? "mcp" : "as"}${entry.url.pathname}`,
      );
      expect(paths[0]).toBe("POST mcp/mcp");
      expect(log[0]!.status).toBe(401);
      expect(paths).toContain("GET mcp/.well-known/oauth-protected-resource/mcp");
      expect(paths).toContain("GET as/.well-known/oauth-authorization-server");
      const exchange = log.find((entry) => entry.grantType === "authorization_code");
      expect(exchange?.status).toBe(200);

      const first = whoami(await client.callTool({ name: "whoami", arguments: {} }));
      expect(first.subject).toBe(agent.agentId);
      expect(first.principal).toBe("agent");
      expect(first.scopes).toEqual([EXAMPLE_SCOPE]);
      const firstTokens = provider.tokens()!;
      expect(peekClaims(firstTokens.access_token).aud).toBe(mcp.resource);

      // The access token lapses (fake clock shared by both servers): the SDK refreshes on the 401 and retries.
      t.clock.advance(310_000);
      const second = whoami(await client.callTool({ name: "whoami", arguments: {} }));
      expect(second.subject).toBe(agent.agentId);
      const refreshes = log.filter((entry) => entry.grantType === "refresh_token");
      expect(refreshes.map((entry) => entry.status)).toEqual([200]);
      expect(provider.tokens()!.refresh_token).not.toBe(firstTokens.refresh_token);

      // Revocation (RFC 7009) of the refresh token: once the access token lapses, the call is refused.
      const revoked = await call(t.url, `${OAUTH}/revoke`, {
        form: {
          token: provider.tokens()!.refresh_token!,
          client_id: provider.clientInformation()!.client_id,
        },
      });
      expect(revoked.status).toBe(200);
      t.clock.advance(310_000);
      await expect(client.callTool({ name: "whoami", arguments: {} })).rejects.toThrow();
      const refused = log.filter((entry) => entry.grantType === "refresh_token").at(-1)!;
      expect(refused.status).toBe(400);
      expect(refused.error).toBe("invalid_grant");
    } finally {
      await client.close();
    }
  }

  test("Dynamic Client Registration: 401 → both metadata documents → /register → PKCE as the agent → whoami → refresh → refused after revocation", async () => {
    const agent = await registerAgent(t.url, t.owner);
    const provider = new AgentOAuthProvider({
      limeUrl: t.issuer,
      agentToken: agent.agentToken,
      redirectUrl: REDIRECT_URI,
    });
    const log: Recorded[] = [];
    await authorizationCodeStory(provider, agent, log);
    const registration = log.find((entry) => entry.url.pathname === `${OAUTH}/register`);
    expect(registration?.status).toBe(201);
    expect(provider.clientInformation()!.client_id).toStartWith("mcp_");

    // With the agent itself revoked, even a fresh connection is refused at the authorization step.
    await revokeAgent(t.url, t.owner, agent.agentId);
    const fresh = new AgentOAuthProvider({
      limeUrl: t.issuer,
      agentToken: agent.agentToken,
      redirectUrl: REDIRECT_URI,
    });
    await expect(connectWithOAuth(mcp.url, fresh)).rejects.toMatchObject({ code: "AGENT_REVOKED" });
  });

  test("Client ID Metadata Document: the https client_id is fetched by the server, no registration call", async () => {
    const agent = await registerAgent(t.url, t.owner);
    const clientId = host.serve("/mcp-client.json", {
      client_id: `${host.origin}/mcp-client.json`,
      client_name: "CIMD MCP client",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    });
    const provider = new AgentOAuthProvider({
      limeUrl: t.issuer,
      agentToken: agent.agentToken,
      redirectUrl: REDIRECT_URI,
      clientMetadataUrl: clientId,
    });
    const log: Recorded[] = [];
    await authorizationCodeStory(provider, agent, log);
    expect(log.some((entry) => entry.url.pathname === `${OAUTH}/register`)).toBe(false);
    expect(provider.clientInformation()!.client_id).toBe(clientId);
    expect(host.hits.get("/mcp-client.json")).toBeGreaterThanOrEqual(1);
  });

  test("an agent never sends its token to an authorization server other than its own LIME", async () => {
    const agent = await registerAgent(t.url, t.owner);
    const provider = new AgentOAuthProvider({
      limeUrl: "https://lime.elsewhere.example",
      agentToken: agent.agentToken,
      redirectUrl: REDIRECT_URI,
    });
    await expect(connectWithOAuth(mcp.url, provider)).rejects.toMatchObject({
      code: "FOREIGN_AUTHORIZATION_SERVER",
    });
  });
});

/**
 * The SDK signs its client assertions with the real clock; this server's
 * clock is fake. Access tokens live 60 s here so that moving the server's
 * clock past one keeps the SDK's 300 s assertions inside their lifetime.
 */
describe("the official MCP SDK client with client credentials (private_key_jwt)", () => {
  let t: ProvisionedServer;
  let mcp: RunningMcpServer;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ t, mcp, stop } = await startWithExampleMcp({ oauth: { accessTokenMs: 60_000 } }));
  });
  afterAll(async () => {
    await stop();
  });

  test("client credentials with the SDK's PrivateKeyJwtProvider: token without a browser, whoami, renewal, refused once the agent is revoked", async () => {
    const agent = await registerAgent(t.url, t.owner);
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const registered = await call(t.url, `${OAUTH}/agents/me/jwks`, {
      method: "PUT",
      headers: { "x-agent-token": agent.agentToken },
      json: { keys: [await exportJWK(publicKey)] },
    });
    expect(registered.status).toBe(200);
    const provider = new PrivateKeyJwtProvider({
      clientId: agent.agentId,
      privateKey: await exportJWK(privateKey),
      algorithm: "RS256",
      expectedIssuer: t.issuer,
      scope: EXAMPLE_SCOPE,
    });
    const log: Recorded[] = [];
    const transport = new StreamableHTTPClientTransport(new URL(mcp.url), {
      authProvider: provider,
      fetch: recordingFetch(log),
    });
    const client = new Client({ name: "m2m-agent", version: "1.0.0" });
    await client.connect(transport);
    try {
      const caller = whoami(await client.callTool({ name: "whoami", arguments: {} }));
      expect(caller.subject).toBe(agent.agentId);
      expect(caller.client_id).toBe(agent.agentId);
      const grants = log.filter((entry) => entry.grantType !== null);
      expect(grants.map((entry) => [entry.grantType, entry.status])).toEqual([["client_credentials", 200]]);
      expect(provider.tokens()!.refresh_token).toBeUndefined();

      t.clock.advance(70_000);
      expect(whoami(await client.callTool({ name: "whoami", arguments: {} })).subject).toBe(agent.agentId);
      expect(log.filter((entry) => entry.grantType === "client_credentials").length).toBe(2);

      await revokeAgent(t.url, t.owner, agent.agentId);
      t.clock.advance(70_000);
      await expect(client.callTool({ name: "whoami", arguments: {} })).rejects.toThrow();
      const refused = log.filter((entry) => entry.grantType === "client_credentials").at(-1)!;
      expect(refused.status).toBe(401);
      expect(refused.error).toBe("invalid_client");
    } finally {
      await client.close();
    }
  });
});
