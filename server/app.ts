/**
 * The one composition point. `createApp` builds the whole server from plain
 * arguments (config, database, clock, mailer, KYC verifier, logger, KEK);
 * `main.ts` calls it with the environment's values, tests with a temporary
 * database and a frozen clock. Nothing else wires parts together.
 *
 * @example
 * const server = await createApp({ config, db: openDatabase(":memory:"), keyEncryptionKey });
 * const { url } = await server.listen(0);
 * await server.stop();
 */

import type { Database } from "bun:sqlite";
import { type AnyElysia, Elysia } from "elysia";
import { type Clock, systemClock } from "./clock.ts";
import type { ServerConfig } from "./config.ts";
import type { AppContext } from "./context.ts";
import { refreshDueReputations } from "./core/agents/reputation.ts";
import { agentRoutes } from "./core/agents/routes.ts";
import { keyRoutes } from "./core/keys/routes.ts";
import { openKeyRing } from "./core/keys/service.ts";
import { passportRoutes } from "./core/passports/routes.ts";
import { type FleetLease, soleInstanceLease } from "./fleet-lease.ts";
import { auditRoutes } from "./foundation/audit/routes.ts";
import { createAuditRecorder } from "./foundation/audit/service.ts";
import { kycRoutes } from "./foundation/kyc/routes.ts";
import { type KycVerifier, manualKycVerifier } from "./foundation/kyc/verifier.ts";
import { siteRoutes } from "./foundation/sites/routes.ts";
import { PASSWORD_RESET_PURGE_BATCH } from "./foundation/users/password-reset.ts";
import { userRoutes } from "./foundation/users/routes.ts";
import { SECURITY_SCHEMES } from "./http/contract.ts";
import { errorBoundary } from "./http/error-boundary.ts";
import { openapiDocumentRoute } from "./http/openapi-document.ts";
import { openapiReference } from "./http/openapi-reference.ts";
import { createRateLimiter } from "./http/rate-limit.ts";
import type { RateLimitStore } from "./http/rate-limit-store.ts";
import { routeRecorder } from "./http/route-template.ts";
import { listenHttp, type Transport } from "./http/transport.ts";
import { createKeyEncryptionRing } from "./infrastructure/crypto/key-encryption.ts";
import { createJsonLogger, type Logger } from "./infrastructure/logger.ts";
import { createLogMailer, type Mailer } from "./infrastructure/mailer.ts";
import { createMemoryOutcomeFanout } from "./infrastructure/memory/outcome-fanout.ts";
import { createMemoryRateLimitStore } from "./infrastructure/memory/rate-limit-store.ts";
import { createSqliteStores, type Stores } from "./infrastructure/sqlite/stores.ts";
import { createDifficultySignals } from "./modules/adaptive-difficulty/signals.ts";
import type { KeyBindingDeps } from "./modules/agent-keys/binding.ts";
import { directoryRoutes } from "./modules/agent-keys/directory-routes.ts";
import { createProofReplayCache } from "./modules/agent-keys/replay-cache.ts";
import { agentKeyRoutes } from "./modules/agent-keys/routes.ts";
import type { AgentKeyDeps } from "./modules/agent-keys/service.ts";
import { createEventStreams } from "./modules/agent-login/event-stream.ts";
import { agentLoginRoutes } from "./modules/agent-login/routes.ts";
import { expireDueRequests } from "./modules/agent-login/service.ts";
import type { OutcomeFanout } from "./modules/agent-login/store.ts";
import { bindingRoutes } from "./modules/bindings/routes.ts";
import { type BindingDeps, sweepBindings } from "./modules/bindings/service.ts";
import { buildOAuthDeps, OAUTH_PREFIX, purgeOAuthState } from "./modules/oauth/deps.ts";
import { browserFlowOnIssuerHost } from "./modules/oauth/issuer-host.ts";
import { oauthFormParser } from "./modules/oauth/params.ts";
import { oauthRoutes } from "./modules/oauth/routes.ts";
import { createRevocationList } from "./modules/revocation/list.ts";
import { revocationRoutes } from "./modules/revocation/routes.ts";
import { createRevocationHooks } from "./modules/revocation/service.ts";
import { createObservability } from "./observability/observability.ts";
import type { DatabasePoolSupplier } from "./observability/prometheus.ts";
import type { ReadinessCheck } from "./observability/readiness.ts";
import { renderErrorPage } from "./web/error-page.ts";
import { webFormParser } from "./web/forms.ts";
import { webPages } from "./web/pages/index.ts";

