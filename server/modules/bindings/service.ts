/**
 * Agent Binding, as plain functions over stores. A site asks LIME for one of
 * its user's agents (`createBindingRequest`); the user signs in on LIME's
 * hosted connect page and picks an agent (`approveBinding`) or declines
 * (`denyBinding`); the browser goes back to the site's `redirect_uri` with a
 * 60-second binding passport or `error=access_denied`. The site can read the
 * request's status; the owner lists and revokes their bindings.
 *
 * Single use: a request is decided once, by one conditional UPDATE
 * (`WHERE status = 'PENDING' AND expires_at > now`); a second decision,
 * whichever kind, is BINDING_ALREADY_DECIDED. See docs/decisions/agent-binding.md.
 */

import { type Clock, isoTime } from "../../clock.ts";
import type { Lifetimes } from "../../config.ts";
import type { AgentRecord, AgentStore } from "../../core/agents/store.ts";
import type { IssuedPassport, PassportDeps } from "../../core/passports/service.ts";
import { DomainError } from "../../errors.ts";
import type { AuditEntry, AuditRecorder } from "../../foundation/audit/service.ts";
import { assertSiteActive } from "../../foundation/sites/service.ts";
import type { SiteRecord, SiteStatus, SiteStore } from "../../foundation/sites/store.ts";
import type { UserRecord } from "../../foundation/users/store.ts";
import type { RevocationHooks } from "../revocation/service.ts";
import { bindingPassportIssued, issueBindingPassport } from "./passport.ts";
import { bindingRedirectUrl, checkRedirectUri } from "./redirect-uri.ts";
import type { BindingCursor, BindingRecord, BindingStatus, BindingStore } from "./store.ts";

export interface BindingDeps {
  clock: Clock;
  store: BindingStore;
  sites: SiteStore;
  agents: AgentStore;
  passports: Pick<PassportDeps, "clock" | "keyRing" | "issuer" | "metrics">;
  audit: AuditRecorder;
  /** The server's public URL (config.publicUrl): the base of `connect_url`. */
  publicUrl: string;
  lifetimes: Pick<Lifetimes, "bindingRequestMs">;
  /** Tells the site its binding's passports are revoked (server/modules/revocation); absent where nobody listens. */
  revocations?: Pick<RevocationHooks, "bindingRevoked">;
}

/** Requests one maintenance pass expires or purges at most: the sweep's work stays bounded. */
export const BINDING_SWEEP_BATCH = 500;

/** How long a declined or expired request stays readable by its site before it is purged. */
export const FINISHED_BINDING_RETENTION_MS = 24 * 3600_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const notFound = () => new DomainError("BINDING_NOT_FOUND", "No such binding request.");
const expired = () => new DomainError("BINDING_EXPIRED", "The binding request has expired.");
const alreadyDecided = () =>
  new DomainError("BINDING_ALREADY_DECIDED", "The binding request has already been completed or declined.");
const agentNotFound = () => new DomainError("AGENT_NOT_FOUND", "No such active agent.");

/** Why a binding no longer shows as it was stored: its owner revoked it, or the agent was revoked. */
export type RevocationReason = "owner_revoked" | "agent_revoked";

/**
 * A binding as it stands now: PENDING past its expiry reads EXPIRED (the
 * sweep writes it later), and a COMPLETED binding whose agent was revoked
 * reads REVOKED, so a site never keeps trusting an agent that is gone.
 */
export interface BindingState {
  binding: BindingRecord;
  status: BindingStatus;
  revokedAt: number | null;
  revocationReason: RevocationReason | null;
}

function stateOf(binding: BindingRecord, agent: AgentRecord | null, now: number): BindingState {
  const plain = { binding, status: binding.status, revokedAt: binding.revokedAt, revocationReason: null };
  if (binding.status === "PENDING" && binding.expiresAt <= now) return { ...plain, status: "EXPIRED" };
  if (binding.status === "REVOKED") return { ...plain, revocationReason: "owner_revoked" };
  if (binding.status === "COMPLETED" && (agent === null || agent.status !== "ACTIVE")) {
    return {
      ...plain,
      status: "REVOKED",
      revokedAt: agent?.revokedAt ?? null,
      revocationReason: "agent_revoked",
    };
  }
  return plain;
}

