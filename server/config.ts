/**
 * Server configuration, read once from the environment at boot.
 *
 * Every variable is parsed and range-checked here; a bad value stops the
 * server with a `ConfigError` naming the variable, so a typo never turns into
 * a silently insecure default. Lifetimes are in seconds in the environment and
 * in milliseconds inside the server.
 *
 * @example
 * const config = loadConfig(process.env); // throws ConfigError("PORT", ...) on PORT=abc
 */

export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.variable = variable;
    this.name = "ConfigError";
  }
}

export interface Lifetimes {
  loginRequestMs: number;
  /** Site-login passports: at most 120 s (the LIME contract). */
  siteLoginPassportMs: number;
  /** Self-service passports from `POST /api/v1/core/passports`. */
  passportMs: number;
  sessionMs: number;
  emailCodeMs: number;
  /** How long a password-reset link works (`PASSWORD_RESET_TTL_SECONDS`). */
  passwordResetMs: number;
  keyRotationMs: number;
  /** How long `expired` outcomes stay replayable with `Last-Event-ID`. */
  eventRetentionMs: number;
  jwksMaxAgeSeconds: number;
  /** How long an Agent Binding request waits for the user on the connect page. */
  bindingRequestMs: number;
}

export interface RateLimits {
  /** Per client address: register, verify, resend, login. */
  authPerMinute: number;
  /** Per site: login requests created. */
  loginRequestsPerMinute: number;
  /** Per client address: public challenge fetches. */
  challengeFetchesPerMinute: number;
  /** Per agent: approval attempts (wrong nonces count). */
  approvalsPerMinute: number;
  /** Per agent: self-service passports. */
  passportsPerMinute: number;
  /** Concurrent event streams per site. */
  streamsPerSite: number;
  /** Per site: Agent Binding requests created. */
  bindingRequestsPerMinute: number;
  /** Per agent: signing-key registrations, revocations and directory-signature uploads. */
  agentKeyWritesPerMinute: number;
}

export interface PasswordHashing {
  /** argon2id memory cost in KiB. */
  memoryCost: number;
  timeCost: number;
}

export type DomainTokenPolicy = "any-host" | "registered-only";

/** The MCP OAuth provider (server/modules/oauth). */
export interface OAuthConfig {
  /** Access tokens (RFC 9068 JWTs); at most PASSPORT_TTL_SECONDS so retired keys outlive them. */
  accessTokenMs: number;
  authorizationCodeMs: number;
  /** How long a pending authorization (consent page, agent PoW challenge) stays open. */
  authorizationRequestMs: number;
  refreshTokenMs: number;
  /** Difficulty of the PoW an agent solves to approve an authorization for itself. */
  powDifficulty: number;
  /** Owners below this KYC level get OAUTH_CAPABILITY_DENIED from LIME's headless token endpoint. */
  minOwnerKycLevel: number;
  /**
   * LIME's headless `{"domain"}` tokens: for any host, as LIME's "Zero-Touch"
   * does (default), or only for hosts with a registered resource.
   * docs/decisions/zero-touch-domain-tokens.md.
   */
  domainTokens: DomainTokenPolicy;
  registrationsPerMinute: number;
  tokenRequestsPerMinute: number;
  authorizeRequestsPerMinute: number;
  cimd: {
    enabled: boolean;
    /** Development and tests only: fetch metadata documents from loopback addresses. Refused in production. */
    allowLoopback: boolean;
    /** PEM file of extra CA certificates trusted for metadata documents (a private PKI, a test server). */
    caFile: string | null;
    maxBytes: number;
    timeoutMs: number;
    maxCacheMs: number;
  };
}

/**
 * How the SMTP connection is protected:
 * - `tls`: implicit TLS from the first byte (`smtps://`, usually port 465);
 * - `starttls`: STARTTLS is required before anything else is sent, credentials included;
 * - `starttls-if-offered`: STARTTLS when the server offers it, plain otherwise (`SMTP_ALLOW_PLAINTEXT=on`);
 * - `none`: plain SMTP, only to a loopback host, where the traffic never leaves the machine.
 * Certificates are always verified when TLS is used.
 */
export type SmtpSecurity = "tls" | "starttls" | "starttls-if-offered" | "none";

/** Where outgoing mail goes. Holds the SMTP password: never log it (log `host` and `port` only). */
export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  auth: { user: string; pass: string } | null;
}

