/**
 * An MCP server protected by LIME: the official `@modelcontextprotocol/sdk`
 * over Streamable HTTP (stateless: a fresh server and transport per HTTP
 * request), behind `McpResourceGuard` from `sdk/mcp`. One tool, `whoami`,
 * reports the verified caller.
 *
 * The handler is a plain `(Request) => Promise<Response>`, so it runs under
 * `Bun.serve`, Deno.serve, a Worker, or Node through any fetch adapter.
 *
 * @example
 * const mcp = startExampleMcpServer({ issuer: "https://lime.example", port: 3001 });
 * // PRM at http://localhost:3001/.well-known/oauth-protected-resource/mcp, MCP at http://localhost:3001/mcp
 */

import { createMcpResourceGuard, type McpResourceGuardOptions } from "@lime-ts/sdk/mcp-server";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";

/** The scope the example's tools require; register the resource with it. */
export const EXAMPLE_SCOPE = "mcp:tools";

function buildMcpServer(): McpServer {
  const server = new McpServer({ name: "lime-example-mcp-server", version: "1.0.0" });
  server.registerTool(
    "whoami",
    { title: "Who am I", description: "Reports the identity LIME vouched for in the access token." },
    async (extra) => {
      const auth = extra.authInfo;
      const caller = {
        subject: auth?.extra?.subject ?? null,
        principal: auth?.extra?.principal ?? null,
        client_id: auth?.clientId ?? null,
        scopes: auth?.scopes ?? [],
        issuer: auth?.extra?.issuer ?? null,
        expires_at: auth?.expiresAt ?? null,
      };
      return {
        content: [{ type: "text", text: JSON.stringify(caller) }],
        structuredContent: caller,
      };
    },
  );
  return server;
}

export interface ExampleMcpOptions extends Omit<McpResourceGuardOptions, "resource" | "requiredScopes"> {
  /** The URL clients dial; default `http://localhost:<port>/mcp`. */
  resource?: string;
}

/** The request handler: PRM, then the guard, then MCP. */
export function createExampleMcpHandler(options: ExampleMcpOptions & { resource: string }) {
  const guard = createMcpResourceGuard({
    ...options,
    requiredScopes: [EXAMPLE_SCOPE],
    resourceName: options.resourceName ?? "LIME example MCP server",
  });
  const mcpPath = new URL(guard.resource).pathname || "/";
  const handler = async (request: Request): Promise<Response> => {
    const metadata = guard.handleMetadata(request);
    if (metadata !== null) return metadata;
    if (new URL(request.url).pathname !== mcpPath) return new Response("Not found", { status: 404 });
    const auth = await guard.authenticate(request);
    if (!auth.ok) return auth.response;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    const server = buildMcpServer();
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, { authInfo: guard.toAuthInfo(auth.caller) });
    } finally {
      // Stateless: with JSON responses the answer is complete once handleRequest resolves.
      void server.close();
    }
  };
  return { guard, handler };
}

export interface RunningMcpServer {
  url: string;
  resource: string;
  stop(): Promise<void>;
}

/** Serves the example with `Bun.serve` (port 0 picks a free port). */
export function startExampleMcpServer(
  options: ExampleMcpOptions & { port?: number; hostname?: string },
): RunningMcpServer {
  const hostname = options.hostname ?? "127.0.0.1";
  let resource = options.resource;
  let handler: ((request: Request) => Promise<Response>) | undefined;
  const server = Bun.serve({
    port: options.port ?? 0,
    hostname,
    fetch: (request) => handler!(request),
  });
  resource ??= `http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${server.port}/mcp`;
  handler = createExampleMcpHandler({ ...options, resource }).handler;
  return {
    url: resource,
    resource,
    async stop() {
      await server.stop(true);
    },
  };
}
