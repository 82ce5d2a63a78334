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
 * Ports are free ones, printed, unless LIME_PORT / MCP_PORT name them: the
 * README's own server may already hold 3000. Whatever was started is
 * stopped, and the temporary directory removed, on Ctrl-C and on failure.
 *
 * Environment: LIME_ISSUER, LIME_PORT, MCP_PORT. `--once`: show the flow and
 * exit instead of serving until Ctrl-C.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../server/app.ts";
import { loadConfig } from "../../server/config.ts";
import { createJsonLogger } from "../../server/infrastructure/logger.ts";
import { openDatabase } from "../../server/infrastructure/sqlite/database.ts";
import { freePort } from "../../server/testing.ts";
import { AgentOAuthProvider, connectWithOAuth } from "./agent-provider.ts";
import { Cleanup } from "./cleanup.ts";
import { EXAMPLE_SCOPE, startExampleMcpServer } from "./server.ts";

const HOST = "127.0.0.1";
const once = process.argv.includes("--once");
const cleanup = new Cleanup();

/** A port named by `variable`, or undefined (then a free one is taken). */
function configuredPort(variable: string): number | undefined {
  const raw = process.env[variable]?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535)
    throw new Error(`${variable} must be a port number (0-65535)`);
  return Number(raw);
}

/** What went wrong, in one line; a port in use says which and how to choose another. */
function explain(error: unknown): string {
  const { code, port } = error as { code?: unknown; port?: unknown };
  if (code === "EADDRINUSE" || /EADDRINUSE|address already in use/i.test(String(error))) {
    const which = typeof port === "number" ? `port ${port}` : "a port";
    return `${which} is already in use; unset LIME_PORT / MCP_PORT to take free ones, or name others`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Bun.serve reports a taken port without naming it; say which one we asked for. */
function startMcp(issuer: string, port: number) {
  try {
    return startExampleMcpServer({ issuer, port, hostname: HOST });
  } catch (error) {
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { port });
  }
}

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

async function serveAgainst(issuer: string): Promise<void> {
  const mcp = startMcp(issuer, configuredPort("MCP_PORT") ?? 0);
  cleanup.add(() => mcp.stop());
  console.log(`MCP server: ${mcp.url} (authorization server ${issuer})`);
  console.log(`Register it there as a resource with scope "${EXAMPLE_SCOPE}" (docs/mcp-oauth.md).`);
}

async function startLime() {
  const limePort = configuredPort("LIME_PORT") ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "lime-example-"));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const issuer = `http://${HOST}:${limePort}`;
  const config = loadConfig({
    PORT: String(limePort),
    HOST,
    PUBLIC_URL: issuer,
    DATABASE_PATH: join(dir, "lime.sqlite"),
    EMAIL_VERIFICATION: "off",
  });
  const db = openDatabase(config.databasePath);
  cleanup.add(() => db.close());
  const lime = await createApp({
    config,
    db,
    keyEncryptionKey: crypto.getRandomValues(new Uint8Array(32)),
    logger: createJsonLogger("warn"),
  });
  try {
    await lime.listen(limePort, HOST);
  } catch (error) {
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { port: limePort });
  }
  cleanup.add(() => lime.stop());
  console.log(`LIME identity server: ${issuer} (temporary database in ${dir})`);
  return issuer;
}

async function demo(): Promise<void> {
  const issuer = await startLime();
  const mcp = startMcp(issuer, configuredPort("MCP_PORT") ?? 0);
  cleanup.add(() => mcp.stop());
  console.log(`MCP server:           ${mcp.url}`);

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

  console.log(`Demo owner:           ${email} / ${password}`);
  console.log(`Demo agent token:     ${agent.agent_token}`);
  console.log(`whoami, called by the agent over OAuth: ${JSON.stringify(result.structuredContent)}`);
  console.log("Try it:");
  console.log(
    `  curl -s -X POST ${issuer}/api/v1/modules/oauth/token -H 'content-type: application/json' \\`,
  );
  console.log(`    -H 'x-agent-token: ${agent.agent_token}' -d '{"domain":"${new URL(mcp.url).host}"}'`);
}

const stop = (code: number) => () => void cleanup.run().finally(() => process.exit(code));
process.on("SIGINT", stop(0));
process.on("SIGTERM", stop(0));

try {
  if (process.env.LIME_ISSUER) await serveAgainst(process.env.LIME_ISSUER);
  else await demo();
  if (once) {
    await cleanup.run();
    process.exit(0);
  }
  console.log("Ctrl-C stops the servers and removes the temporary database.");
} catch (error) {
  console.error(`example:mcp: ${explain(error)}`);
  await cleanup.run();
  process.exit(1);
}