export interface MailAddress {
  name: string;
  address: string;
}

export interface MailConfig {
  /** `null`: no SMTP_URL, mail goes to the server log (the development mailer). */
  smtp: SmtpSettings | null;
  /** The From of every message (`MAIL_FROM`). */
  from: MailAddress;
}

/** Bounds of the HTTP transport (server/http/transport.ts). */
export interface HttpLimits {
  /** Time a client has to send the request line and headers. */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request, body included. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
}

/** `/metrics` and the operations listener (docs/decisions/operations-endpoints.md). */
export interface MetricsConfig {
  /** `METRICS_TOKEN`: Bearer token `/metrics` asks for; `null` keeps `/metrics` off the public port. */
  token: string | null;
  /** `METRICS_PORT`: a second listener serving only `/metrics` and `/ready`; `null` for none, 0 picks a free port. */
  port: number | null;
  /** `METRICS_HOST`: the interface of that listener, loopback by default. */
  host: string;
}

export interface ServerConfig {
  port: number;
  /** The interface to listen on: loopback unless HOST says otherwise. */
  hostname: string;
  /** The SQLite file (`DATABASE_PATH`); unused when `databaseUrl` is set. */
  databasePath: string;
  /**
   * `DATABASE_URL`: every durable store on PostgreSQL, for a fleet on several
   * hosts; `null` keeps the embedded SQLite file. See docs/deploy.md.
   */
  databaseUrl: string | null;
  /** Connections per instance in the PostgreSQL pool (`DATABASE_POOL_SIZE`). */
  databasePoolSize: number;
  /** The issuer (`iss`) and the base of every absolute URL; no trailing slash. */
  publicUrl: string;
  /** `null` turns the admin API off. */
  adminToken: string | null;
  emailVerification: boolean;
  production: boolean;
  /** 32 bytes, or `null` when unset (development only: `main.ts` then uses a generated file). */
  keyEncryptionKey: Uint8Array | null;
  /**
   * The KEK being retired (`LIME_KEY_ENCRYPTION_KEY_PREVIOUS`): still accepted to open
   * signing keys, never used to seal. Set only during a KEK rotation (docs/key-encryption.md).
   */
  previousKeyEncryptionKey: Uint8Array | null;
  /** Read the client address from `X-Forwarded-For` (only behind a proxy you control). */
  trustProxy: boolean;
  /**
   * Shared short-lived state (rate limits, outcome fan-out) for several
   * instances; `null` keeps it in process memory. See docs/decisions/server-redis.md.
   */
  redisUrl: string | null;
  mail: MailConfig;
  maxBodyBytes: number;
  http: HttpLimits;
  defaultPowDifficulty: number;
  sseKeepaliveMs: number;
  /** Period of the expiry sweep, key-rotation check and purge. */
  maintenanceIntervalMs: number;
  lifetimes: Lifetimes;
  rateLimits: RateLimits;
  passwordHashing: PasswordHashing;
  oauth: OAuthConfig;
  metrics: MetricsConfig;
  /** One JSON line per request on the log (`ACCESS_LOG`, default on). */
  accessLog: boolean;
}

/** The production argon2id cost (OWASP: m=19 MiB, t=2 is the floor; we use 64 MiB). */
export const PRODUCTION_PASSWORD_HASHING: PasswordHashing = { memoryCost: 65536, timeCost: 2 };

/** The LIME contract caps site-login passports at 120 s. */
export const MAX_SITE_LOGIN_PASSPORT_SECONDS = 120;

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer between ${min} and ${max}`);
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `must be an integer between ${min} and ${max}`);
  }
  return value;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (raw === "on") return true;
  if (raw === "off") return false;
  throw new ConfigError(name, 'must be "on" or "off"');
}

function oneOf<const T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  const found = allowed.find((value) => value === raw);
  if (found === undefined) throw new ConfigError(name, `must be one of ${allowed.join(", ")}`);
  return found;
}

function publicUrl(env: Env, port: number, production: boolean): string {
  const raw = env.PUBLIC_URL?.trim();
  if (raw === undefined || raw === "") return `http://localhost:${port}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("PUBLIC_URL", "must be an absolute http(s) URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError("PUBLIC_URL", "must be an absolute http(s) URL");
  }
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new ConfigError("PUBLIC_URL", "must not carry credentials, a query or a fragment");
  }
  if (production && url.protocol !== "https:") {
    throw new ConfigError("PUBLIC_URL", "must use https when NODE_ENV=production");
  }
  return url.href.replace(/\/+$/, "");
}

