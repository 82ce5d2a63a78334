/**
 * The `Metrics` of one app instance, on prom-client, in the Prometheus text
 * format. Each app has its own `Registry`, never prom-client's global one: a
 * test process builds many apps, and two apps registering `lime_*` in one
 * registry would throw (or worse, add up each other's counts).
 *
 * Gauges that mirror state (open streams, signing-key age, pool use) are read
 * at scrape time from their source rather than counted up and down, so they
 * cannot drift. Labels are fixed sets or route templates, never raw input
 * (docs/decisions/operations-endpoints.md).
 *
 * @example
 * const prometheus = createPrometheusMetrics({ openStreams: () => 0, signingKeyAgeSeconds: async () => 12 });
 * prometheus.metrics.loginRequestCreated();
 * const text = await prometheus.scrape();
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type {
  AgentKeyAlgorithmLabel,
  DifficultyRaiseCause,
  HttpMetrics,
  Metrics,
  PassportKind,
  PowFlow,
} from "./metrics.ts";

/** A database connection pool's use, when the backend has one (PostgreSQL); SQLite has none. */
export type DatabasePoolSupplier = () => { inUse: number; max: number };

export interface PrometheusSources {
  /** Event streams open in this process. */
  openStreams(): number;
  /** Seconds since the CURRENT signing key began signing; null when it cannot be told. */
  signingKeyAgeSeconds(): Promise<number | null>;
  databasePool?: DatabasePoolSupplier;
}

export interface PrometheusMetrics {
  metrics: Metrics & HttpMetrics;
  /** The `Content-Type` of `scrape()`'s text. */
  contentType: string;
  scrape(): Promise<string>;
}

const PASSPORT_KINDS: readonly PassportKind[] = ["site_login", "self_service", "binding"];
const POW_FLOWS: readonly PowFlow[] = ["agent_login", "oauth"];
const RAISE_CAUSES: readonly DifficultyRaiseCause[] = ["site_load", "address_failures"];
const AGENT_KEY_ALGORITHMS: readonly AgentKeyAlgorithmLabel[] = ["ed25519", "ecdsa-p256-sha256"];
/** One bucket per bit from 8 to 24 (the range sites use), then coarser up to the API's bound. */
const DIFFICULTY_BUCKETS = [8, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 24, 28, 32];

let processRegistry: Registry | null = null;

/**
 * Process metrics (CPU, memory, event-loop lag, GC) describe the process, not
 * an app, and prom-client's collector starts an event-loop monitor and a GC
 * observer it never stops: they are collected once per process, in a registry
 * of their own, and every app's registry is merged with it.
 */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createPrometheusMetrics(sources: PrometheusSources): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];

  const httpRequests = new Counter({
    name: "lime_http_requests_total",
    help: "HTTP requests answered, by method, route template and status.",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "lime_http_request_duration_seconds",
    help: "Time from receiving a request to handing its response to the transport (for event streams: to the headers).",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const loginCreated = new Counter({
    name: "lime_login_requests_created_total",
    help: "Agent login requests opened by sites.",
    registers,
  });
  const loginApproved = new Counter({
    name: "lime_login_requests_approved_total",
    help: "Agent login requests approved with a valid proof of work.",
    registers,
  });
  const loginExpired = new Counter({
    name: "lime_login_requests_expired_total",
    help: "Agent login requests that expired unapproved.",
    registers,
  });
  const powFailures = new Counter({
    name: "lime_pow_failures_total",
    help: "Proof-of-work nonces that did not meet the difficulty, by flow.",
    labelNames: ["flow"] as const,
    registers,
  });
  const passports = new Counter({
    name: "lime_passports_issued_total",
    help: "Passports signed, by kind.",
    labelNames: ["kind"] as const,
    registers,
  });
  const boundPassports = new Counter({
    name: "lime_bound_passports_issued_total",
    help: "Passports signed bound to an agent key (cnf.jkt), by kind; each is also in lime_passports_issued_total.",
    labelNames: ["kind"] as const,
    registers,
  });
  const agentKeys = new Counter({
    name: "lime_agent_keys_registered_total",
    help: "Agent signing keys registered, by RFC 9421 algorithm.",
    labelNames: ["alg"] as const,
    registers,
  });
  const challengeDifficulty = new Histogram({
    name: "lime_pow_challenge_difficulty",
    help: "Difficulty (bits) of agent-login challenges when first fetched, after adaptive raises.",
    buckets: DIFFICULTY_BUCKETS,
    registers,
  });
  const difficultyRaises = new Counter({
    name: "lime_pow_difficulty_raises_total",
    help: "Agent-login requests whose difficulty was raised above the floor, by cause (site load at opening, the fetching address's failures at first fetch).",
    labelNames: ["cause"] as const,
    registers,
  });
  // Every series exists from the start, so a rate over a fresh process reads 0 rather than nothing.
  for (const flow of POW_FLOWS) powFailures.labels(flow).inc(0);
  for (const cause of RAISE_CAUSES) difficultyRaises.labels(cause).inc(0);
  for (const kind of PASSPORT_KINDS) passports.labels(kind).inc(0);
  for (const kind of PASSPORT_KINDS) boundPassports.labels(kind).inc(0);
  for (const alg of AGENT_KEY_ALGORITHMS) agentKeys.labels(alg).inc(0);

  new Gauge({
    name: "lime_event_streams_open",
    help: "Server-Sent Events streams open in this process.",
    registers,
    collect() {
      this.set(sources.openStreams());
    },
  });
  new Gauge({
    name: "lime_signing_key_age_seconds",
    help: "Seconds since the current signing key began signing.",
    registers,
    async collect() {
      // A failed read drops the series for this scrape instead of failing the whole scrape.
      this.reset();
      const age = await sources.signingKeyAgeSeconds().catch(() => null);
      if (age !== null) this.set(age);
    },
  });
  const pool = sources.databasePool;
  if (pool !== undefined) {
    new Gauge({
      name: "lime_database_pool_connections_in_use",
      help: "Database pool connections lent out.",
      registers,
      collect() {
        this.set(pool().inUse);
      },
    });
    new Gauge({
      name: "lime_database_pool_connections_max",
      help: "Database pool size.",
      registers,
      collect() {
        this.set(pool().max);
      },
    });
  }

  // The app's own metrics and the process's, in one private registry (`merge` copies the lists).
  const exposed = Registry.merge([registry, processMetrics()]);
  return {
    contentType: exposed.contentType,
    scrape: () => exposed.metrics(),
    metrics: {
      loginRequestCreated: () => loginCreated.inc(),
      loginRequestApproved: () => loginApproved.inc(),
      loginRequestsExpired: (count) => {
        if (count > 0) loginExpired.inc(count);
      },
      powFailed: (flow) => powFailures.labels(flow).inc(),
      passportIssued: (kind) => passports.labels(kind).inc(),
      boundPassportIssued: (kind) => boundPassports.labels(kind).inc(),
      agentKeyRegistered: (alg) => agentKeys.labels(alg).inc(),
      powChallengeShown: (difficulty) => challengeDifficulty.observe(difficulty),
      powDifficultyRaised: (cause) => difficultyRaises.labels(cause).inc(),
      httpRequest: ({ method, route, status, seconds }) => {
        const labels = { method, route, status: String(status) };
        httpRequests.inc(labels);
        httpDuration.observe(labels, seconds);
      },
    },
  };
}