async function currentState(deps: BindingDeps, binding: BindingRecord): Promise<BindingState> {
  const agent = binding.agentId === null ? null : await deps.agents.findById(binding.agentId);
  return stateOf(binding, agent, deps.clock.now());
}

export function connectUrl(deps: Pick<BindingDeps, "publicUrl">, binding: BindingRecord): string {
  return `${deps.publicUrl}/connect?binding_id=${encodeURIComponent(binding.id)}`;
}

/** `POST /api/v1/modules/bindings/requests`: a PENDING request and the connect page's URL. */
export async function createBindingRequest(
  deps: BindingDeps,
  site: SiteRecord,
  input: { redirectUri: string },
  ip: string,
): Promise<BindingRecord> {
  const redirectUri = checkRedirectUri(input.redirectUri, site.origin);
  const now = deps.clock.now();
  const binding: BindingRecord = {
    id: crypto.randomUUID(),
    siteId: site.id,
    redirectUri,
    status: "PENDING",
    createdAt: now,
    expiresAt: now + deps.lifetimes.bindingRequestMs,
    agentId: null,
    ownerId: null,
    decidedAt: null,
    revokedAt: null,
  };
  await deps.store.create(binding);
  await deps.audit({
    ownerId: site.ownerId,
    actorType: "site",
    actorId: site.id,
    action: "binding_request.created",
    targetType: "binding_request",
    targetId: binding.id,
    ip,
  });
  return binding;
}

/** `GET /api/v1/modules/bindings/requests/{id}`: the owning site's view; another site's is not found. */
export async function getBindingForSite(
  deps: BindingDeps,
  site: SiteRecord,
  bindingId: string,
): Promise<BindingState> {
  const binding = UUID.test(bindingId) ? await deps.store.findById(bindingId) : null;
  if (!binding || binding.siteId !== site.id) throw notFound();
  return currentState(deps, binding);
}

async function loadWithSite(
  deps: BindingDeps,
  bindingId: string,
): Promise<{ binding: BindingRecord; site: SiteRecord }> {
  // The id comes from the connect page's query string: anything but a UUID is simply unknown.
  const binding =
    typeof bindingId === "string" && UUID.test(bindingId) ? await deps.store.findById(bindingId) : null;
  if (!binding) throw notFound();
  const site = await deps.sites.findById(binding.siteId);
  if (!site) throw notFound();
  return { binding, site };
}

/** Throws the code of a request that can no longer be decided. */
function assertDecidable(binding: BindingRecord, now: number): void {
  if (binding.status === "EXPIRED" || (binding.status === "PENDING" && binding.expiresAt <= now)) {
    throw expired();
  }
  if (binding.status !== "PENDING") throw alreadyDecided();
}

/** What the connect page shows before the user decides. */
export interface ConnectView {
  bindingId: string;
  /** As it stands now (PENDING past its expiry reads EXPIRED). */
  status: BindingStatus;
  expiresAt: number;
  site: { id: string; displayName: string; origin: string | null; status: SiteStatus };
}

/**
 * For the hosted connect page: the request and who asks. Throws
 * BINDING_NOT_FOUND for an unknown or malformed id. Any status is returned;
 * the page offers a choice only while `status` is PENDING.
 */
export async function getBindingForConnectPage(deps: BindingDeps, bindingId: string): Promise<ConnectView> {
  const { binding, site } = await loadWithSite(deps, bindingId);
  const { status } = await currentState(deps, binding);
  return {
    bindingId: binding.id,
    status,
    expiresAt: binding.expiresAt,
    site: { id: site.id, displayName: site.displayName, origin: site.origin, status: site.status },
  };
}

/** For the connect page: the agents the signed-in owner may pick (ACTIVE ones). */
export async function listBindableAgents(
  deps: Pick<BindingDeps, "agents">,
  owner: UserRecord,
): Promise<AgentRecord[]> {
  return (await deps.agents.listByOwner(owner.id)).filter((agent) => agent.status === "ACTIVE");
}

/**
 * The address goes to the acting user's own trail only: the site's owner
 * learns that a user decided, not from where.
 */