function keyEncryptionKey(env: Env, production: boolean): Uint8Array | null {
  const raw = env.LIME_KEY_ENCRYPTION_KEY?.trim();
  if (raw === undefined || raw === "") {
    if (production) {
      throw new ConfigError(
        "LIME_KEY_ENCRYPTION_KEY",
        "is required when NODE_ENV=production (32 random bytes, base64url)",
      );
    }
    return null;
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(raw)) {
    throw new ConfigError(
      "LIME_KEY_ENCRYPTION_KEY",
      "must be exactly 32 bytes encoded as unpadded base64url",
    );
  }
  return new Uint8Array(Buffer.from(raw, "base64url"));
}

/** The KEK being retired; it only opens keys, so it needs a current KEK to seal under. */
function previousKeyEncryptionKey(env: Env, current: Uint8Array | null): Uint8Array | null {
  const name = "LIME_KEY_ENCRYPTION_KEY_PREVIOUS";
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return null;
  if (!/^[A-Za-z0-9_-]{43}$/.test(raw)) {
    throw new ConfigError(name, "must be exactly 32 bytes encoded as unpadded base64url");
  }
  if (current === null) throw new ConfigError(name, "needs LIME_KEY_ENCRYPTION_KEY (the new key) to be set");
  const previous = new Uint8Array(Buffer.from(raw, "base64url"));
  if (Buffer.from(previous).equals(Buffer.from(current))) {
    throw new ConfigError(name, "must differ from LIME_KEY_ENCRYPTION_KEY");
  }
  return previous;
}

/** Checked here so a typo stops the boot; the value is never echoed, since it may carry a password. */
function databaseUrl(env: Env): string | null {
  const raw = env.DATABASE_URL?.trim();
  if (raw === undefined || raw === "") return null;
  const problem = "must be postgres://[user[:password]@]host[:port]/database[?sslmode=…]";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("DATABASE_URL", problem);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
    throw new ConfigError("DATABASE_URL", problem);
  if (url.hostname === "" || url.pathname.length < 2 || url.hash !== "")
    throw new ConfigError("DATABASE_URL", problem);
  return raw;
}

/** Checked here so a typo stops the boot; the value is never echoed, since it may carry a password. */
function redisUrl(env: Env): string | null {
  const raw = env.REDIS_URL?.trim();
  if (raw === undefined || raw === "") return null;
  const problem = "must be redis://[user:password@]host[:port][/db] or rediss://... (TLS)";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("REDIS_URL", problem);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new ConfigError("REDIS_URL", problem);
  if (url.hostname === "" || url.search !== "" || url.hash !== "" || !/^\/?(\d{1,2})?$/.test(url.pathname)) {
    throw new ConfigError("REDIS_URL", problem);
  }
  return raw;
}

/** Literal loopback hosts only: a name other than `localhost` could resolve anywhere. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

function decodeCredential(variable: string, raw: string, problem: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ConfigError(variable, problem);
  }
}

/**
 * `smtp://` requires STARTTLS off loopback unless `SMTP_ALLOW_PLAINTEXT=on`, so a
 * password or a reset link never crosses a network in clear by accident.
 * Like REDIS_URL the value is never echoed, since it may carry a password.
 */
function smtpSettings(env: Env): SmtpSettings | null {
  const raw = env.SMTP_URL?.trim();
  if (raw === undefined || raw === "") return null;
  const problem =
    "must be smtp://[user:password@]host[:port] (STARTTLS) or smtps://[user:password@]host[:port] (TLS)";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("SMTP_URL", problem);
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") throw new ConfigError("SMTP_URL", problem);
  // A query could smuggle transport options (nodemailer reads some from URLs); we take none.
  if (url.hostname === "" || url.search !== "" || url.hash !== "" || !/^\/?$/.test(url.pathname)) {
    throw new ConfigError("SMTP_URL", problem);
  }
  const user = decodeCredential("SMTP_URL", url.username, problem);
  const pass = decodeCredential("SMTP_URL", url.password, problem);
  if (user === "" && pass !== "") throw new ConfigError("SMTP_URL", problem);
  const allowPlaintext = onOff(env, "SMTP_ALLOW_PLAINTEXT", false);
  const implicitTls = url.protocol === "smtps:";
  const security: SmtpSecurity = implicitTls
    ? "tls"
    : isLoopbackHost(url.hostname)
      ? "none"
      : allowPlaintext
        ? "starttls-if-offered"
        : "starttls";
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (implicitTls ? 465 : 587) : Number(url.port),
    security,
    auth: user === "" ? null : { user, pass },
  };
}

