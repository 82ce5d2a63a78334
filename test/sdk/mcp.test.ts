/**
 * The MCP helper with the official SDK on both ends: a real MCP server
 * (McpServer over the web-standard Streamable HTTP transport) that accepts
 * only the bearer tokens a scripted LIME token endpoint issued. The LIME
 * side is scripted until the OAuth module (issue 5) lands; the MCP client
 * and server are the real SDK.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AgentClient } from "@lime-ts/sdk";
import { callMcpTool, connectMcp, mcpFetch } from "@lime-ts/sdk/mcp";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";

const issued: string[] = [];
const valid = new Set<string>();
const tokenRequests: { agentToken: string | null; domain: string }[] = [];
let lime: ReturnType<typeof Bun.serve>;
let mcp: ReturnType<typeof Bun.serve>;
let mcpUrl: string;

beforeAll(() => {
  lime = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const body = (await request.json()) as { domain: string };
      tokenRequests.push({ agentToken: request.headers.get("x-agent-token"), domain: body.domain });
      const token = `tok-${issued.length + 1}`;
      issued.push(token);
      valid.add(token);
      return Response.json(
        { access_token: token, token_type: "Bearer", expires_in: 300 },
        { headers: { "cache-control": "no-store" } },
      );
    },
  });
  mcp = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const token = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
      if (token === undefined || !valid.has(token)) {
        return new Response(null, {
          status: 401,
          headers: { "www-authenticate": 'Bearer error="invalid_token"' },
        });
      }
      const server = new McpServer({ name: "test-tools", version: "1.0.0" });
      server.registerTool("whoami", { description: "the token the caller presented" }, async () => ({
        content: [{ type: "text", text: `called with ${token}` }],
      }));
      const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
      await server.connect(transport);
      return transport.handleRequest(request);
    },
  });
  mcpUrl = `http://127.0.0.1:${mcp.port}/mcp`;
});

afterAll(async () => {
  await lime.stop(true);
  await mcp.stop(true);
});

function agent() {
  return new AgentClient({ baseUrl: `http://127.0.0.1:${lime.port}`, agentToken: "lime_agent_mcp" });
}

describe("MCP tools with the agent's access token", () => {
  test("callMcpTool gets a token for the server's domain and calls the tool with it", async () => {
    const before = tokenRequests.length;
    const result = await callMcpTool(agent(), mcpUrl, "whoami");
    expect(result.content).toEqual([{ type: "text", text: `called with ${issued.at(-1)}` }]);
    expect(tokenRequests.slice(before)).toEqual([
      { agentToken: "lime_agent_mcp", domain: `127.0.0.1:${mcp.port}` },
    ]);
  });

  test("one token serves a whole session and later calls (per-domain cache)", async () => {
    const a = agent();
    const before = tokenRequests.length;
    const client = await connectMcp(a, mcpUrl);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toEqual(["whoami"]);
    await client.callTool({ name: "whoami", arguments: {} });
    await client.close();
    await callMcpTool(a, mcpUrl, "whoami");
    expect(tokenRequests.length - before).toBe(1);
  });

  test("a token the server stopped accepting is replaced once, and the call goes through", async () => {
    const a = agent();
    await callMcpTool(a, mcpUrl, "whoami");
    const revoked = issued.at(-1)!;
    valid.delete(revoked);
    const result = await callMcpTool(a, mcpUrl, "whoami");
    const fresh = issued.at(-1)!;
    expect(fresh).not.toBe(revoked);
    expect(result.content).toEqual([{ type: "text", text: `called with ${fresh}` }]);
  });

  test("the token is attached to the MCP server's origin only", async () => {
    const seen: (string | null)[] = [];
    const base = async (input: string | URL | Request, init?: RequestInit) => {
      seen.push(new Request(input, init).headers.get("authorization"));
      return new Response("ok");
    };
    const f = mcpFetch(agent(), mcpUrl, base);
    await f(`http://127.0.0.1:${mcp.port}/mcp`, { method: "POST", body: "{}" });
    await f("https://elsewhere.example/collect", { method: "POST", body: "{}" });
    expect(seen[0]).toMatch(/^Bearer tok-\d+$/);
    expect(seen[1]).toBeNull();
  });
});
