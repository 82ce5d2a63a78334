/**
 * Versioned schema migrations. Each runs once, in its own transaction, and is
 * recorded in `schema_migrations`; a database newer than this code is refused
 * rather than guessed at. Never edit a released migration: append a new one.
 *
 * Times are integer milliseconds since the epoch (UTC).
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "identity, sites, agents, keys, agent login, audit",
    sql: `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  email_verified_at INTEGER,
  kyc_level INTEGER NOT NULL DEFAULT 0 CHECK (kyc_level IN (0, 1, 2)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE email_codes (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts_left INTEGER NOT NULL
);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  csrf_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions(expires_at);

CREATE TABLE kyc_submissions (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  requested_level INTEGER NOT NULL CHECK (requested_level IN (1, 2)),
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
  created_at INTEGER NOT NULL,
  decided_at INTEGER,
  decided_by TEXT
);
CREATE UNIQUE INDEX kyc_one_pending_per_user ON kyc_submissions(user_id) WHERE status = 'PENDING';

CREATE TABLE sites (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  origin TEXT,
  token_hash TEXT NOT NULL UNIQUE,
  pow_difficulty INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
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
  reputation REAL NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX agents_owner ON agents(owner_id);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('NEXT', 'CURRENT', 'RETIRED')),
  public_jwk TEXT NOT NULL,
  sealed_private_jwk BLOB NOT NULL,
  iv BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  activated_at INTEGER,
  retired_at INTEGER,
  remove_after INTEGER
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
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  approved_agent_id TEXT,
  approved_at INTEGER,
  passport_jwt TEXT,
  passport_expires_at INTEGER,
  delivered_at INTEGER
);
CREATE INDEX login_requests_pending_expiry ON login_requests(expires_at) WHERE status = 'PENDING';
CREATE INDEX login_requests_created_at ON login_requests(created_at);

CREATE TABLE login_outcomes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  login_request_id TEXT NOT NULL REFERENCES login_requests(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('approved', 'expired')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX login_outcomes_site ON login_outcomes(site_id, id);
CREATE INDEX login_outcomes_expires_at ON login_outcomes(expires_at);

CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  occurred_at INTEGER NOT NULL,
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
`,
  },
  {
    version: 2,
    name: "MCP OAuth provider: clients, resources, authorization requests, codes, grants, tokens",
    sql: `
CREATE TABLE oauth_clients (
  client_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('dynamic', 'agent')),
  agent_id TEXT REFERENCES agents(id) ON DELETE CASCADE,
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE oauth_resources (
  id TEXT PRIMARY KEY,
  resource TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  scopes TEXT NOT NULL,
  introspection_token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
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
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_authorization_requests_expiry ON oauth_authorization_requests(expires_at);

CREATE TABLE oauth_grants (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  subject_type TEXT NOT NULL CHECK (subject_type IN ('agent', 'owner')),
  subject_id TEXT NOT NULL,
  resource TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoked_reason TEXT
);

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
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER
);
CREATE INDEX oauth_codes_expiry ON oauth_codes(expires_at);
CREATE INDEX oauth_codes_grant ON oauth_codes(grant_id);

CREATE TABLE oauth_refresh_tokens (
  token_hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'ROTATED', 'REVOKED')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
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
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX oauth_access_tokens_grant ON oauth_access_tokens(grant_id);
CREATE INDEX oauth_access_tokens_expiry ON oauth_access_tokens(expires_at);

CREATE TABLE oauth_assertion_ids (
  client_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX oauth_assertion_ids_expiry ON oauth_assertion_ids(expires_at);
`,
  },
  {
    version: 3,
    name: "password reset tokens",
    sql: `
CREATE TABLE password_reset_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
-- At most one open token per owner: issuing a new one deletes the older in the same transaction.
CREATE UNIQUE INDEX password_reset_tokens_one_open ON password_reset_tokens(user_id) WHERE used_at IS NULL;
CREATE INDEX password_reset_tokens_expiry ON password_reset_tokens(expires_at);
`,
  },
  {
    version: 4,
    name: "Agent Binding requests",
    sql: `
CREATE TABLE bindings (
  id TEXT PRIMARY KEY,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  redirect_uri TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'DENIED', 'EXPIRED', 'REVOKED')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  agent_id TEXT REFERENCES agents(id) ON DELETE CASCADE,
  owner_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  decided_at INTEGER,
  revoked_at INTEGER,
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
    version: 5,
    name: "agent reputation: login history counters, distinct sites, the sweep's due time",
    sql: `
ALTER TABLE agents ADD COLUMN successful_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN distinct_sites INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN recent_rejections REAL NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN rejections_counted_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN reputation_computed_at INTEGER;
ALTER TABLE agents ADD COLUMN reputation_due_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX agents_reputation_due ON agents(reputation_due_at) WHERE status = 'ACTIVE';

-- No foreign key to sites: a site deleted later still counts as one the agent logged in to.
CREATE TABLE agent_sites (
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  site_id TEXT NOT NULL,
  first_login_at INTEGER NOT NULL,
  PRIMARY KEY (agent_id, site_id)
) WITHOUT ROWID;

-- What history is still on record (login requests are purged after an hour or so).
INSERT INTO agent_sites (agent_id, site_id, first_login_at)
  SELECT r.approved_agent_id, r.site_id, MIN(r.approved_at)
  FROM login_requests r JOIN agents a ON a.id = r.approved_agent_id
  WHERE r.approved_at IS NOT NULL
  GROUP BY r.approved_agent_id, r.site_id;
UPDATE agents SET
  successful_logins = (SELECT COUNT(*) FROM login_requests r WHERE r.approved_agent_id = agents.id),
  distinct_sites = (SELECT COUNT(*) FROM agent_sites s WHERE s.agent_id = agents.id);
`,
  },
  {
    version: 6,
    name: "indexes for the owner portal's recent login requests per site and per agent",
    sql: `
CREATE INDEX login_requests_site_recent ON login_requests(site_id, created_at, id);
CREATE INDEX login_requests_agent_recent ON login_requests(approved_agent_id, approved_at, id)
  WHERE approved_agent_id IS NOT NULL;
`,
  },
  {
    version: 7,
    name: "adaptive proof-of-work difficulty: a site's ceiling and surge rate, when a challenge was first shown",
    sql: `
-- NULL is the default (docs/adaptive-difficulty.md); pow_difficulty stays the floor.
ALTER TABLE sites ADD COLUMN pow_difficulty_max INTEGER;
ALTER TABLE sites ADD COLUMN pow_surge_per_minute INTEGER;
-- Set by the first challenge fetch, which fixes the request's difficulty for good.
ALTER TABLE login_requests ADD COLUMN challenge_shown_at INTEGER;
`,
  },
  {
    version: 8,
    name: "revocation that reaches sites: revoked events on the site streams, the revocation list",
    sql: `
-- A \`revoked\` outcome belongs to no login request: the request becomes optional, the type
-- gains 'revoked', and the event carries its list entry as JSON. SQLite changes a CHECK only
-- by rebuilding the table. Its ids are SSE event ids that clients send back as Last-Event-ID,
-- so the AUTOINCREMENT sequence is carried over: a purged table must not hand out old ids again.
CREATE TABLE login_outcomes_v8 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  login_request_id TEXT REFERENCES login_requests(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('approved', 'expired', 'revoked')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  delivered_at INTEGER,
  revocation TEXT,
  CHECK ((type = 'revoked') = (login_request_id IS NULL)),
  CHECK ((type = 'revoked') = (revocation IS NOT NULL))
);
INSERT INTO login_outcomes_v8 (id, site_id, login_request_id, type, created_at, expires_at, delivered_at)
  SELECT id, site_id, login_request_id, type, created_at, expires_at, delivered_at FROM login_outcomes;
DELETE FROM sqlite_sequence WHERE name = 'login_outcomes_v8';
INSERT INTO sqlite_sequence (name, seq) SELECT 'login_outcomes_v8', seq FROM sqlite_sequence WHERE name = 'login_outcomes';
DROP TABLE login_outcomes;
ALTER TABLE login_outcomes_v8 RENAME TO login_outcomes;
CREATE INDEX login_outcomes_site ON login_outcomes(site_id, id);
CREATE INDEX login_outcomes_expires_at ON login_outcomes(expires_at);

-- The signed revocation list's entries (docs/decisions/revocation-push.md): one per agent
-- revoked, agent token rotated or binding revoked, kept until every passport it covers has expired.
CREATE TABLE passport_revocations (
  kind TEXT NOT NULL CHECK (kind IN ('agent', 'agent_token', 'binding')),
  subject_id TEXT NOT NULL,
  revoked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (kind, subject_id)
) WITHOUT ROWID;
CREATE INDEX passport_revocations_expiry ON passport_revocations(expires_at);
`,
  },
  {
    version: 9,
    name: "agent signing keys (Web Bot Auth, key-bound passports); agent_key revocations",
    sql: `
-- An agent's public signing keys (docs/agent-keys.md). The kid is the key's RFC 7638 thumbprint,
-- and a row is never deleted, so a thumbprint once registered can never be registered again.
-- The directory signature is the one the agent made over the issuer's authority and uploaded.
CREATE TABLE agent_keys (
  kid TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  alg TEXT NOT NULL CHECK (alg IN ('ed25519', 'ecdsa-p256-sha256')),
  jwk_json TEXT NOT NULL,
  label TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  directory_signature_input TEXT,
  directory_signature TEXT,
  directory_signature_expires_at INTEGER,
  CHECK ((directory_signature_input IS NULL) = (directory_signature IS NULL)),
  CHECK ((directory_signature IS NULL) = (directory_signature_expires_at IS NULL))
) WITHOUT ROWID;
CREATE INDEX agent_keys_agent ON agent_keys(agent_id, created_at);
-- The 5-ACTIVE-keys limit counts on this one.
CREATE INDEX agent_keys_active ON agent_keys(agent_id) WHERE revoked_at IS NULL;

-- A revoked key's entry names its thumbprint (subject_id) and its agent: the kind gains
-- 'agent_key' and the table an agent_id, set for that kind only. SQLite changes a CHECK only
-- by rebuilding the table.
CREATE TABLE passport_revocations_v9 (
  kind TEXT NOT NULL CHECK (kind IN ('agent', 'agent_token', 'binding', 'agent_key')),
  subject_id TEXT NOT NULL,
  agent_id TEXT,
  revoked_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (kind, subject_id),
  CHECK ((kind = 'agent_key') = (agent_id IS NOT NULL))
) WITHOUT ROWID;
INSERT INTO passport_revocations_v9 (kind, subject_id, revoked_at, expires_at)
  SELECT kind, subject_id, revoked_at, expires_at FROM passport_revocations;
DROP TABLE passport_revocations;
ALTER TABLE passport_revocations_v9 RENAME TO passport_revocations;
CREATE INDEX passport_revocations_expiry ON passport_revocations(expires_at);
`,
  },
  {
    version: 10,
    name: "indexes for the periodic purges and the stream's first read (docs/decisions/purge-and-indexes.md)",
    sql: `
-- The purge clears lapsed passports every tick: without this it scanned every request kept (about 65 minutes').
CREATE INDEX login_requests_passport_expiry ON login_requests(passport_expires_at) WHERE passport_jwt IS NOT NULL;
-- A request is deleted only once no event names it, and deleting one makes the foreign key look
-- for its events: both scanned login_outcomes without this. Not partial, so the foreign key can use it.
CREATE INDEX login_outcomes_request ON login_outcomes(login_request_id);
-- A stream opened without Last-Event-ID reads its site's undelivered events: those alone, not the site's history.
CREATE INDEX login_outcomes_undelivered ON login_outcomes(site_id, id) WHERE delivered_at IS NULL;
-- An owner's sessions closed at a password reset (and by the foreign key when the owner goes), an
-- owner's KYC submissions: PostgreSQL had both from its first migration.
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX kyc_submissions_user ON kyc_submissions(user_id, created_at);
`,
  },
];