const MAIL_FROM_PROBLEM =
  'must be an address ("no-reply@id.example") or a name and an address ("LIME <no-reply@id.example>")';
const ADDRESS = /^[^\s<>@"(),;:\\]+@[^\s<>@"(),;:\\]+$/;

/** The default From is `LIME <no-reply@host of PUBLIC_URL>`, an address literal when the host is an IP. */
function mailFrom(env: Env, issuer: string): MailAddress {
  const raw = env.MAIL_FROM?.trim();
  if (raw === undefined || raw === "") {
    const host = new URL(issuer).hostname;
    const domain = /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host)
      ? `[${host}]`
      : host.startsWith("[")
        ? `[IPv6:${host.slice(1, -1)}]`
        : host;
    return { name: "LIME", address: `no-reply@${domain}` };
  }
  // Control characters would let the value break out of the From header.
  if (raw.length > 320 || /[\p{Cc}]/u.test(raw)) throw new ConfigError("MAIL_FROM", MAIL_FROM_PROBLEM);
  const named = /^(?:"([^"\\]*)"|([^<>"]*?))\s*<([^<>]+)>$/.exec(raw);
  const name = (named?.[1] ?? named?.[2] ?? "").trim();
  const address = named ? named[3]!.trim() : raw;
  if (!ADDRESS.test(address)) throw new ConfigError("MAIL_FROM", MAIL_FROM_PROBLEM);
  return { name, address };
}

function adminToken(env: Env): string | null {
  const raw = env.ADMIN_TOKEN;
  if (raw === undefined || raw === "") return null;
  // A short admin secret is guessable over the network; demand at least ~128 bits of hex.
  if (raw.length < 32 || raw.length > 512 || /\s/.test(raw)) {
    throw new ConfigError("ADMIN_TOKEN", "must be 32 to 512 characters without whitespace");
  }
  return raw;
}

/**
 * Metrics are operational detail (traffic, key age, pool use): kept off the
 * public port unless a token guards them, and a separate listener off
 * loopback must have the token too, since nothing else would guard it.
 */
function metricsConfig(env: Env, port: number): MetricsConfig {
  const rawToken = env.METRICS_TOKEN;
  let token: string | null = null;
  if (rawToken !== undefined && rawToken !== "") {
    if (rawToken.length < 32 || rawToken.length > 512 || /\s/.test(rawToken)) {
      throw new ConfigError("METRICS_TOKEN", "must be 32 to 512 characters without whitespace");
    }
    token = rawToken;
  }
  const rawPort = env.METRICS_PORT?.trim();
  const metricsPort =
    rawPort === undefined || rawPort === "" ? null : integer(env, "METRICS_PORT", 0, 0, 65535);
  if (metricsPort !== null && metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError("METRICS_PORT", "must differ from PORT");
  }
  const host = env.METRICS_HOST?.trim() || "127.0.0.1";
  if (metricsPort !== null && token === null && host !== "::1" && !isLoopbackHost(host)) {
    throw new ConfigError("METRICS_HOST", "a metrics listener off loopback needs METRICS_TOKEN");
  }
  return { token, port: metricsPort, host };
}

/**
 * Parses the environment into a `ServerConfig`.
 * Throws `ConfigError` naming the first invalid variable.
 */
