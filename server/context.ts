/**
 * Everything the routes need, assembled once by `createApp` and passed down
 * as a plain object (no container): each feature gets its own narrow deps.
 */

import type { Clock } from "./clock.ts";
import type { ServerConfig } from "./config.ts";
import type { AgentDeps } from "./core/agents/service.ts";
import type { KeyRing } from "./core/keys/service.ts";
import type { PassportDeps } from "./core/passports/service.ts";
import type { AuditStore } from "./foundation/audit/store.ts";
import type { KycDeps } from "./foundation/kyc/service.ts";
import type { SessionDeps } from "./foundation/sessions/service.ts";
import type { SiteDeps } from "./foundation/sites/service.ts";
import type { UserDeps } from "./foundation/users/service.ts";
import type { RateLimiter } from "./http/rate-limit.ts";
import type { Logger } from "./infrastructure/logger.ts";
import type { KeyBindingDeps } from "./modules/agent-keys/binding.ts";
import type { AgentKeyDeps } from "./modules/agent-keys/service.ts";
import type { EventStreams } from "./modules/agent-login/event-stream.ts";
import type { AgentLoginDeps } from "./modules/agent-login/service.ts";
import type { BindingDeps } from "./modules/bindings/service.ts";
import type { OAuthDeps } from "./modules/oauth/deps.ts";
import type { RevocationList } from "./modules/revocation/list.ts";
import type { Metrics } from "./observability/metrics.ts";

export interface AppContext {
  config: ServerConfig;
  clock: Clock;
  logger: Logger;
  /** What the services count (login requests, refused nonces, passports); `noopMetrics` where none is wanted. */
  metrics: Metrics;
  users: UserDeps;
  sessions: SessionDeps;
  kyc: KycDeps;
  sites: SiteDeps;
  agents: AgentDeps;
  passports: PassportDeps;
  agentLogin: AgentLoginDeps;
  keyRing: KeyRing;
  auditStore: AuditStore;
  rateLimiter: RateLimiter;
  eventStreams: EventStreams;
  oauth: OAuthDeps;
  bindings: BindingDeps;
  /** The signed revocation list sites poll (server/modules/revocation). */
  revocationList: RevocationList;
  /** Agent signing keys and their directories (server/modules/agent-keys). */
  agentKeys: AgentKeyDeps;
  /** Binds passports to agent keys from a request's key proof. */
  keyBinding: KeyBindingDeps;
}
