/**
 * The operations side of one app instance, assembled once by `createApp`:
 * the metrics the services count into, the `/ready` and `/metrics` routes,
 * the access-log wrapper around the request handler, and the operations
 * listener (`METRICS_PORT`). docs/decisions/operations-endpoints.md.
 *
 * @example
 * const observability = createObservability({ config, logger, clock, keyRing, keys: stores.keys, db, openStreams });
 * app.use(observability.routes);
 * const observed = observability.observe((request) => app.handle(request));
 * listenHttp(observed.handle, { ..., onAnswer: observed.answered });
 * const metricsUrl = await observability.listen();
 * await observability.close();
 */

import type { Database } from "bun:sqlite";
import type { Clock } from "../clock.ts";
import type { ServerConfig } from "../config.ts";
import type { KeyRing } from "../core/keys/service.ts";
import type { KeyStore } from "../core/keys/store.ts";
import { type ObservedRequests, observeRequests } from "../http/access-log.ts";
import { listenHttp, type RequestHandler, type Transport } from "../http/transport.ts";
import type { Logger } from "../infrastructure/logger.ts";
import type { Metrics } from "./metrics.ts";
import { createMetricsEndpoint } from "./metrics-endpoint.ts";
import { createPrometheusMetrics, type DatabasePoolSupplier } from "./prometheus.ts";
import { createReadiness, type ReadinessCheck } from "./readiness.ts";
import { signingKeysReadinessCheck, sqliteReadinessCheck } from "./readiness-checks.ts";
import { observabilityRoutes, operationsHandler } from "./routes.ts";
import { signingKeyAge } from "./signing-key-age.ts";

export interface ObservabilityOptions {
  config: Pick<ServerConfig, "metrics" | "accessLog" | "trustProxy" | "http">;
  logger: Logger;
  clock: Clock;
  keyRing: KeyRing;
  keys: Pick<KeyStore, "list">;
  /** The SQLite database: `/ready` runs `SELECT 1` on it unless `readiness` has a "database" check. */
  db?: Database;
  /** More readiness checks (PostgreSQL, Redis), run beside the built-in ones. */
  readiness?: readonly ReadinessCheck[];
  readinessTimeoutMs?: number;
  databasePool?: DatabasePoolSupplier;
  /** Event streams open now (read at scrape). */
  openStreams(): number;
}

export interface Observability {
  metrics: Metrics;
  /** `/ready` and `/metrics` on the public app. */
  routes: ReturnType<typeof observabilityRoutes>;
  /** The request handler with request ids, HTTP metrics and the access log around it. */
  observe(handle: RequestHandler): ObservedRequests;
  /** Starts the operations listener when `METRICS_PORT` is set: its URL, or null. */
  listen(): Promise<string | null>;
  close(): Promise<void>;
}

function readinessChecks(options: ObservabilityOptions): ReadinessCheck[] {
  const given = options.readiness ?? [];
  const builtIn: ReadinessCheck[] = [];
  if (options.db !== undefined && !given.some((check) => check.name === "database")) {
    builtIn.push(sqliteReadinessCheck(options.db));
  }
  builtIn.push(signingKeysReadinessCheck(options.keyRing));
  return [...builtIn, ...given];
}

export function createObservability(options: ObservabilityOptions): Observability {
  const { config, logger } = options;
  const prometheus = createPrometheusMetrics({
    openStreams: options.openStreams,
    signingKeyAgeSeconds: signingKeyAge(options.keyRing, options.keys, options.clock),
    databasePool: options.databasePool,
  });
  const readiness = createReadiness(readinessChecks(options), {
    logger,
    timeoutMs: options.readinessTimeoutMs,
  });
  const endpoint = createMetricsEndpoint({ token: config.metrics.token, prometheus, logger });
  let listener: Transport | null = null;

  return {
    metrics: prometheus.metrics,
    routes: observabilityRoutes(readiness, endpoint),
    observe: (handle) =>
      observeRequests(handle, {
        logger,
        metrics: prometheus.metrics,
        enabled: config.accessLog,
        trustProxy: config.trustProxy,
      }),
    async listen() {
      if (config.metrics.port === null) return null;
      listener = await listenHttp(operationsHandler(readiness, endpoint), {
        port: config.metrics.port,
        hostname: config.metrics.host,
        headersTimeoutMs: config.http.headersTimeoutMs,
        requestTimeoutMs: config.http.requestTimeoutMs,
        keepAliveTimeoutMs: config.http.keepAliveTimeoutMs,
        maxHeaderBytes: config.http.maxHeaderBytes,
        logger,
      });
      const host = config.metrics.host.includes(":") ? `[${config.metrics.host}]` : config.metrics.host;
      return `http://${host}:${listener.port}`;
    },
    async close() {
      await listener?.close();
      listener = null;
    },
  };
}
