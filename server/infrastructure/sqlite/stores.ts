import type { Database } from "bun:sqlite";
import type { ReputationStore } from "../../core/agents/reputation.ts";
import type { AgentStore } from "../../core/agents/store.ts";
import type { KeyStore } from "../../core/keys/store.ts";
import type { AuditStore } from "../../foundation/audit/store.ts";
import type { KycStore } from "../../foundation/kyc/store.ts";
import type { SessionStore } from "../../foundation/sessions/store.ts";
import type { SiteStore } from "../../foundation/sites/store.ts";
import type { PasswordResetStore } from "../../foundation/users/password-reset-store.ts";
import type { EmailCodeStore, UserStore } from "../../foundation/users/store.ts";
import type { AgentKeyStore } from "../../modules/agent-keys/store.ts";
import type { AgentLoginStore } from "../../modules/agent-login/store.ts";
import type { BindingStore } from "../../modules/bindings/store.ts";
import type { OAuthStores } from "../../modules/oauth/store.ts";
import type { RevocationStore } from "../../modules/revocation/store.ts";
import { createSqliteAgentKeyStore } from "./agent-keys-store.ts";
import { createSqliteAgentLoginStore } from "./agent-login-store.ts";
import { createSqliteReputationStore } from "./agent-reputation-store.ts";
import { createSqliteAgentStore } from "./agents-store.ts";
import { createSqliteAuditStore } from "./audit-store.ts";
import { createSqliteBindingStore } from "./bindings-store.ts";
import { createSqliteKeyStore } from "./keys-store.ts";
import { createSqliteKycStore } from "./kyc-store.ts";
import { createSqliteOAuthStores } from "./oauth-store.ts";
import { createSqlitePasswordResetStore } from "./password-reset-store.ts";
import { createSqliteRevocationStore } from "./revocation-store.ts";
import { createSqliteSessionStore } from "./sessions-store.ts";
import { createSqliteSiteStore } from "./sites-store.ts";
import { createSqliteEmailCodeStore, createSqliteUserStore } from "./users-store.ts";

/** Every durable store of the server. */
export interface Stores {
  users: UserStore;
  emailCodes: EmailCodeStore;
  passwordResets: PasswordResetStore;
  sessions: SessionStore;
  kyc: KycStore;
  sites: SiteStore;
  agents: AgentStore;
  agentReputation: ReputationStore;
  keys: KeyStore;
  agentLogin: AgentLoginStore;
  audit: AuditStore;
  oauth: OAuthStores;
  bindings: BindingStore;
  revocations: RevocationStore;
  agentKeys: AgentKeyStore;
}

export function createSqliteStores(db: Database): Stores {
  return {
    users: createSqliteUserStore(db),
    emailCodes: createSqliteEmailCodeStore(db),
    passwordResets: createSqlitePasswordResetStore(db),
    sessions: createSqliteSessionStore(db),
    kyc: createSqliteKycStore(db),
    sites: createSqliteSiteStore(db),
    agents: createSqliteAgentStore(db),
    agentReputation: createSqliteReputationStore(db),
    keys: createSqliteKeyStore(db),
    agentLogin: createSqliteAgentLoginStore(db),
    audit: createSqliteAuditStore(db),
    oauth: createSqliteOAuthStores(db),
    bindings: createSqliteBindingStore(db),
    revocations: createSqliteRevocationStore(db),
    agentKeys: createSqliteAgentKeyStore(db),
  };
}
