/**
 * A real LIME server for SDK end-to-end tests and the verification bench:
 * `createApp` on a free loopback port with a temporary SQLite database, an
 * admin token and a fixed key-encryption key, so that `restart()` brings the
 * same server (same port, same keys, same pending requests) back up.
 * `provision()` registers an owner, an agent and a site over HTTP.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, type LimeServer } from "../../../server/app.ts";
import { loadConfig } from "../../../server/config.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";

export interface TestServer {
  url: string;
  port: number;
  adminToken: string;
  server: LimeServer;
  /** Stops listening (open streams are cut); `start()` brings it back on the same port and database. */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops and deletes the temporary database. */
  close(): Promise<void>;
  provision(): Promise<Provisioned>;
  rotateKeys(): Promise<{ retired_kid: string; current_kid: string; next_kid: string }>;
}

export interface Provisioned {
  agentToken: string;
  agentId: string;
  siteToken: string;
  siteId: string;
  sessionToken: string;
}

export interface TestServerOptions {
  /** Extra environment for `loadConfig` (lifetimes, rate limits, PoW difficulty...). */
  env?: Record<string, string>;
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "lime-sdk-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminToken = randomHex(32);
  const config = loadConfig({
    PORT: String(port),
    HOST: "127.0.0.1",
    PUBLIC_URL: url,
    DATABASE_PATH: join(dir, "lime.sqlite"),
    ADMIN_TOKEN: adminToken,
    EMAIL_VERIFICATION: "off",
    LIME_KEY_ENCRYPTION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url"),
    DEFAULT_POW_DIFFICULTY: "12",
    RATE_LIMIT_AUTH_PER_MINUTE: "100000",
    RATE_LIMIT_LOGIN_REQUESTS_PER_MINUTE: "100000",
    RATE_LIMIT_CHALLENGE_FETCHES_PER_MINUTE: "100000",
    RATE_LIMIT_APPROVALS_PER_MINUTE: "100000",
    RATE_LIMIT_PASSPORTS_PER_MINUTE: "100000",
    ...options.env,
  });
  // Tests register owners; the production argon2id cost would only slow them down.
  config.passwordHashing = { memoryCost: 1024, timeCost: 1 };
  const keyEncryptionKey = config.keyEncryptionKey!;

  let db: ReturnType<typeof openDatabase> | undefined;
  let server: LimeServer | undefined;

  const handle: TestServer = {
    url,
    port,
    adminToken,
    get server() {
      if (!server) throw new Error("the test server is stopped");
      return server;
    },
    async start() {
      if (server) return;
      db = openDatabase(config.databasePath);
      server = await createApp({ config, db, keyEncryptionKey });
      server.listen(port, "127.0.0.1");
    },
    async stop() {
      const running = server;
      server = undefined;
      await running?.stop();
      db?.close();
      db = undefined;
    },
    async restart() {
      await handle.stop();
      await handle.start();
    },
    async close() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async provision() {
      const email = `owner-${randomHex(6)}@example.test`;
      const password = `pw-${randomHex(12)}`;
      await call(url, "POST", "/api/v1/foundation/users/register", { email, password });
      const login = await call(url, "POST", "/api/v1/foundation/users/login", { email, password });
      const sessionToken = login.session_token as string;
      const auth = { authorization: `Bearer ${sessionToken}` };
      const agent = await call(
        url,
        "POST",
        "/api/v1/core/agents/register",
        { display_name: "SDK test agent" },
        auth,
      );
      const site = await call(
        url,
        "POST",
        "/api/v1/foundation/sites/register",
        { display_name: "SDK test site" },
        auth,
      );
      return {
        agentToken: agent.agent_token as string,
        agentId: agent.agent_id as string,
        siteToken: site.site_token as string,
        siteId: site.site_id as string,
        sessionToken,
      };
    },
    async rotateKeys() {
      return (await call(
        url,
        "POST",
        "/api/v1/admin/keys/rotate",
        {},
        { authorization: `Bearer ${adminToken}` },
      )) as {
        retired_kid: string;
        current_kid: string;
        next_kid: string;
      };
    },
  };
  await handle.start();
  return handle;
}

async function call(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { ok: boolean; data?: Record<string, unknown>; error?: unknown };
  if (!json.ok) throw new Error(`${method} ${path} -> ${response.status} ${JSON.stringify(json.error)}`);
  return json.data ?? {};
}
