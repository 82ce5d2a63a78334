/**
 * `bun run example:mcp`: the example MCP server, protected by LIME, in one
 * command.
 *
 * With `LIME_ISSUER` set, it serves the MCP server only, trusting that LIME
 * server (register the resource there first, see docs/mcp-oauth.md).
 * Without it, it also starts an embedded LIME identity server on a
 * temporary database, creates a demo owner and agent, registers the MCP
 * server as a resource, and runs one headless agent connection (discovery,
 * registration, PKCE with PoW self-approval, `whoami`) to show the flow.
 *
 * Environment: LIME_ISSUER, LIME_PORT (3000), MCP_PORT (3001).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../server/app.ts";
import { loadConfig } from "../../server/config.ts";
import { createJsonLogger } from "../../server/infrastructure/logger.ts";
import { openDatabase } from "../../server/infrastructure/sqlite/database.ts";
import { AgentOAuthProvider, connectWithOAuth } from "./agent-provider.ts";
import { EXAMPLE_SCOPE, startExampleMcpServer } from "./server.ts";

const mcpPort = Number(process.env.MCP_PORT ?? 3001);

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const payload = (await response.json()) as { ok: boolean; data?: Record<string, string>; error?: unknown };
  if (!payload.ok) throw new Error(`${url}: ${JSON.stringify(payload.error)}`);
  return payload.data!;
}

if (process.env.LIME_ISSUER) {
  const mcp = startExampleMcpServer({
    issuer: process.env.LIME_ISSUER,
    port: mcpPort,
    hostname: "127.0.0.1",
  });
  console.log(`MCP server: ${mcp.url} (authorization server ${process.env.LIME_ISSUER})`);
  console.log(`Register it there as a resource with scope "${EXAMPLE_SCOPE}" (docs/mcp-oauth.md).`);
} else {
  const limePort = Number(process.env.LIME_PORT ?? 3000);
  const dir = mkdtempSync(join(tmpdir(), "lime-example-"));
  const issuer = `http://127.0.0.1:${limePort}`;
  const config = loadConfig({
    PORT: String(limePort),
    HOST: "127.0.0.1",
    PUBLIC_URL: issuer,
    DATABASE_PATH: join(dir, "lime.sqlite"),
    EMAIL_VERIFICATION: "off",
  });
  const db = openDatabase(config.databasePath);
  const lime = await createApp({
    config,
    db,
    keyEncryptionKey: crypto.getRandomValues(new Uint8Array(32)),
    logger: createJsonLogger("warn"),
  });
  await lime.listen(limePort, "127.0.0.1");
  const mcp = startExampleMcpServer({ issuer, port: mcpPort, hostname: "127.0.0.1" });

  const email = "demo-owner@example.test";
  const password = "example password, do not reuse";
  await post(`${issuer}/api/v1/foundation/users/register`, { email, password });
  const session = await post(`${issuer}/api/v1/foundation/users/login`, { email, password });
  const owner = { authorization: `Bearer ${session.session_token}` };
  const agent = await post(`${issuer}/api/v1/core/agents/register`, { display_name: "Demo agent" }, owner);
  await post(
    `${issuer}/api/v1/modules/oauth/resources`,
    { resource: mcp.url, display_name: "LIME example MCP server", scopes: [EXAMPLE_SCOPE] },
    owner,
  );

  const provider = new AgentOAuthProvider({ limeUrl: issuer, agentToken: agent.agent_token! });
  const client = await connectWithOAuth(mcp.url, provider);
  const result = await client.callTool({ name: "whoami", arguments: {} });
  await client.close();

  console.log(`LIME identity server: ${issuer} (temporary database in ${dir})`);
  console.log(`MCP server:           ${mcp.url}`);
  console.log(`Demo owner:           ${email} / ${password}`);
  console.log(`Demo agent token:     ${agent.agent_token}`);
  console.log(`whoami, called by the agent over OAuth: ${JSON.stringify(result.structuredContent)}`);
  console.log("Try it:");
  console.log(
    `  curl -s -X POST ${issuer}/api/v1/modules/oauth/token -H 'content-type: application/json' \\`,
  );
  console.log(`    -H 'x-agent-token: ${agent.agent_token}' -d '{"domain":"${new URL(mcp.url).host}"}'`);
  console.log("Ctrl-C stops both servers.");

  const shutdown = async () => {
    await mcp.stop();
    await lime.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
}
