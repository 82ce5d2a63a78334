/**
 * The headless agent login (the seed's flow), as plain functions over stores.
 *
 * Approval checks run in a fixed order: nonce present → request exists →
 * site active → request unexpired and still PENDING → key proof, when one
 * was sent (its `nonce` must be the request's PoW challenge, its key an
 * active key of the agent: the passport is then bound to it, `cnf.jkt`) →
 * PoW verified (core's `verify`, an implementation independent of the
 * solver) → passport signed → atomic single-use consume (`UPDATE … WHERE
 * status = 'PENDING' AND expires_at > now`). A wrong nonce leaves the request PENDING so the agent
 * can retry; when approvals race, exactly one consume succeeds and the others
 * see LOGIN_REQUEST_ALREADY_APPROVED.
 *
 * The difficulty adapts (docs/adaptive-difficulty.md): a request is opened at
 * the site's floor plus a raise for the site's recent rate, and the first
 * fetch of its challenge raises it once more for the fetching address's
 * recent failures and fixes it (`showChallenge`); every later fetch and the
 * approval see that same number.
 */

import { createChallenge, POW_ALGORITHM, verify } from "@lime-ts/core/pow";
import { type Clock, isoTime } from "../../clock.ts";
import type { Lifetimes } from "../../config.ts";
import { type ReputationStore, recordApprovalRejected } from "../../core/agents/reputation.ts";
import type { AuthenticatedAgent } from "../../core/agents/service.ts";
import {
  type IssuedPassport,
  issueSiteLoginPassport,
  type KeyBinding,
  type PassportDeps,
  passportIssued,
} from "../../core/passports/service.ts";
import { DomainError, type DomainErrorCode } from "../../errors.ts";
import { type AuditEntry, type AuditRecorder, auditEvent } from "../../foundation/audit/service.ts";
import {
  assignDifficulty,
  difficultyPolicy,
  raiseForFailures,
} from "../../foundation/sites/difficulty-policy.ts";
import { assertSiteActive } from "../../foundation/sites/service.ts";
import type { SiteRecord, SiteStore } from "../../foundation/sites/store.ts";
import type { Metrics } from "../../observability/metrics.ts";
import type { DifficultySignals } from "../adaptive-difficulty/signals.ts";
import { bindToAgentKey, type KeyBindingDeps } from "../agent-keys/binding.ts";
import { approvePath } from "../agent-keys/paths.ts";
import type { AgentLoginStore, LoginRequestRecord, OutcomeEvent, OutcomeFanout } from "./store.ts";

export interface AgentLoginDeps {
  clock: Clock;
  store: AgentLoginStore;
  fanout: OutcomeFanout;
  sites: SiteStore;
  passports: PassportDeps;
  /** The agent's login history, which its reputation is computed from. */
  reputation: ReputationStore;
  audit: AuditRecorder;
  lifetimes: Pick<Lifetimes, "loginRequestMs" | "eventRetentionMs">;
  /** Counts created, approved and expired requests and refused nonces; none when absent. */
  metrics?: Metrics;
  /** Each site's request rate and each address's failures, which the difficulty rises with. */
  difficulty: DifficultySignals;
  /** Checks an approval's key proof (docs/agent-keys.md); without it a proof is refused as invalid. */
  keyBinding?: KeyBindingDeps;
}

/**
 * The codes are LIME's: its agent SDK's integration test asserts `404
 * SITE_LOGIN_REQUEST_NOT_FOUND` for an unknown id (`tests/integration/
 * test_full_cycle.py`), and its docs branch on `REQUEST_EXPIRED`. That code is
 * generic, so `detail.reason` names what expired. LIME's SDKs and docs name
 * no code for a second approval; ours (409) stays.
 */
const notFound = () => new DomainError("SITE_LOGIN_REQUEST_NOT_FOUND", "No such login request.");
const expired = () =>
  new DomainError("REQUEST_EXPIRED", "The login request has expired.", { reason: "login_request_expired" });
const alreadyApproved = () =>
  new DomainError("LOGIN_REQUEST_ALREADY_APPROVED", "The login request has already been approved.");