async function auditForBoth(
  deps: BindingDeps,
  entry: Omit<AuditEntry, "ownerId" | "ip">,
  actorOwnerId: string | null,
  site: SiteRecord,
  ip: string,
): Promise<void> {
  const owners = new Set([...(actorOwnerId === null ? [] : [actorOwnerId]), site.ownerId]);
  for (const ownerId of owners) {
    await deps.audit({ ...entry, ownerId, ip: ownerId === actorOwnerId ? ip : null });
  }
}

export interface ApproveBindingInput {
  bindingId: string;
  /** The signed-in owner (from their session) picking one of their agents. */
  owner: UserRecord;
  agentId: string;
  ip: string;
}

export interface ApprovedBinding {
  binding: BindingRecord;
  passport: IssuedPassport;
  /** Where to send the browser: `redirect_uri?passport=<JWT>&binding_id=<id>`. */
  redirectUrl: string;
}

/**
 * The user picked `agentId` on the connect page. Checks, in order: request
 * exists (BINDING_NOT_FOUND) → its site is active (SITE_SUSPENDED) → still
 * PENDING and unexpired (BINDING_EXPIRED, BINDING_ALREADY_DECIDED) →
 * `redirect_uri` still on the site's origin (SITE_ORIGIN_REQUIRED,
 * REDIRECT_URI_NOT_ALLOWED) → the agent is the owner's and ACTIVE
 * (AGENT_NOT_FOUND) → passport signed → the atomic single-use write. Losing
 * that write to a concurrent decision is BINDING_ALREADY_DECIDED (or
 * BINDING_EXPIRED if time ran out meanwhile). Every refusal but an unknown
 * request is audited with its code.
 */
export async function approveBinding(
  deps: BindingDeps,
  input: ApproveBindingInput,
): Promise<ApprovedBinding> {
  const { bindingId, owner, agentId, ip } = input;
  let site: SiteRecord | null = null;
  try {
    const found = await loadWithSite(deps, bindingId);
    site = found.site;
    assertSiteActive(site);
    assertDecidable(found.binding, deps.clock.now());
    checkRedirectUri(found.binding.redirectUri, site.origin);
    const agent =
      typeof agentId === "string" && UUID.test(agentId) ? await deps.agents.findById(agentId) : null;
    if (!agent || agent.ownerId !== owner.id || agent.status !== "ACTIVE") throw agentNotFound();
    // Signed before the write, so the decision and its passport cannot part; a losing racer wastes one signature.
    const passport = await issueBindingPassport(deps.passports, {
      bindingId: found.binding.id,
      siteId: site.id,
      agent,
      owner,
    });
    const completed = await deps.store.complete({
      id: found.binding.id,
      agentId: agent.id,
      ownerId: owner.id,
      now: deps.clock.now(),
    });
    if (!completed) throw await whyNotDecided(deps, found.binding.id);
    await auditForBoth(
      deps,
      {
        actorType: "owner",
        actorId: owner.id,
        action: "binding_request.completed",
        targetType: "binding_request",
        targetId: completed.id,
      },
      owner.id,
      site,
      ip,
    );
    await deps.audit(bindingPassportIssued(owner, passport, ip));
    return {
      binding: completed,
      passport,
      redirectUrl: bindingRedirectUrl(completed.redirectUri, completed.id, { passport: passport.jwt }),
    };
  } catch (error) {
    await auditRefusal(deps, error, site, bindingId, owner.id, ip);
    throw error;
  }
}

export interface DenyBindingInput {
  bindingId: string;
  /** The signed-in user who declined, or null when the page lets a visitor decline without signing in. */
  owner: UserRecord | null;
  ip: string;
}

export interface DeniedBinding {
  binding: BindingRecord;
  /** Where to send the browser: `redirect_uri?error=access_denied&binding_id=<id>`. */
  redirectUrl: string;
}

/**
 * The user declined on the connect page. Checks: request exists
 * (BINDING_NOT_FOUND) → still PENDING and unexpired (BINDING_EXPIRED,
 * BINDING_ALREADY_DECIDED) → `redirect_uri` still on the site's origin →
 * the atomic single-use write (the same one approvals race for).
 */