export interface AppDeps {
  config: ServerConfig;
  /**
   * An open, migrated SQLite database (`openDatabase`); the caller owns it and
   * closes it after `stop()`. Without it, `stores` must hold every store
   * (PostgreSQL: `openStorage` in server/infrastructure/open-stores.ts).
   */
  db?: Database;
  /** 32 bytes that seal the private signing keys at rest. */
  keyEncryptionKey: Uint8Array;
  /** The KEK being retired during a KEK rotation: opens signing keys, never seals (docs/key-encryption.md). */
  previousKeyEncryptionKey?: Uint8Array;
  clock?: Clock;
  mailer?: Mailer;
  kycVerifier?: KycVerifier;
  logger?: Logger;
  /** Replace individual stores (another backend); the rest come from `db`. */
  stores?: Partial<Stores>;
  /**
   * Who runs the once-per-fleet maintenance (expiry sweeps, purges, scheduled
   * rotation); default: this instance alone. Every instance still reloads the
   * signing keys at each tick, so all serve the same JWKS within one interval.
   */
  lease?: FleetLease;
  /** More periodic work for the lease holder (the storage's own purges). */
  maintainStorage?: (now: number) => Promise<void>;
  rateLimitStore?: RateLimitStore;
  fanout?: OutcomeFanout;
  /** More `/ready` checks (PostgreSQL, Redis); one named "database" replaces the SQLite `SELECT 1`. */
  readiness?: ReadinessCheck[];
  /** How long each readiness check may take (default 2 s). */
  readinessTimeoutMs?: number;
  /** The database pool's use, for `lime_database_pool_connections_*`; absent for SQLite. */
  databasePool?: DatabasePoolSupplier;
  /** Run expiry, rotation and purges on a timer (default true; tests with a frozen clock call `maintain()`). */
  startMaintenance?: boolean;
}

export interface ListeningAt {
  url: string;
  port: number;
  /** The operations listener serving `/metrics` and `/ready` (`METRICS_PORT`), or null. */
  metricsUrl: string | null;
}