export function loadConfig(env: Env): ServerConfig {
  const production = env.NODE_ENV === "production";
  const port = integer(env, "PORT", 3000, 0, 65535);
  const databasePath = env.DATABASE_PATH?.trim() || "./data/lime.sqlite";
  const siteLoginPassportSeconds = integer(
    env,
    "SITE_LOGIN_PASSPORT_TTL_SECONDS",
    60,
    10,
    MAX_SITE_LOGIN_PASSPORT_SECONDS,
  );
  const passportSeconds = integer(env, "PASSPORT_TTL_SECONDS", 900, 60, 86400);
  const issuer = publicUrl(env, port, production);
  const jwksMaxAgeSeconds = integer(env, "JWKS_MAX_AGE_SECONDS", 300, 0, 86400);
  const keyRotationSeconds = integer(env, "KEY_ROTATION_INTERVAL_SECONDS", 30 * 86400, 3600, 365 * 86400);
  if (keyRotationSeconds <= jwksMaxAgeSeconds * 2) {
    // The next key must be visible to caches well before it signs anything.
    throw new ConfigError("KEY_ROTATION_INTERVAL_SECONDS", "must exceed twice JWKS_MAX_AGE_SECONDS");
  }
  const postgresUrl = databaseUrl(env);
  if (postgresUrl !== null && keyEncryptionKey(env, production) === null) {
    // The development KEK is a file beside the SQLite database: on a fleet each host would make its own.
    throw new ConfigError(
      "LIME_KEY_ENCRYPTION_KEY",
      "is required with DATABASE_URL: every instance must open the signing keys with the same key",
    );
  }
  return {
    port,
    // A first run on a laptop must not be reachable from the network; containers set HOST=0.0.0.0.
    hostname: env.HOST?.trim() || "127.0.0.1",
    databasePath,
    databaseUrl: postgresUrl,
    databasePoolSize: integer(env, "DATABASE_POOL_SIZE", 8, 1, 500),
    publicUrl: issuer,
    adminToken: adminToken(env),
    emailVerification: onOff(env, "EMAIL_VERIFICATION", true),
    production,
    keyEncryptionKey: keyEncryptionKey(env, production),
    previousKeyEncryptionKey: previousKeyEncryptionKey(env, keyEncryptionKey(env, production)),
    trustProxy: onOff(env, "TRUST_PROXY", false),
    redisUrl: redisUrl(env),
    mail: { smtp: smtpSettings(env), from: mailFrom(env, issuer) },
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", 64 * 1024, 1024, 10 * 1024 * 1024),
    http: httpLimits(env),
    defaultPowDifficulty: integer(env, "DEFAULT_POW_DIFFICULTY", 15, 1, 32),
    sseKeepaliveMs: integer(env, "SSE_KEEPALIVE_SECONDS", 15, 1, 300) * 1000,
    maintenanceIntervalMs: integer(env, "MAINTENANCE_INTERVAL_SECONDS", 1, 1, 3600) * 1000,
    lifetimes: {
      loginRequestMs: integer(env, "LOGIN_REQUEST_TTL_SECONDS", 300, 30, 3600) * 1000,
      siteLoginPassportMs: siteLoginPassportSeconds * 1000,
      passportMs: passportSeconds * 1000,
      sessionMs: integer(env, "SESSION_TTL_SECONDS", 12 * 3600, 300, 30 * 86400) * 1000,
      emailCodeMs: integer(env, "EMAIL_CODE_TTL_SECONDS", 900, 60, 86400) * 1000,
      passwordResetMs: integer(env, "PASSWORD_RESET_TTL_SECONDS", 1800, 300, 86400) * 1000,
      keyRotationMs: keyRotationSeconds * 1000,
      eventRetentionMs: integer(env, "EVENT_RETENTION_SECONDS", 3600, 60, 7 * 86400) * 1000,
      jwksMaxAgeSeconds,
      bindingRequestMs: integer(env, "BINDING_REQUEST_TTL_SECONDS", 600, 60, 3600) * 1000,
    },
    rateLimits: {
      authPerMinute: integer(env, "RATE_LIMIT_AUTH_PER_MINUTE", 20, 1, 1_000_000),
      loginRequestsPerMinute: integer(env, "RATE_LIMIT_LOGIN_REQUESTS_PER_MINUTE", 120, 1, 1_000_000),
      challengeFetchesPerMinute: integer(env, "RATE_LIMIT_CHALLENGE_FETCHES_PER_MINUTE", 300, 1, 1_000_000),
      approvalsPerMinute: integer(env, "RATE_LIMIT_APPROVALS_PER_MINUTE", 60, 1, 1_000_000),
      passportsPerMinute: integer(env, "RATE_LIMIT_PASSPORTS_PER_MINUTE", 60, 1, 1_000_000),
      streamsPerSite: integer(env, "SSE_MAX_STREAMS_PER_SITE", 8, 1, 10_000),
      bindingRequestsPerMinute: integer(env, "RATE_LIMIT_BINDING_REQUESTS_PER_MINUTE", 120, 1, 1_000_000),
      agentKeyWritesPerMinute: integer(env, "RATE_LIMIT_AGENT_KEY_WRITES_PER_MINUTE", 10, 1, 1_000_000),
    },
    passwordHashing: PRODUCTION_PASSWORD_HASHING,
    oauth: oauthConfig(env, production, passportSeconds),
    metrics: metricsConfig(env, port),
    accessLog: onOff(env, "ACCESS_LOG", true),
  };
}

