/**
 * What the services count, as a narrow interface: the services say what
 * happened, and only `createApp` knows it becomes Prometheus (prometheus.ts).
 * Every service takes it as an optional dependency (`deps.metrics?.…`), so
 * deps built by hand (unit tests) need not mention it; `noopMetrics` is the
 * stand-in where a whole `Metrics` is required (`AppContext`).
 *
 * @example
 * deps.metrics?.loginRequestCreated();
 */

/** How a passport came to be signed; a fixed set, so the label stays bounded. */
export type PassportKind = "site_login" | "self_service" | "binding";

/** The RFC 9421 algorithm of an agent key; a fixed set, so the label stays bounded. */
export type AgentKeyAlgorithmLabel = "ed25519" | "ecdsa-p256-sha256";

/** Which flow refused a proof-of-work nonce. */
export type PowFlow = "agent_login" | "oauth";

/** Why a login request's difficulty rose above its site's floor (docs/adaptive-difficulty.md). */
export type DifficultyRaiseCause = "site_load" | "address_failures";

export interface Metrics {
  loginRequestCreated(): void;
  loginRequestApproved(): void;
  loginRequestsExpired(count: number): void;
  /** A nonce was checked and did not meet the difficulty. */
  powFailed(flow: PowFlow): void;
  passportIssued(kind: PassportKind): void;
  /** A passport of `kind` was bound to an agent key (`cnf.jkt`); it was also counted by `passportIssued`. */
  boundPassportIssued(kind: PassportKind): void;
  /** An agent registered a signing key. */
  agentKeyRegistered(alg: AgentKeyAlgorithmLabel): void;
  /** A login request's challenge was fetched the first time, which fixed its difficulty at `difficulty`. */
  powChallengeShown(difficulty: number): void;
  /** A login request's difficulty was raised above what it would have had otherwise. */
  powDifficultyRaised(cause: DifficultyRaiseCause): void;
}

/** One answered HTTP request, as the access log sees it (server/http/access-log.ts). */
export interface HttpObservation {
  method: string;
  /** The matched route template (`/api/v1/auth/requests/:id`), or "unmatched". */
  route: string;
  status: number;
  seconds: number;
}

export interface HttpMetrics {
  httpRequest(observation: HttpObservation): void;
}

export const noopMetrics: Metrics & HttpMetrics = {
  loginRequestCreated: () => {},
  loginRequestApproved: () => {},
  loginRequestsExpired: () => {},
  powFailed: () => {},
  passportIssued: () => {},
  boundPassportIssued: () => {},
  agentKeyRegistered: () => {},
  powChallengeShown: () => {},
  powDifficultyRaised: () => {},
  httpRequest: () => {},
};
