import type { Stores } from "../sqlite/stores.ts";
import { createPostgresAgentKeyStore } from "./agent-keys-store.ts";
import { createPostgresAgentLoginStore } from "./agent-login-store.ts";
import { createPostgresReputationStore } from "./agent-reputation-store.ts";
import { createPostgresAgentStore } from "./agents-store.ts";
import { createPostgresAuditStore } from "./audit-store.ts";
import { createPostgresBindingStore } from "./bindings-store.ts";
import type { Sql } from "./connection.ts";
import { createPostgresKeyStore } from "./keys-store.ts";
import { createPostgresKycStore } from "./kyc-store.ts";
import { createPostgresOAuthStores } from "./oauth-store.ts";
import { createPostgresPasswordResetStore } from "./password-reset-store.ts";
import { createPostgresRevocationStore } from "./revocation-store.ts";
import { createPostgresSessionStore } from "./sessions-store.ts";
import { createPostgresSiteStore } from "./sites-store.ts";
import { createPostgresEmailCodeStore, createPostgresUserStore } from "./users-store.ts";

/** Every durable store of the server on one PostgreSQL pool (docs/decisions/server-postgres.md). */
export function createPostgresStores(sql: Sql): Stores {
  return {
    users: createPostgresUserStore(sql),
    emailCodes: createPostgresEmailCodeStore(sql),
    passwordResets: createPostgresPasswordResetStore(sql),
    sessions: createPostgresSessionStore(sql),
    kyc: createPostgresKycStore(sql),
    sites: createPostgresSiteStore(sql),
    agents: createPostgresAgentStore(sql),
    agentReputation: createPostgresReputationStore(sql),
    keys: createPostgresKeyStore(sql),
    agentLogin: createPostgresAgentLoginStore(sql),
    audit: createPostgresAuditStore(sql),
    oauth: createPostgresOAuthStores(sql),
    bindings: createPostgresBindingStore(sql),
    revocations: createPostgresRevocationStore(sql),
    agentKeys: createPostgresAgentKeyStore(sql),
  };
}