export async function denyBinding(deps: BindingDeps, input: DenyBindingInput): Promise<DeniedBinding> {
  const { bindingId, owner, ip } = input;
  const ownerId = owner?.id ?? null;
  let site: SiteRecord | null = null;
  try {
    const found = await loadWithSite(deps, bindingId);
    site = found.site;
    assertDecidable(found.binding, deps.clock.now());
    checkRedirectUri(found.binding.redirectUri, site.origin);
    const denied = await deps.store.deny({ id: found.binding.id, ownerId, now: deps.clock.now() });
    if (!denied) throw await whyNotDecided(deps, found.binding.id);
    await auditForBoth(
      deps,
      {
        actorType: owner === null ? "anonymous" : "owner",
        actorId: ownerId,
        action: "binding_request.denied",
        targetType: "binding_request",
        targetId: denied.id,
      },
      ownerId,
      site,
      ip,
    );
    return {
      binding: denied,
      redirectUrl: bindingRedirectUrl(denied.redirectUri, denied.id, { error: "access_denied" }),
    };
  } catch (error) {
    await auditRefusal(deps, error, site, bindingId, ownerId, ip);
    throw error;
  }
}

/** After a lost single-use write: why the request could not be decided (it vanished with its site, expired, or another decision won). */
async function whyNotDecided(deps: BindingDeps, bindingId: string): Promise<DomainError> {
  const current = await deps.store.findById(bindingId);
  if (current === null) return notFound();
  try {
    assertDecidable(current, deps.clock.now());
  } catch (error) {
    return error as DomainError;
  }
  return alreadyDecided();
}

async function auditRefusal(
  deps: BindingDeps,
  error: unknown,
  site: SiteRecord | null,
  bindingId: string,
  actorOwnerId: string | null,
  ip: string,
): Promise<void> {
  if (!(error instanceof DomainError) || error.code === "BINDING_NOT_FOUND" || site === null) return;
  await auditForBoth(
    deps,
    {
      actorType: actorOwnerId === null ? "anonymous" : "owner",
      actorId: actorOwnerId,
      action: "binding_request.decision_rejected",
      outcome: "failure",
      targetType: "binding_request",
      targetId: bindingId,
      reason: error.code,
    },
    actorOwnerId,
    site,
    ip,
  );
}

/** One of the owner's bindings, with what the portal shows of it. */
export interface OwnerBinding {
  state: BindingState;
  site: SiteRecord | null;
  agent: AgentRecord | null;
}

/** `GET /api/v1/modules/bindings`: the owner's completed (and revoked) bindings, most recent first. */
export async function listOwnerBindings(
  deps: BindingDeps,
  owner: UserRecord,
  page: { limit: number; before: BindingCursor | null },
): Promise<{ bindings: OwnerBinding[]; nextCursor: BindingCursor | null }> {
  const { bindings, nextCursor } = await deps.store.listByOwner(owner.id, page.limit, page.before);
  const sites = new Map<string, Promise<SiteRecord | null>>();
  const agents = new Map<string, Promise<AgentRecord | null>>();
  const now = deps.clock.now();
  const items: OwnerBinding[] = [];
  for (const binding of bindings) {
    if (!sites.has(binding.siteId)) sites.set(binding.siteId, deps.sites.findById(binding.siteId));
    const agentId = binding.agentId!;
    if (!agents.has(agentId)) agents.set(agentId, deps.agents.findById(agentId));
    const agent = await agents.get(agentId)!;
    items.push({ state: stateOf(binding, agent, now), site: await sites.get(binding.siteId)!, agent });
  }
  return { bindings: items, nextCursor };
}

/**
 * `POST /api/v1/modules/bindings/{id}/revoke`: the owner ends a binding.
 * The site sees REVOKED on its status route from then on. Revoking a revoked
 * binding again answers the same (no second audit entry); anything that is
 * not this owner's completed binding is BINDING_NOT_FOUND.
 */