function redirectUrl(raw: string | undefined, site: SiteRecord): string | null {
  if (raw === undefined || raw === "") return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError("VALIDATION_FAILED", "redirect_url must be an absolute http(s) URL.", {
      field: "redirect_url",
    });
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username !== "" || url.password !== "") {
    throw new DomainError("VALIDATION_FAILED", "redirect_url must be an absolute http(s) URL.", {
      field: "redirect_url",
    });
  }
  if (site.origin !== null && url.origin !== site.origin) {
    throw new DomainError(
      "REDIRECT_URL_NOT_ALLOWED",
      "redirect_url must be on the site's registered origin.",
      {
        field: "redirect_url",
      },
    );
  }
  return url.href;
}

/** Step 1: the site opens a login request with a fresh PoW challenge at its own difficulty. */
export async function createLoginRequest(
  deps: AgentLoginDeps,
  site: SiteRecord,
  input: { redirectUrl?: string },
  ip: string,
): Promise<LoginRequestRecord> {
  const now = deps.clock.now();
  const target = redirectUrl(input.redirectUrl, site);
  const assigned = assignDifficulty(difficultyPolicy(site), deps.difficulty.loginRequested(site.id, now));
  if (assigned.raisedBy > 0) deps.metrics?.powDifficultyRaised("site_load");
  const request: LoginRequestRecord = {
    id: crypto.randomUUID(),
    siteId: site.id,
    status: "PENDING",
    powChallenge: createChallenge(),
    powDifficulty: assigned.difficulty,
    redirectUrl: target,
    createdAt: now,
    expiresAt: now + deps.lifetimes.loginRequestMs,
    approvedAgentId: null,
    approvedAt: null,
    passportJwt: null,
    passportExpiresAt: null,
    deliveredAt: null,
    challengeShownAt: null,
  };
  const created: AuditEntry = {
    ownerId: site.ownerId,
    actorType: "site",
    actorId: site.id,
    action: "login_request.created",
    targetType: "login_request",
    targetId: request.id,
    ip,
  };
  // The audit row commits with the request (one transaction): never a request without its entry.
  await deps.store.create(request, [auditEvent(created, now)]);
  deps.metrics?.loginRequestCreated();
  return request;
}

/** Moves every overdue PENDING request to EXPIRED and tells the sites' streams. */
export async function expireDueRequests(deps: AgentLoginDeps): Promise<number> {
  const now = deps.clock.now();
  const events = await deps.store.expireDue(now, now + deps.lifetimes.eventRetentionMs);
  deps.metrics?.loginRequestsExpired(events.length);
  for (const event of events) {
    // A challenge shown and then left to expire counts against the address it was shown to.
    const shownTo = event.loginRequestId === null ? null : deps.difficulty.takeShownTo(event.loginRequestId);
    if (shownTo !== null) deps.difficulty.failed(shownTo, now);
    deps.fanout.publish(event);
  }
  return events.length;
}

async function loadWithSite(
  deps: AgentLoginDeps,
  id: string,
): Promise<{ request: LoginRequestRecord; site: SiteRecord }> {
  const request = await deps.store.findById(id);
  if (!request) throw notFound();
  const site = await deps.sites.findById(request.siteId);
  if (!site) throw notFound();
  return { request, site };
}

/** Throws the code for a request that can no longer be approved; expires it on the way if overdue. */
async function assertApprovable(deps: AgentLoginDeps, request: LoginRequestRecord): Promise<void> {
  if (request.status === "APPROVED" || request.status === "DELIVERED") throw alreadyApproved();
  if (request.status === "EXPIRED") throw expired();
  if (request.expiresAt <= deps.clock.now()) {
    await expireDueRequests(deps);
    throw expired();
  }
}

/**
 * Step 2: the public challenge for the agent. The first fetch fixes the
 * difficulty, raised for `ip`'s recent failures; racing first fetches are
 * settled by the store (one conditional write wins), and the losers answer
 * the winner's number, so every agent shown the challenge solves the
 * difficulty its approval is checked against.
 */
