/**
 * Versioned PostgreSQL schema migrations. Each runs once and is recorded in
 * `schema_migrations`; `migratePostgres` (database.ts) applies the missing
 * ones under an advisory lock. Never edit a released migration: append one.
 *
 * Version 1 is the SQLite schema (sqlite/migrations.ts, versions 1 to 6) as
 * it stands, written once for PostgreSQL rather than replayed step by step:
 * no PostgreSQL deployment predates it. Times are BIGINT milliseconds since
 * the epoch (UTC), as in SQLite; Bun's client returns BIGINT as a string, so
 * the stores convert with `Number()` (exact below 2^53, which milliseconds
 * stay under for 285,000 years).
 */

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: "identity, sites, agents, keys, agent login, audit, OAuth, password resets, bindings, reputation",
    sql: `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  email_verified_at BIGINT,
  kyc_level INTEGER NOT NULL DEFAULT 0 CHECK (kyc_level IN (0, 1, 2)),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE email_codes (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  attempts_left INTEGER NOT NULL
);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  csrf_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions(expires_at);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE kyc_submissions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  requested_level INTEGER NOT NULL CHECK (requested_level IN (1, 2)),
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
  created_at BIGINT NOT NULL,
  decided_at BIGINT,
  decided_by TEXT
);
CREATE UNIQUE INDEX kyc_one_pending_per_user ON kyc_submissions(user_id) WHERE status = 'PENDING';
CREATE INDEX kyc_submissions_user ON kyc_submissions(user_id, created_at);

CREATE TABLE sites (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  origin TEXT,
  token_hash TEXT NOT NULL UNIQUE,
  pow_difficulty INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED')),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX sites_owner ON sites(owner_id);

CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  description TEXT,
  avatar_url TEXT,
  token_hash TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
  reputation DOUBLE PRECISION NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  revoked_at BIGINT,
  successful_logins INTEGER NOT NULL DEFAULT 0,
  distinct_sites INTEGER NOT NULL DEFAULT 0,
  recent_rejections DOUBLE PRECISION NOT NULL DEFAULT 0,
  rejections_counted_at BIGINT NOT NULL DEFAULT 0,
  reputation_computed_at BIGINT,
  reputation_due_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX agents_owner ON agents(owner_id);
CREATE INDEX agents_reputation_due ON agents(reputation_due_at) WHERE status = 'ACTIVE';

-- No foreign key to sites: a site deleted later still counts as one the agent logged in to.
CREATE TABLE agent_sites (
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  site_id TEXT NOT NULL,
  first_login_at BIGINT NOT NULL,
  PRIMARY KEY (agent_id, site_id)
);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('NEXT', 'CURRENT', 'RETIRED')),
  public_jwk TEXT NOT NULL,
  sealed_private_jwk BYTEA NOT NULL,
  iv BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  activated_at BIGINT,
  retired_at BIGINT,
  remove_after BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys(status) WHERE status = 'CURRENT';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys(status) WHERE status = 'NEXT';

CREATE TABLE login_requests (
  id TEXT PRIMARY KEY,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'DELIVERED', 'EXPIRED')),
  pow_challenge TEXT NOT NULL,
  pow_difficulty INTEGER NOT NULL,
  redirect_url TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  approved_agent_id TEXT,
  approved_at BIGINT,
  passport_jwt TEXT,
  passport_expires_at BIGINT,
  delivered_at BIGINT
);
CREATE INDEX login_requests_pending_expiry ON login_requests(expires_at) WHERE status = 'PENDING';
CREATE INDEX login_requests_created_at ON login_requests(created_at);
CREATE INDEX login_requests_passport_expiry ON login_requests(passport_expires_at) WHERE passport_jwt IS NOT NULL;
CREATE INDEX login_requests_site_recent ON login_requests(site_id, created_at, id);
CREATE INDEX login_requests_agent_recent ON login_requests(approved_agent_id, approved_at, id)
  WHERE approved_agent_id IS NOT NULL;

CREATE TABLE login_outcomes (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  login_request_id TEXT NOT NULL REFERENCES login_requests(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('approved', 'expired')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  delivered_at BIGINT
);
CREATE INDEX login_outcomes_site ON login_outcomes(site_id, id);
CREATE INDEX login_outcomes_expires_at ON login_outcomes(expires_at);
CREATE INDEX login_outcomes_request ON login_outcomes(login_request_id);

CREATE TABLE audit_events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  occurred_at BIGINT NOT NULL,
  owner_id TEXT,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  target_type TEXT,
  target_id TEXT,
  reason TEXT,
  ip TEXT
);
CREATE INDEX audit_events_owner ON audit_events(owner_id, seq);

CREATE TABLE oauth_clients (
  client_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('dynamic', 'agent')),
  agent_id TEXT REFERENCES agents(id) ON DELETE CASCADE,
  metadata TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX oauth_clients_agent ON oauth_clients(agent_id) WHERE agent_id IS NOT NULL;

CREATE TABLE oauth_resources (
  id TEXT PRIMARY KEY,
  resource TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  scopes TEXT NOT NULL,
  introspection_token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE INDEX oauth_resources_host ON oauth_resources(host);
CREATE INDEX oauth_resources_owner ON oauth_resources(owner_id);

CREATE TABLE oauth_authorization_requests (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  state TEXT,
  code_challenge TEXT NOT NULL,
  resource TEXT NOT NULL,
  scopes TEXT NOT NULL,
  pow_challenge TEXT NOT NULL,
  pow_difficulty INTEGER NOT NULL,
  agent_id TEXT,
  session_id TEXT,
  csrf_hash TEXT,
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'DECIDED')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_authorization_requests_expiry ON oauth_authorization_requests(expires_at);

CREATE TABLE oauth_grants (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  subject_type TEXT NOT NULL CHECK (subject_type IN ('agent', 'owner')),
  subject_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_reason TEXT
);
CREATE INDEX oauth_grants_subject ON oauth_grants(subject_type, subject_id);
CREATE INDEX oauth_grants_client ON oauth_grants(client_id);

CREATE TABLE oauth_codes (
  code_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  resource TEXT NOT NULL,
  scopes TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  consumed_at BIGINT
);
CREATE INDEX oauth_codes_expiry ON oauth_codes(expires_at);
CREATE INDEX oauth_codes_grant ON oauth_codes(grant_id);

CREATE TABLE oauth_refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'ROTATED', 'REVOKED')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens(grant_id);
CREATE INDEX oauth_refresh_tokens_expiry ON oauth_refresh_tokens(expires_at);

CREATE TABLE oauth_access_tokens (
  jti TEXT PRIMARY KEY,
  grant_id TEXT REFERENCES oauth_grants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  audience TEXT NOT NULL,
  scopes TEXT NOT NULL,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX oauth_access_tokens_grant ON oauth_access_tokens(grant_id);
CREATE INDEX oauth_access_tokens_expiry ON oauth_access_tokens(expires_at);

CREATE TABLE oauth_assertion_ids (
  client_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX oauth_assertion_ids_expiry ON oauth_assertion_ids(expires_at);

CREATE TABLE password_reset_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
-- At most one open token per owner: issuing a new one deletes the older in the same transaction.
CREATE UNIQUE INDEX password_reset_tokens_one_open ON password_reset_tokens(user_id) WHERE used_at IS NULL;
CREATE INDEX password_reset_tokens_expiry ON password_reset_tokens(expires_at);

CREATE TABLE bindings (
  id TEXT PRIMARY KEY,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  redirect_uri TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'DENIED', 'EXPIRED', 'REVOKED')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  agent_id TEXT REFERENCES agents(id) ON DELETE CASCADE,
  owner_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  decided_at BIGINT,
  revoked_at BIGINT,
  CHECK ((status IN ('COMPLETED', 'REVOKED')) = (agent_id IS NOT NULL AND owner_id IS NOT NULL AND decided_at IS NOT NULL)),
  CHECK ((status = 'REVOKED') = (revoked_at IS NOT NULL))
);
CREATE INDEX bindings_pending_expiry ON bindings(expires_at) WHERE status = 'PENDING';
CREATE INDEX bindings_finished_expiry ON bindings(expires_at) WHERE status IN ('DENIED', 'EXPIRED');
CREATE INDEX bindings_owner ON bindings(owner_id, decided_at, id) WHERE status IN ('COMPLETED', 'REVOKED');
CREATE INDEX bindings_site ON bindings(site_id);
CREATE INDEX bindings_agent ON bindings(agent_id) WHERE agent_id IS NOT NULL;
`,
  },
  {
    version: 2,
    name: "fleet coordination: shared rate-limit counters and leases for once-per-fleet work",
    sql: `
-- Fixed-window counters shared by every instance when no Redis is configured.
-- The key is a SHA-256 of the limiter key (which holds addresses and emails).
CREATE TABLE rate_limit_counters (
  key_hash TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  hits INTEGER NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (key_hash, window_start)
);
CREATE INDEX rate_limit_counters_expiry ON rate_limit_counters(expires_at);

-- A lease names the one instance that runs a fleet-wide job until it expires.
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
`,
  },
  {
    version: 3,
    name: "OAuth resources by host in byte order",
    sql: `
-- listByHostName asks for a host and every host:port of it as the byte range ["name:", "name;").
-- Compared in the database's locale that range is wrong (en_US ignores ':' and ';'), so the store
-- compares host COLLATE "C", which this index serves; the plain host index cannot.
CREATE INDEX oauth_resources_host_bytes ON oauth_resources (host COLLATE "C");
`,
  },
  {
    version: 4,
    name: "adaptive proof-of-work difficulty: a site's ceiling and surge rate, when a challenge was first shown",
    sql: `
-- NULL is the default (docs/adaptive-difficulty.md); pow_difficulty stays the floor.
ALTER TABLE sites ADD COLUMN pow_difficulty_max INTEGER;
ALTER TABLE sites ADD COLUMN pow_surge_per_minute INTEGER;
-- Set by the first challenge fetch, which fixes the request's difficulty for good.
ALTER TABLE login_requests ADD COLUMN challenge_shown_at BIGINT;
`,
  },
  {
    version: 5,
    name: "revocation that reaches sites: revoked events on the site streams, the revocation list",
    sql: `
-- A \`revoked\` outcome belongs to no login request; it carries its list entry as JSON.
ALTER TABLE login_outcomes ALTER COLUMN login_request_id DROP NOT NULL;
ALTER TABLE login_outcomes DROP CONSTRAINT login_outcomes_type_check;
ALTER TABLE login_outcomes ADD COLUMN revocation TEXT;
ALTER TABLE login_outcomes ADD CONSTRAINT login_outcomes_type_check
  CHECK (type IN ('approved', 'expired', 'revoked'));
ALTER TABLE login_outcomes ADD CONSTRAINT login_outcomes_revoked_shape
  CHECK ((type = 'revoked') = (login_request_id IS NULL) AND (type = 'revoked') = (revocation IS NOT NULL));

-- The signed revocation list's entries (docs/decisions/revocation-push.md).
CREATE TABLE passport_revocations (
  kind TEXT NOT NULL CHECK (kind IN ('agent', 'agent_token', 'binding')),
  subject_id TEXT NOT NULL,
  revoked_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (kind, subject_id)
);
CREATE INDEX passport_revocations_expiry ON passport_revocations(expires_at);
`,
  },
  {
    version: 6,
    name: "agent signing keys (Web Bot Auth, key-bound passports); agent_key revocations",
    sql: `
-- An agent's public signing keys (docs/agent-keys.md), as in SQLite migration 9: the kid is the
-- key's RFC 7638 thumbprint and rows are never deleted, so no thumbprint is registered twice.
CREATE TABLE agent_keys (
  kid TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  alg TEXT NOT NULL CHECK (alg IN ('ed25519', 'ecdsa-p256-sha256')),
  jwk_json TEXT NOT NULL,
  label TEXT,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  directory_signature_input TEXT,
  directory_signature TEXT,
  directory_signature_expires_at BIGINT,
  CHECK ((directory_signature_input IS NULL) = (directory_signature IS NULL)),
  CHECK ((directory_signature IS NULL) = (directory_signature_expires_at IS NULL))
);
CREATE INDEX agent_keys_agent ON agent_keys(agent_id, created_at);
-- The 5-ACTIVE-keys limit counts on this one.
CREATE INDEX agent_keys_active ON agent_keys(agent_id) WHERE revoked_at IS NULL;

-- A revoked key's entry names its thumbprint (subject_id) and its agent (agent_id, that kind only).
ALTER TABLE passport_revocations DROP CONSTRAINT passport_revocations_kind_check;
ALTER TABLE passport_revocations ADD CONSTRAINT passport_revocations_kind_check
  CHECK (kind IN ('agent', 'agent_token', 'binding', 'agent_key'));
ALTER TABLE passport_revocations ADD COLUMN agent_id TEXT;
ALTER TABLE passport_revocations ADD CONSTRAINT passport_revocations_agent_key_shape
  CHECK ((kind = 'agent_key') = (agent_id IS NOT NULL));
`,
  },
  {
    version: 7,
    name: "an index for the stream's first read (docs/decisions/purge-and-indexes.md)",
    sql: `
-- A stream opened without Last-Event-ID reads its site's undelivered events: those alone, not the site's history.
CREATE INDEX login_outcomes_undelivered ON login_outcomes(site_id, id) WHERE delivered_at IS NULL;
`,
  },
];