export interface LimeServer {
  app: Elysia;
  context: AppContext;
  /** Expire overdue login and binding requests, rotate keys when due, purge what has lapsed. */
  maintain(): Promise<void>;
  /**
   * Starts listening (port 0 picks a free port) through the HTTP transport (server/http/transport.ts),
   * and the operations listener when `METRICS_PORT` is set (`metricsUrl`; null otherwise).
   */
  listen(port?: number, hostname?: string): Promise<ListeningAt>;
  /**
   * Stops timers, closes event streams and the listeners. Does not close the
   * database. `graceMs` gives responses in flight, and each event stream's
   * SERVER_SHUTDOWN frame, that long to reach their clients (main.ts on
   * SIGTERM); by default connections are cut at once.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/** The SQLite stores of `deps.db` with `deps.stores` laid over them, or `deps.stores` alone when complete. */
/** The description's head; its paths come from the routes (server/http/openapi-document.ts). */
const API_DOCUMENTATION = {
  info: {
    title: "LIME identity server",
    version: "1",
    description:
      "Owners, agents, sites, RS256 passports, JWKS and the headless agent login. " +
      "Wire-compatible with LIME's published SDKs; see docs/api.md.",
  },
  tags: [
    { name: "foundation", description: "Owners, sessions, KYC, sites, audit" },
    { name: "core", description: "Agents, their signing keys and key directories, passports, JWKS" },
    { name: "agent-login", description: "Headless agent login with PoW and SSE" },
    { name: "bindings", description: "Agent Binding: a site asks for one of its user's agents" },
    { name: "admin", description: "Operator API (Authorization: Bearer ADMIN_TOKEN)" },
    { name: "oauth", description: "MCP OAuth 2.1 authorization server; see docs/mcp-oauth.md" },
  ],
  securitySchemes: SECURITY_SCHEMES,
};

function resolveStores(deps: AppDeps): Stores {
  if (deps.db) return { ...createSqliteStores(deps.db), ...deps.stores };
  const given = deps.stores ?? {};
  const missing = STORE_NAMES.filter((name) => given[name] === undefined);
  if (missing.length > 0) {
    throw new Error(`createApp: without db, stores must hold every store (missing: ${missing.join(", ")})`);
  }
  return given as Stores;
}

const STORE_NAMES: ReadonlyArray<keyof Stores> = [
  "users",
  "emailCodes",
  "passwordResets",
  "sessions",
  "kyc",
  "sites",
  "agents",
  "agentReputation",
  "keys",
  "agentLogin",
  "audit",
  "oauth",
  "bindings",
  "revocations",
  "agentKeys",
];

export async function createApp(deps: AppDeps): Promise<LimeServer> {
  const { config } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createJsonLogger();
  const stores = resolveStores(deps);
  const lease = deps.lease ?? soleInstanceLease;
  const audit = createAuditRecorder(stores.audit, clock);
  const fanout =
    deps.fanout ??
    createMemoryOutcomeFanout((error, event) =>
      logger.error("an outcome listener failed", { site_id: event.siteId, error: String(error) }),
    );
  const encryption = await createKeyEncryptionRing(deps.keyEncryptionKey, deps.previousKeyEncryptionKey);
  const keyRing = await openKeyRing({
    clock,
    keys: stores.keys,
    encryption,
    logger,
    audit,
    lifetimes: config.lifetimes,
  });
  const observability = createObservability({
    config,
    logger,
    clock,
    keyRing,
    keys: stores.keys,
    db: deps.db,
    readiness: deps.readiness,
    readinessTimeoutMs: deps.readinessTimeoutMs,
    databasePool: deps.databasePool,
    openStreams: () => context.eventStreams.openCount(),
  });
  const { metrics } = observability;
  const passports = { clock, keyRing, issuer: config.publicUrl, lifetimes: config.lifetimes, audit, metrics };
  const users = {
    config,
    clock,
    users: stores.users,
    emailCodes: stores.emailCodes,
    passwordResets: stores.passwordResets,
    sessions: stores.sessions,
    mailer: deps.mailer ?? createLogMailer(logger),
    audit,
  };
  // Adaptive difficulty's counters, per instance (docs/decisions/adaptive-difficulty.md).
  const difficulty = createDifficultySignals();
  const sites = {
    clock,
    sites: stores.sites,
    audit,
    defaultPowDifficulty: config.defaultPowDifficulty,
    siteLoad: (siteId: string) => difficulty.siteLoad(siteId, clock.now()),
  };
  const revocationList = createRevocationList({
    clock,
    store: stores.revocations,
    keyRing,
    issuer: config.publicUrl,
  });
  const revocations = createRevocationHooks({
    clock,
    store: stores.revocations,
    outcomes: stores.agentLogin,
    fanout,
    logger,
    lifetimes: config.lifetimes,
    onRecorded: () => revocationList.invalidate(),
  });
  // Key proofs' jtis, per instance (docs/decisions/agent-keys.md): one cache for every route that reads a proof.
  const replay = createProofReplayCache();
  const keyBinding: KeyBindingDeps = { clock, replay, issuer: config.publicUrl, keys: stores.agentKeys };
  const agentKeys: AgentKeyDeps = {
    clock,
    issuer: config.publicUrl,
    keys: stores.agentKeys,
    agents: stores.agents,
    replay,
    audit,
    revocations,
    metrics,
  };
  const agentLogin = {
    clock,
    store: stores.agentLogin,
    fanout,
    sites: stores.sites,
    passports,
    reputation: stores.agentReputation,
    audit,
    lifetimes: config.lifetimes,
    metrics,
    difficulty,
    keyBinding,
  };
  const bindings: BindingDeps = {
    clock,
    store: stores.bindings,
    sites: stores.sites,
    agents: stores.agents,
    passports,
    audit,
    publicUrl: config.publicUrl,
    lifetimes: config.lifetimes,
    revocations,
  };

  const oauth = buildOAuthDeps({
    server: config,
    clock,
    keyRing,
    stores: stores.oauth,
    agents: { clock, agents: stores.agents, users: stores.users, audit },
    sessions: { clock, sessions: stores.sessions, users: stores.users },
    users,
    audit,
    logger,
    metrics,
  });

  const context: AppContext = {
    config,
    clock,
    logger,
    metrics,
    users,
    sessions: { clock, sessions: stores.sessions, users: stores.users },
    kyc: {
      clock,
      users: stores.users,
      kyc: stores.kyc,
      kycVerifier: deps.kycVerifier ?? manualKycVerifier,
      audit,
      emailVerification: config.emailVerification,
    },
    sites,
    agents: { clock, agents: stores.agents, users: stores.users, audit, revocations },
    passports,
    agentLogin,
    keyRing,
    auditStore: stores.audit,
    rateLimiter: createRateLimiter(deps.rateLimitStore ?? createMemoryRateLimitStore(), clock),
    eventStreams: createEventStreams({
      clock,
      store: stores.agentLogin,
      fanout,
      logger,
      keepaliveMs: config.sseKeepaliveMs,
      maxStreamsPerSite: config.rateLimits.streamsPerSite,
    }),
    oauth,
    bindings,
    revocationList,
    agentKeys,
    keyBinding,
  };

  // The description route reads the finished app (set below) on its first request.
  let documented: AnyElysia | undefined;
  const app = new Elysia()
    // First: it notes each request's route template, and must see errors before the boundary answers them.
    .use(routeRecorder())
    // Before the boundary: OAuth endpoints take form bodies, which the boundary's JSON-only parser refuses.
    .use(oauthFormParser(OAUTH_PREFIX, config.maxBodyBytes))
    .use(webFormParser(config.maxBodyBytes))
    .use(errorBoundary(logger, config.maxBodyBytes, renderErrorPage))
    // The sign-in and consent pages work only on the issuer's host (its cookies, its Origin check).
    .use(
      browserFlowOnIssuerHost(oauth.issuer, [
        `${OAUTH_PREFIX}/authorize`,
        `${OAUTH_PREFIX}/authorize/consent`,
      ]),
    )
    // Built from the routes' own models once all are registered (server/http/contract.ts).
    .use(openapiDocumentRoute("/openapi/json", () => documented!, API_DOCUMENTATION))
    // The reference page runs a third-party bundle on the origin of owners' sessions and the consent
    // page; production serves only the JSON (docs/decisions/openapi-reference-ui.md).
    .use(config.production ? new Elysia() : openapiReference("/openapi"))
    .use(observability.routes)
    .use(userRoutes(context))
    .use(kycRoutes(context))
    .use(siteRoutes(context))
    .use(auditRoutes(context))
    .use(agentRoutes(context))
    .use(agentKeyRoutes(context))
    .use(directoryRoutes(context))
    .use(passportRoutes(context))
    .use(keyRoutes(context))
    .use(agentLoginRoutes(context))
    .use(bindingRoutes(context))
    .use(revocationRoutes(context))
    .use(oauthRoutes(context))
    .use(webPages(context));
  documented = app;

  let maintaining: Promise<void> | null = null;
  const maintain = () => {
    maintaining ??= (async () => {
      try {
        const now = clock.now();
        // The lease outlives a few missed ticks, so a busy leader keeps it; a dead one loses it within 5.
        const leader = await lease.acquire(now, config.maintenanceIntervalMs * 5);
        if (!leader) {
          await keyRing.refresh();
          return;
        }
        await expireDueRequests(agentLogin);
        await sweepBindings(bindings);
        await refreshDueReputations(stores.agentReputation, now);
        await keyRing.maintain();
        // Every purge is a few bounded batches on an index (docs/decisions/purge-and-indexes.md);
        // its duration is logged at debug level (the long-run bench reads it), and a tick that
        // outlasts the interval is a warning.
        const purgeStarted = performance.now();
        await stores.agentLogin.purge(
          now,
          now - config.lifetimes.eventRetentionMs - config.lifetimes.loginRequestMs,
        );
        await stores.revocations.purge(now);
        await stores.sessions.deleteExpired(now);
        await stores.passwordResets.deleteExpired(now, PASSWORD_RESET_PURGE_BATCH);
        await purgeOAuthState(oauth);
        await deps.maintainStorage?.(now);
        const purgeMs = performance.now() - purgeStarted;
        logger.debug("maintenance purge", { purge_ms: Math.round(purgeMs * 100) / 100 });
        if (purgeMs > config.maintenanceIntervalMs)
          logger.warn("maintenance purge outlasted its interval", { purge_ms: Math.round(purgeMs) });
      } catch (error) {
        logger.error("maintenance failed", { error: String(error) });
      } finally {
        maintaining = null;
      }
    })();
    return maintaining;
  };
  const timer =
    deps.startMaintenance === false
      ? undefined
      : setInterval(() => void maintain(), config.maintenanceIntervalMs);

  let transport: Transport | null = null;
  return {
    app: app as unknown as Elysia,
    context,
    maintain,
    async listen(port = config.port, hostname = config.hostname) {
      // Request ids, HTTP metrics and the access log sit between the transport and Elysia.
      const observed = observability.observe((request) => app.handle(request));
      transport = await listenHttp(observed.handle, {
        port,
        hostname,
        headersTimeoutMs: config.http.headersTimeoutMs,
        requestTimeoutMs: config.http.requestTimeoutMs,
        keepAliveTimeoutMs: config.http.keepAliveTimeoutMs,
        maxHeaderBytes: config.http.maxHeaderBytes,
        logger,
        onAnswer: observed.answered,
      });
      const metricsUrl = await observability.listen();
      const host = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname;
      const shown = host.includes(":") ? `[${host}]` : host;
      return { url: `http://${shown}:${transport.port}`, port: transport.port, metricsUrl };
    },
    async stop(options = {}) {
      clearInterval(timer);
      context.eventStreams.closeAll();
      await transport?.close(options.graceMs);
      transport = null;
      await observability.close();
      await maintaining;
    },
  };
}