export async function getChallenge(
  deps: AgentLoginDeps,
  id: string,
  ip: string,
): Promise<{ request: LoginRequestRecord; site: SiteRecord }> {
  const found = await loadWithSite(deps, id);
  assertSiteActive(found.site);
  await assertApprovable(deps, found.request);
  if (found.request.challengeShownAt !== null) return found;
  const now = deps.clock.now();
  const raised = raiseForFailures(
    difficultyPolicy(found.site),
    found.request.powDifficulty,
    deps.difficulty.failures(ip, now),
  );
  const shown = await deps.store.showChallenge(id, raised.difficulty, now);
  if (shown) {
    if (raised.raisedBy > 0) deps.metrics?.powDifficultyRaised("address_failures");
    deps.metrics?.powChallengeShown(shown.powDifficulty);
    deps.difficulty.challengeShown(id, ip, now, shown.expiresAt);
    return { request: shown, site: found.site };
  }
  // Another first fetch won, or the request moved on meanwhile: answer what is stored now.
  const current = await deps.store.findById(id);
  if (!current) throw notFound();
  await assertApprovable(deps, current);
  return { request: current, site: found.site };
}

/**
 * The agent's network address, for its own owner's audit trail only. The
 * site's owner gets the event without it: an agent logging in to a site
 * does not hand its operator's address to that site's owner.
 */
function agentOwnersOwn(agent: AuthenticatedAgent, ownerId: string, ip: string): string | null {
  return ownerId === agent.owner.id ? ip : null;
}

async function auditRejection(
  deps: AgentLoginDeps,
  agent: AuthenticatedAgent,
  site: SiteRecord | null,
  requestId: string,
  reason: DomainErrorCode,
  ip: string,
): Promise<void> {
  const owners = new Set([agent.owner.id, ...(site ? [site.ownerId] : [])]);
  for (const ownerId of owners) {
    await deps.audit({
      ownerId,
      actorType: "agent",
      actorId: agent.agent.id,
      action: "login_request.approval_rejected",
      outcome: "failure",
      targetType: "login_request",
      targetId: requestId,
      reason,
      ip: agentOwnersOwn(agent, ownerId, ip),
    });
  }
}

/** `login_request.approved` for the agent's owner and the site's owner (once when they are the same). */
function approvalAudit(
  agent: AuthenticatedAgent,
  site: SiteRecord,
  requestId: string,
  ip: string,
): AuditEntry[] {
  return [...new Set([agent.owner.id, site.ownerId])].map((ownerId) => ({
    ownerId,
    actorType: "agent",
    actorId: agent.agent.id,
    action: "login_request.approved",
    targetType: "login_request",
    targetId: requestId,
    ip: agentOwnersOwn(agent, ownerId, ip),
  }));
}

/**
 * Step 3: the agent proves work and approves; the site's passport is signed
 * and queued for delivery, bound to the agent key of `keyProof` when one was
 * sent (null: an unbound passport, as LIME's clients get).
 */
export async function approveLoginRequest(
  deps: AgentLoginDeps,
  agent: AuthenticatedAgent,
  id: string,
  powNonce: string | undefined,
  ip: string,
  keyProof: string | null = null,
): Promise<LoginRequestRecord> {
  if (powNonce === undefined || powNonce === "") {
    throw new DomainError("MISSING_POW_NONCE", "Send the proof-of-work solution as pow_nonce.");
  }
  let site: SiteRecord | null = null;
  try {
    const found = await loadWithSite(deps, id);
    site = found.site;
    assertSiteActive(site);
    await assertApprovable(deps, found.request);
    const binding = keyProof === null ? null : await bindApproval(deps, agent, found.request, keyProof);
    if (!verify(found.request.powChallenge, found.request.powDifficulty, powNonce)) {
      deps.metrics?.powFailed("agent_login");
      deps.difficulty.failed(ip, deps.clock.now());
      throw new DomainError("INVALID_POW", "The proof-of-work nonce does not meet the difficulty.");
    }
    // Signing before the consume keeps the approval and its passport one atomic write;
    // a losing racer only wastes one signature.
    const passport: IssuedPassport = await issueSiteLoginPassport(
      deps.passports,
      agent,
      { requestId: found.request.id, siteId: site.id },
      binding,
    );
    const now = deps.clock.now();
    // The approval's audit rows commit in its transaction: written exactly when it wins the consume.
    const audit = approvalAudit(agent, site, id, ip).map((entry) => auditEvent(entry, now));
    audit.push(auditEvent(passportIssued(agent, passport, "site_login", ip), now));
    const approved = await deps.store.approve({
      id,
      agentId: agent.agent.id,
      passportJwt: passport.jwt,
      passportExpiresAt: passport.expiresAt,
      now,
      audit,
    });
    if (!approved) {
      // Lost the consume: tell the agent why. A request that vanished meanwhile (its site was deleted)
      // is not found, not expired.
      const current = await deps.store.findById(id);
      if (current === null) throw notFound();
      if (current.status === "APPROVED" || current.status === "DELIVERED") throw alreadyApproved();
      throw expired();
    }
    deps.fanout.publish(approved.event);
    deps.difficulty.takeShownTo(id);
    deps.metrics?.loginRequestApproved();
    await deps.reputation.recordLogin(agent.agent.id, site.id, deps.clock.now());
    return approved.request;
  } catch (error) {
    if (error instanceof DomainError && error.code !== "SITE_LOGIN_REQUEST_NOT_FOUND") {
      await auditRejection(deps, agent, site, id, error.code, ip);
      await recordApprovalRejected(deps.reputation, agent.agent.id, error.code, deps.clock.now());
    }
    throw error;
  }
}