export async function revokeBinding(
  deps: BindingDeps,
  owner: UserRecord,
  bindingId: string,
  ip: string,
): Promise<OwnerBinding> {
  if (!UUID.test(bindingId)) throw notFound();
  const revoked = await deps.store.revoke(bindingId, owner.id, deps.clock.now());
  const binding = revoked ?? (await deps.store.findById(bindingId));
  if (binding === null || binding.ownerId !== owner.id || binding.status !== "REVOKED") throw notFound();
  // Pushed once, when it happens; a repeat only records it again, in case the first record failed.
  await deps.revocations?.bindingRevoked(binding.id, binding.siteId, binding.revokedAt!, revoked !== null);
  const site = await deps.sites.findById(binding.siteId);
  const agent = await deps.agents.findById(binding.agentId!);
  if (revoked) {
    const entry = {
      actorType: "owner" as const,
      actorId: owner.id,
      action: "binding.revoked",
      targetType: "binding",
      targetId: revoked.id,
    };
    if (site) await auditForBoth(deps, entry, owner.id, site, ip);
    else await deps.audit({ ...entry, ownerId: owner.id, ip });
  }
  return { state: stateOf(binding, agent, deps.clock.now()), site, agent };
}

/**
 * The maintenance sweep: at most BINDING_SWEEP_BATCH overdue PENDING
 * requests become EXPIRED (each audited for its site's owner), and as many
 * long-finished declined or expired ones are purged. Reads never wait for
 * it: an overdue request already reads EXPIRED and cannot be decided.
 */
export async function sweepBindings(deps: BindingDeps): Promise<{ expired: number; purged: number }> {
  const now = deps.clock.now();
  const due = await deps.store.expireDue(now, BINDING_SWEEP_BATCH);
  const owners = new Map<string, string | null>();
  for (const binding of due) {
    if (!owners.has(binding.siteId)) {
      owners.set(binding.siteId, (await deps.sites.findById(binding.siteId))?.ownerId ?? null);
    }
    const ownerId = owners.get(binding.siteId) ?? null;
    if (ownerId === null) continue;
    await deps.audit({
      ownerId,
      actorType: "system",
      action: "binding_request.expired",
      targetType: "binding_request",
      targetId: binding.id,
    });
  }
  const purged = await deps.store.purgeFinished(now - FINISHED_BINDING_RETENTION_MS, BINDING_SWEEP_BATCH);
  return { expired: due.length, purged };
}

const iso = (ms: number | null) => (ms === null ? null : isoTime(ms));

/** The creation answer: LIME's SDK reads `binding_id`, `connect_url`, `status`, `expires_at`; the rest is ours. */
export function presentCreated(deps: Pick<BindingDeps, "publicUrl">, binding: BindingRecord) {
  return {
    binding_id: binding.id,
    connect_url: connectUrl(deps, binding),
    status: binding.status,
    expires_at: isoTime(binding.expiresAt),
    site_id: binding.siteId,
    created_at: isoTime(binding.createdAt),
  };
}

/** The owning site's view; `agent_id` once an agent was picked (kept when revoked, so the site knows which). */
export function presentForSite(state: BindingState) {
  const { binding } = state;
  return {
    binding_id: binding.id,
    site_id: binding.siteId,
    status: state.status,
    redirect_uri: binding.redirectUri,
    created_at: isoTime(binding.createdAt),
    expires_at: isoTime(binding.expiresAt),
    agent_id: binding.agentId,
    decided_at: iso(binding.decidedAt),
    revoked_at: iso(state.revokedAt),
    revocation_reason: state.revocationReason,
  };
}

/** One row of the owner's list. */
export function presentForOwner({ state, site, agent }: OwnerBinding) {
  const { binding } = state;
  return {
    binding_id: binding.id,
    status: state.status,
    site: { site_id: binding.siteId, display_name: site?.displayName ?? null, origin: site?.origin ?? null },
    agent: { agent_id: binding.agentId, display_name: agent?.displayName ?? null },
    completed_at: iso(binding.decidedAt),
    revoked_at: iso(state.revokedAt),
    revocation_reason: state.revocationReason,
  };
}

/** `<decided_at>_<binding id>`: opaque to clients, checked by `parseCursor`. */
export function formatCursor(cursor: BindingCursor): string {
  return `${cursor.decidedAt}_${cursor.id}`;
}

export function parseCursor(raw: string | undefined): BindingCursor | null {
  if (raw === undefined) return null;
  const match = /^(\d{1,15})_([0-9a-f-]{36})$/.exec(raw);
  if (!match || !UUID.test(match[2]!)) {
    throw new DomainError("VALIDATION_FAILED", "before must be a next_cursor from an earlier page.", {
      location: "query",
      field: "before",
      rule: "a next_cursor value",
    });
  }
  return { decidedAt: Number(match[1]), id: match[2]! };
}