function httpLimits(env: Env): HttpLimits {
  const headersSeconds = integer(env, "HTTP_HEADERS_TIMEOUT_SECONDS", 10, 1, 300);
  const requestSeconds = integer(env, "HTTP_REQUEST_TIMEOUT_SECONDS", 30, 1, 3600);
  if (requestSeconds < headersSeconds) {
    throw new ConfigError("HTTP_REQUEST_TIMEOUT_SECONDS", "must not be below HTTP_HEADERS_TIMEOUT_SECONDS");
  }
  return {
    headersTimeoutMs: headersSeconds * 1000,
    requestTimeoutMs: requestSeconds * 1000,
    keepAliveTimeoutMs: integer(env, "HTTP_KEEPALIVE_TIMEOUT_SECONDS", 5, 1, 600) * 1000,
    maxHeaderBytes: integer(env, "HTTP_MAX_HEADER_BYTES", 16 * 1024, 4 * 1024, 256 * 1024),
  };
}

function oauthConfig(env: Env, production: boolean, passportSeconds: number): OAuthConfig {
  const accessTokenSeconds = integer(env, "OAUTH_ACCESS_TOKEN_TTL_SECONDS", 300, 60, 3600);
  if (accessTokenSeconds > passportSeconds) {
    // Retired signing keys are kept for the passport lifetime; a longer-lived token would outlive its key.
    throw new ConfigError("OAUTH_ACCESS_TOKEN_TTL_SECONDS", "must not exceed PASSPORT_TTL_SECONDS");
  }
  const allowLoopback = onOff(env, "OAUTH_CIMD_ALLOW_LOOPBACK", false);
  if (production && allowLoopback) {
    throw new ConfigError("OAUTH_CIMD_ALLOW_LOOPBACK", "must be off when NODE_ENV=production");
  }
  return {
    accessTokenMs: accessTokenSeconds * 1000,
    authorizationCodeMs: integer(env, "OAUTH_CODE_TTL_SECONDS", 60, 10, 600) * 1000,
    authorizationRequestMs: integer(env, "OAUTH_AUTHORIZATION_REQUEST_TTL_SECONDS", 600, 60, 3600) * 1000,
    refreshTokenMs: integer(env, "OAUTH_REFRESH_TOKEN_TTL_SECONDS", 30 * 86400, 3600, 365 * 86400) * 1000,
    powDifficulty: integer(env, "OAUTH_POW_DIFFICULTY", 15, 1, 32),
    minOwnerKycLevel: integer(env, "OAUTH_MIN_OWNER_KYC_LEVEL", 0, 0, 2),
    domainTokens: oneOf(env, "OAUTH_DOMAIN_TOKENS", ["any-host", "registered-only"], "any-host"),
    registrationsPerMinute: integer(env, "OAUTH_REGISTRATIONS_PER_MINUTE", 10, 1, 1_000_000),
    tokenRequestsPerMinute: integer(env, "OAUTH_TOKEN_REQUESTS_PER_MINUTE", 120, 1, 1_000_000),
    authorizeRequestsPerMinute: integer(env, "OAUTH_AUTHORIZE_REQUESTS_PER_MINUTE", 120, 1, 1_000_000),
    cimd: {
      enabled: onOff(env, "OAUTH_CIMD", true),
      allowLoopback,
      caFile: env.OAUTH_CIMD_CA_FILE?.trim() || null,
      maxBytes: integer(env, "OAUTH_CIMD_MAX_BYTES", 5120, 512, 65536),
      timeoutMs: integer(env, "OAUTH_CIMD_TIMEOUT_MS", 3000, 100, 30_000),
      maxCacheMs: integer(env, "OAUTH_CIMD_MAX_CACHE_SECONDS", 3600, 30, 86400) * 1000,
    },
  };
}
