/**
 * Calling tools on a remote MCP server as a LIME agent, with the official
 * `@modelcontextprotocol/sdk` client over Streamable HTTP. The access token
 * comes from `AgentClient.mcpAccessToken` (cached per domain, renewed
 * lazily); it is attached only to requests for the MCP server's own origin,
 * and a 401 leads to one retry with a freshly issued token.
 *
 * A separate entry (like `sdk/elysia.ts`) so the portable SDK does not pull
 * the MCP SDK into bundles that do not need it.
 *
 * @example
 * const agent = new AgentClient({ baseUrl: "https://lime.example", agentToken });
 * const result = await callMcpTool(agent, "https://tools.example/mcp", "whoami", {});
 * // or keep a session:
 * const client = await connectMcp(agent, "https://tools.example/mcp");
 * await client.listTools(); await client.close();
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AgentClient } from "./agent/client.ts";
import { type FetchLike, globalFetch } from "./internal/http.ts";
import { isLoopback } from "./internal/loopback.ts";

export interface McpConnectOptions {
  /** How this client introduces itself to the server. */
  clientInfo?: { name: string; version: string };
  /** Transport under the token layer; default the global fetch. */
  fetch?: FetchLike;
}

/**
 * A fetch for the MCP transport: `Authorization: Bearer <token>` on requests
 * to `server`'s origin (never elsewhere), and on a 401 one retry with a
 * renewed token. Bodies the transport sends are strings, so a retry can
 * resend them. A plain `http:` server is refused (TypeError) unless it is
 * on loopback: the token is a bearer credential.
 */
export function mcpFetch(agent: AgentClient, server: string | URL, base?: FetchLike): FetchLike {
  const url = new URL(server);
  if (url.protocol !== "https:" && !isLoopback(url.hostname)) {
    throw new TypeError(
      `mcpFetch: refusing to send an MCP access token over ${url.protocol} to ${url.hostname}`,
    );
  }
  const origin = url.origin;
  const send: FetchLike = base ?? globalFetch;
  return async (input, init) => {
    const request = new Request(input, init);
    if (new URL(request.url).origin !== origin) return send(request);
    const attempt = async (renew: boolean) => {
      const token = await agent.mcpAccessToken(server, { signal: request.signal, renew });
      const headers = new Headers(request.headers);
      headers.set("authorization", `Bearer ${token}`);
      return send(new Request(request.clone(), { headers }));
    };
    const first = await attempt(false);
    if (first.status !== 401) return first;
    await first.body?.cancel().catch(() => {});
    return attempt(true);
  };
}

/** A connected MCP client for the server at `url`, authenticated as the agent. Close it when done. */
export async function connectMcp(
  agent: AgentClient,
  url: string | URL,
  options: McpConnectOptions = {},
): Promise<Client> {
  const endpoint = new URL(url);
  const transport = new StreamableHTTPClientTransport(endpoint, {
    fetch: mcpFetch(agent, endpoint, options.fetch),
  });
  const client = new Client(options.clientInfo ?? { name: "lime-agent", version: "0.1.0" });
  await client.connect(transport);
  return client;
}

/** Connects, calls one tool, closes. */
export async function callMcpTool(
  agent: AgentClient,
  url: string | URL,
  name: string,
  args: Record<string, unknown> = {},
  options: McpConnectOptions = {},
): Promise<Awaited<ReturnType<Client["callTool"]>>> {
  const client = await connectMcp(agent, url, options);
  try {
    return await client.callTool({ name, arguments: args });
  } finally {
    await client.close();
  }
}
