/**
 * Test and bench support: a server on a free loopback port with a temporary
 * database, a controllable clock and a mailer that keeps the codes, plus
 * HTTP helpers that provision an owner, a site and an agent. Built on
 * `createApp`, the same composition point `main.ts` uses.
 *
 * @example
 * const t = await startTestServer();
 * const { siteToken, agentToken } = await t.provision();
 * await t.stop();
 */

import type { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AppDeps, createApp, type LimeServer } from "./app.ts";
import type { Clock } from "./clock.ts";
import { loadConfig, type ServerConfig } from "./config.ts";
import { createJsonLogger, type Logger } from "./infrastructure/logger.ts";
import type { Mailer, PasswordResetMail } from "./infrastructure/mailer.ts";
import { openStorage } from "./infrastructure/open-stores.ts";
import { openDatabase } from "./infrastructure/sqlite/database.ts";

/** A clock that moves only when told to. Starts at the real time so tokens also verify with default clocks. */
export class FakeClock implements Clock {
  private current: number;

  constructor(start = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

/** Keeps the last verification code and the last password-reset link per address instead of sending mail. */
export class CapturingMailer implements Mailer {
  readonly codes = new Map<string, string>();
  readonly resetLinks = new Map<string, string>();

  async sendVerificationCode(email: string, code: string): Promise<void> {
    this.codes.set(email, code);
  }

  async sendPasswordResetLink(email: string, reset: PasswordResetMail): Promise<void> {
    this.resetLinks.set(email, reset.link);
  }

  /** The token of the last reset link mailed to `email`, or undefined. */
  resetToken(email: string): string | undefined {
    const link = this.resetLinks.get(email);
    return link === undefined ? undefined : (new URL(link).searchParams.get("token") ?? undefined);
  }
}

type Overrides = Partial<Omit<ServerConfig, "lifetimes" | "rateLimits" | "passwordHashing">> & {
  lifetimes?: Partial<ServerConfig["lifetimes"]>;
  rateLimits?: Partial<ServerConfig["rateLimits"]>;
  passwordHashing?: Partial<ServerConfig["passwordHashing"]>;
};

/**
 * Defaults for tests: a cheap argon2id cost (never the production default),
 * generous rate limits, a 200 ms keepalive, low PoW difficulty.
 */
export function testConfig(overrides: Overrides = {}): ServerConfig {
  const base = loadConfig({ PORT: "0", PUBLIC_URL: "http://127.0.0.1:0", HOST: "127.0.0.1" });
  return {
    ...base,
    defaultPowDifficulty: 8,
    sseKeepaliveMs: 200,
    ...overrides,
    lifetimes: { ...base.lifetimes, ...overrides.lifetimes },
    rateLimits: {
      ...base.rateLimits,
      authPerMinute: 100_000,
      loginRequestsPerMinute: 100_000,
      challengeFetchesPerMinute: 100_000,
      approvalsPerMinute: 100_000,
      passportsPerMinute: 100_000,
      streamsPerSite: 64,
      bindingRequestsPerMinute: 100_000,
      agentKeyWritesPerMinute: 100_000,
      ...overrides.rateLimits,
    },
    passwordHashing: { memoryCost: 256, timeCost: 1, ...overrides.passwordHashing },
  };
}

export interface TestServerOptions {
  config?: Overrides;
  clock?: Clock;
  /** Reuse a database file (restart tests); default: a fresh file in a temporary directory. */
  databasePath?: string;
  keyEncryptionKey?: Uint8Array;
  logger?: Logger;
  extra?: Partial<AppDeps>;
  /** Listen on this port (default: a free one); for tests whose `publicUrl` must equal the server's URL. */
  port?: number;
  /**
   * Make `config.publicUrl` (the issuer) the server's own URL, as clients that
   * check `iss` against the URL they call need: a free port is chosen first.
   */
  publicUrlIsOwnUrl?: boolean;
}

/** The answer of `POST /api/v1/admin/keys/rotate`. */
export interface KeyRotation {
  retired_kid: string;
  current_kid: string;
  next_kid: string;
}

export interface Provisioned {
  sessionToken: string;
  ownerId: string;
  siteId: string;
  siteToken: string;
  agentId: string;
  agentToken: string;
}

export interface TestServer {
  url: string;
  /** The operations listener (`config.metrics.port` set; 0 picks a free port), or null. */
  metricsUrl: string | null;
  server: LimeServer;
  db: Database;
  clock: Clock;
  mailer: CapturingMailer;
  config: ServerConfig;
  databasePath: string;
  keyEncryptionKey: Uint8Array;
  /** Registers and verifies an owner, logs in; returns the Bearer session token. */
  registerOwner(email?: string, password?: string): Promise<{ sessionToken: string; ownerId: string }>;
  /** An owner with one site and one agent. */
  provision(options?: { powDifficulty?: number }): Promise<Provisioned>;
  /** Rotates the signing keys as the operator would; needs `config.adminToken`. */
  rotateKeys(): Promise<KeyRotation>;
  /**
   * Stops the server (open streams are cut) and starts it again on the same
   * port, database file, keys, clock and config; `server` and `db` are then
   * the new ones.
   */
  restart(): Promise<void>;
  /** Stops the server and closes the database (removing a temporary one). */
  stop(): Promise<void>;
}

async function call(url: string, path: string, init: RequestInit & { json?: unknown } = {}) {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  const response = await fetch(url + path, { ...init, headers, body });
  const payload = (await response.json()) as { ok: boolean; data?: Record<string, unknown>; error?: unknown };
  if (!payload.ok)
    throw new Error(`${init.method ?? "GET"} ${path} failed: ${JSON.stringify(payload.error)}`);
  return payload.data!;
}

/** A loopback port that was free a moment ago (the caller binds it right after). */
export async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null) });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}