/** The approval's key proof: made for this request's approve URL, its nonce the PoW challenge it answers. */
async function bindApproval(
  deps: AgentLoginDeps,
  agent: AuthenticatedAgent,
  request: LoginRequestRecord,
  keyProof: string,
): Promise<KeyBinding> {
  if (deps.keyBinding === undefined) {
    throw new DomainError("KEY_PROOF_INVALID", "This server does not bind login passports to agent keys.");
  }
  return bindToAgentKey(deps.keyBinding, agent.agent.id, keyProof, {
    path: approvePath(request.id),
    nonce: request.powChallenge,
  });
}

/** Step 5: the owning site reads the request; any other site is told it does not exist. */
export async function getLoginRequestForSite(
  deps: AgentLoginDeps,
  site: SiteRecord,
  id: string,
): Promise<LoginRequestRecord> {
  let request = await deps.store.findById(id);
  if (!request || request.siteId !== site.id) throw notFound();
  if (request.status === "PENDING" && request.expiresAt <= deps.clock.now()) {
    await expireDueRequests(deps);
    request = (await deps.store.findById(id)) ?? request;
  }
  return request;
}

export function presentCreated(request: LoginRequestRecord) {
  return {
    login_request_id: request.id,
    site_id: request.siteId,
    status: request.status,
    expires_at: isoTime(request.expiresAt),
    created_at: isoTime(request.createdAt),
    pow_difficulty: request.powDifficulty,
  };
}

export function presentChallenge(request: LoginRequestRecord, site: SiteRecord) {
  return {
    login_request_id: request.id,
    status: request.status,
    pow_challenge: request.powChallenge,
    pow_difficulty: request.powDifficulty,
    pow_algorithm: POW_ALGORITHM,
    expires_at: isoTime(request.expiresAt),
    site: { site_id: site.id, display_name: site.displayName },
  };
}

export function presentApproved(request: LoginRequestRecord) {
  return {
    request_id: request.id,
    login_request_id: request.id,
    site_id: request.siteId,
    status: "APPROVED" as const,
    expires_at: isoTime(request.expiresAt),
    approved_agent_id: request.approvedAgentId,
  };
}

export function presentForSite(request: LoginRequestRecord, now: number) {
  const passportLive =
    request.passportJwt !== null && request.passportExpiresAt !== null && request.passportExpiresAt > now;
  return {
    login_request_id: request.id,
    // The reader is this site (its token proved it): a site client learns its own id here, whatever the status.
    site_id: request.siteId,
    status: request.status,
    expires_at: isoTime(request.expiresAt),
    approved_agent_id: request.approvedAgentId,
    agent_passport_jwt: passportLive ? request.passportJwt : null,
    passport_expires_at: passportLive ? isoTime(request.passportExpiresAt!) : null,
    redirect_url: request.redirectUrl,
  };
}

/** The JSON of one `data:` line, as LIME's site SDK reads it. */
export function outcomePayload(event: OutcomeEvent): Record<string, unknown> {
  if (event.type === "approved") {
    return {
      type: "approved",
      login_request_id: event.loginRequestId,
      agent_passport_jwt: event.passportJwt,
      redirect_url: event.redirectUrl,
    };
  }
  return { type: "expired", login_request_id: event.loginRequestId };
}
