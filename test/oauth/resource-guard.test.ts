import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { signJwt } from "@lime-ts/core/passport";
import { createMcpResourceGuard } from "@lime-ts/sdk/mcp-server";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { EXAMPLE_SCOPE, type RunningMcpServer } from "../../examples/mcp-server/server.ts";
import { call, type ProvisionedServer, registerResource, startWithExampleMcp } from "./helpers.ts";

/** The official MCP client, with a fixed Bearer token on every request. */
async function connectWithToken(url: string, token: string): Promise<Client> {
  const client = new Client({ name: "guard-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

function whoami(result: unknown): Record<string, unknown> {
  const content = (result as { content: { type: string; text: string }[] }).content;
  return JSON.parse(content[0]!.text);
}

describe("the resource helper (sdk/mcp) in front of the example MCP server", () => {
  let t: ProvisionedServer;
  let mcp: RunningMcpServer;
  let stop: () => Promise<void>;
  const domainOf = () => new URL(mcp.url).host;
  const headlessToken = async (domain: string) => {
    const answer = await call(t.url, "/api/v1/modules/oauth/token", {
      json: { domain },
      headers: { "x-agent-token": t.agent.agentToken },
    });
    expect(answer.status).toBe(200);
    return answer.body.access_token as string;
  };
  /** A token signed by the server's real key, with claims chosen by the test. */
  const forge = (claims: Record<string, unknown>, typ = "at+jwt") => {
    const iat = Math.floor(t.clock.now() / 1000);
    return signJwt(
      {
        iss: t.issuer,
        sub: t.agent.agentId,
        aud: mcp.resource,
        iat,
        exp: iat + 300,
        jti: crypto.randomUUID(),
        client_id: t.agent.agentId,
        scope: EXAMPLE_SCOPE,
        ...claims,
      } as never,
      t.server.context.keyRing.current(),
      { typ },
    );
  };

  beforeAll(async () => {
    ({ t, mcp, stop } = await startWithExampleMcp());
    await registerResource(t.url, t.owner, "https://other.example/mcp", [EXAMPLE_SCOPE]);
  });
  afterAll(async () => {
    await stop();
  });

  test("Protected Resource Metadata (RFC 9728) names the URL clients dial and the LIME issuer", async () => {
    const metadataUrl = `${new URL(mcp.url).origin}/.well-known/oauth-protected-resource/mcp`;
    const response = await fetch(metadataUrl);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      resource: mcp.url,
      authorization_servers: [t.issuer],
      bearer_methods_supported: ["header"],
      scopes_supported: [EXAMPLE_SCOPE],
      resource_name: "LIME example MCP server",
    });
  });

  test("no token: 401 with WWW-Authenticate naming the metadata and the scope (RFC 9728 §5.1)", async () => {
    const response = await fetch(mcp.url, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(response.status).toBe(401);
    const challenge = response.headers.get("www-authenticate")!;
    expect(challenge).toStartWith("Bearer ");
    expect(challenge).toContain(
      `resource_metadata="${new URL(mcp.url).origin}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(challenge).toContain(`scope="${EXAMPLE_SCOPE}"`);
    expect(challenge).not.toContain("error=");
  });

  test("a LIME headless token for this host calls whoami, which reports the agent", async () => {
    const client = await connectWithToken(mcp.url, await headlessToken(domainOf()));
    try {
      const caller = whoami(await client.callTool({ name: "whoami", arguments: {} }));
      expect(caller.subject).toBe(t.agent.agentId);
      expect(caller.principal).toBe("agent");
      expect(caller.client_id).toBe(t.agent.agentId);
      expect(caller.scopes).toEqual([EXAMPLE_SCOPE]);
      expect(caller.issuer).toBe(t.issuer);
    } finally {
      await client.close();
    }
  });

  test("a headless token for the host name without the port (LIME's SDK strips it) reaches the server on its port", async () => {
    const hostname = new URL(mcp.url).hostname;
    const token = await headlessToken(hostname);
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(claims.aud).toEqual(["mcp", `https://${hostname}`]);
    // The registered resource on that host, at its port, lends the token its scope.
    expect(claims.scope).toBe(EXAMPLE_SCOPE);
    const client = await connectWithToken(mcp.url, token);
    try {
      expect(whoami(await client.callTool({ name: "whoami", arguments: {} })).subject).toBe(t.agent.agentId);
    } finally {
      await client.close();
    }
  });

  test("a token minted for another server is refused (audience binding), even though LIME's own SDK would take it", async () => {
    const token = await headlessToken("other.example");
    const response = await fetch(mcp.url, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const forged = await forge({ aud: "https://other.example/mcp" });
    expect(
      (await fetch(mcp.url, { method: "POST", headers: { authorization: `Bearer ${forged}` } })).status,
    ).toBe(401);
  });

  test("a token without the required scope: 403 insufficient_scope naming it", async () => {
    const token = await forge({ scope: "files:read" });
    const response = await fetch(mcp.url, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(403);
    const challenge = response.headers.get("www-authenticate")!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain(`scope="${EXAMPLE_SCOPE}"`);
    expect(challenge).toContain("resource_metadata=");
  });

  test("expired (fake clock), wrong issuer, wrong type, missing client_id: 401 invalid_token", async () => {
    const expired = await forge({});
    t.clock.advance(306_000);
    try {
      const response = await fetch(mcp.url, {
        method: "POST",
        headers: { authorization: `Bearer ${expired}` },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain("expired");
    } finally {
      t.clock.advance(-306_000);
    }
    for (const token of [
      await forge({ iss: "https://evil.example" }),
      await forge({}, "passport+jwt"),
      await forge({ client_id: undefined }),
      `${(await forge({})).slice(0, -4)}AAAA`,
    ]) {
      const response = await fetch(mcp.url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
  });

  test("a token in the query string is not a credential", async () => {
    const token = await headlessToken(domainOf());
    const response = await fetch(`${mcp.url}?access_token=${token}`, { method: "POST" });
    expect(response.status).toBe(401);
  });

  test("acceptDomainTokens: false refuses LIME's domain-form tokens", async () => {
    const guard = createMcpResourceGuard({
      resource: mcp.url,
      issuer: t.issuer,
      acceptDomainTokens: false,
      now: () => t.clock.now(),
    });
    const request = new Request(mcp.url, {
      headers: { authorization: `Bearer ${await headlessToken(domainOf())}` },
    });
    const result = await guard.authenticate(request);
    expect(result.ok).toBe(false);
  });

  test("an issuer whose metadata names another issuer is not trusted for keys (503, never accepted)", async () => {
    const guard = createMcpResourceGuard({
      resource: mcp.url,
      issuer: `${t.issuer}/not-the-issuer`,
      now: () => t.clock.now(),
    });
    const request = new Request(mcp.url, { headers: { authorization: `Bearer ${await forge({})}` } });
    const result = await guard.authenticate(request);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.response.status).toBe(503);
  });
});