/**
 * The test server's storage: the SQLite file by default; with
 * `LIME_TEST_POSTGRES_URL` set (and no `databasePath` asked for), a fresh
 * PostgreSQL schema in that database per server, dropped at `stop()`, so the
 * same tests can be run against PostgreSQL (docs/decisions/server-postgres.md).
 */
async function openTestBackend(
  options: TestServerOptions,
  config: ServerConfig,
  databasePath: string,
  logger: Logger,
  clock: Clock,
) {
  const postgresUrl = options.databasePath ? undefined : process.env.LIME_TEST_POSTGRES_URL;
  if (!postgresUrl) {
    let db = openDatabase(databasePath);
    return {
      deps: () => ({ db }),
      db: () => db,
      async reopen() {
        db.close();
        db = openDatabase(databasePath);
      },
      async close() {
        db.close();
      },
    };
  }
  const schema = `test_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = new Bun.SQL(postgresUrl, { max: 1 });
  await admin.unsafe(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const open = () => openStorage({ ...config, databaseUrl: postgresUrl }, logger, { clock, schema });
  let storage = await open();
  return {
    deps: () => ({ stores: storage.stores, lease: storage.lease, maintainStorage: storage.maintain }),
    db: (): Database => {
      throw new Error(
        "this test server runs on PostgreSQL (LIME_TEST_POSTGRES_URL): it has no SQLite handle",
      );
    },
    async reopen() {
      await storage.close();
      storage = await open();
    },
    async close() {
      await storage.close();
      const drop = new Bun.SQL(postgresUrl, { max: 1 });
      await drop.unsafe(`DROP SCHEMA ${schema} CASCADE`);
      await drop.close();
    },
  };
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const temporaryDir = options.databasePath ? null : mkdtempSync(join(tmpdir(), "lime-server-"));
  const databasePath = options.databasePath ?? join(temporaryDir!, "lime.sqlite");
  const clock = options.clock ?? new FakeClock();
  const mailer = new CapturingMailer();
  const keyEncryptionKey = options.keyEncryptionKey ?? crypto.getRandomValues(new Uint8Array(32));
  const logger = options.logger ?? createJsonLogger("error");
  const port = options.port ?? (options.publicUrlIsOwnUrl ? await freePort() : 0);
  const ownUrl = options.publicUrlIsOwnUrl ? { publicUrl: `http://127.0.0.1:${port}` } : {};
  const config = testConfig({ ...ownUrl, ...options.config });
  const backend = await openTestBackend(options, config, databasePath, logger, clock);
  const open = () => {
    const storage = backend.deps();
    return createApp({
      config,
      ...storage,
      keyEncryptionKey,
      clock,
      mailer,
      logger,
      startMaintenance: false,
      ...options.extra,
      // A test that replaces one store keeps the backend's others.
      ...(options.extra?.stores &&
        "stores" in storage && { stores: { ...storage.stores, ...options.extra.stores } }),
    });
  };
  let server = await open();
  const listening = await server.listen(port, "127.0.0.1");
  const { url, port: boundPort } = listening;
  let metricsUrl = listening.metricsUrl;
  let counter = 0;

  const test: TestServer = {
    url,
    get metricsUrl() {
      return metricsUrl;
    },
    get server() {
      return server;
    },
    get db() {
      return backend.db();
    },
    clock,
    mailer,
    config,
    databasePath,
    keyEncryptionKey,
    async registerOwner(email, password = "correct horse battery staple") {
      counter += 1;
      const address = email ?? `owner-${crypto.randomUUID()}-${counter}@example.test`;
      const registered = await call(url, "/api/v1/foundation/users/register", {
        method: "POST",
        json: { email: address, password },
      });
      if (config.emailVerification) {
        await call(url, "/api/v1/foundation/users/register/verify", {
          method: "POST",
          json: { email: address, code: mailer.codes.get(address.toLowerCase()) },
        });
      }
      const session = await call(url, "/api/v1/foundation/users/login", {
        method: "POST",
        json: { email: address, password },
      });
      return { sessionToken: session.session_token as string, ownerId: registered.user_id as string };
    },
    async provision(provisionOptions = {}) {
      const { sessionToken, ownerId } = await test.registerOwner();
      const auth = { authorization: `Bearer ${sessionToken}` };
      const site = await call(url, "/api/v1/foundation/sites/register", {
        method: "POST",
        headers: auth,
        json: {
          display_name: "Test shop",
          pow_difficulty: provisionOptions.powDifficulty ?? config.defaultPowDifficulty,
        },
      });
      const agent = await call(url, "/api/v1/core/agents/register", {
        method: "POST",
        headers: auth,
        json: { display_name: "Test agent", description: "integration test agent" },
      });
      return {
        sessionToken,
        ownerId,
        siteId: site.site_id as string,
        siteToken: site.site_token as string,
        agentId: agent.agent_id as string,
        agentToken: agent.agent_token as string,
      };
    },
    async rotateKeys() {
      if (!config.adminToken) throw new Error("rotateKeys() needs config.adminToken");
      return (await call(url, "/api/v1/admin/keys/rotate", {
        method: "POST",
        headers: { authorization: `Bearer ${config.adminToken}` },
        json: {},
      })) as unknown as KeyRotation;
    },
    async restart() {
      await server.stop();
      await backend.reopen();
      server = await open();
      ({ metricsUrl } = await server.listen(boundPort, "127.0.0.1"));
    },
    async stop() {
      await server.stop();
      await backend.close();
      if (temporaryDir) rmSync(temporaryDir, { recursive: true, force: true });
    },
  };
  return test;
}
