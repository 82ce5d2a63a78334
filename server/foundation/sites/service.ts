/**
 * Sites: registration, token rotation, suspension, deletion, and the
 * `X-Site-Token` check every site-facing route runs first.
 */

import { type Clock, isoTime } from "../../clock.ts";
import { DomainError } from "../../errors.ts";
import { findByToken, generateToken, hashesEqual, hashSecret } from "../../infrastructure/crypto/secrets.ts";
import { type AuditRecorder, ownerAction } from "../audit/service.ts";
import type { UserRecord } from "../users/store.ts";
import { assignDifficulty, difficultyPolicy } from "./difficulty-policy.ts";
import type { SitePatch, SiteRecord, SiteStatus, SiteStore } from "./store.ts";

export interface SiteDeps {
  clock: Clock;
  sites: SiteStore;
  audit: AuditRecorder;
  defaultPowDifficulty: number;
  /** The site's recent login requests per minute, as this instance counts them (adaptive difficulty). */
  siteLoad(siteId: string): number;
}

/** The difficulty policy fields of a registration or a change, as the API names them. */
export interface PolicyInput {
  powDifficulty?: number;
  /** null: the default ceiling. */
  powDifficultyMax?: number | null;
  /** null: the default surge rate. */
  powSurgePerMinute?: number | null;
}

/** `https://shop.example:8443` from any spelling of an http(s) origin; VALIDATION_FAILED otherwise. */
export function normalizeOrigin(raw: string, field = "origin"): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new DomainError("VALIDATION_FAILED", "The origin must be an absolute http(s) origin.", { field });
  }
  if (
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.pathname !== "/" ||
    url.search !== "" ||
    url.hash !== "" ||
    url.username !== "" ||
    url.password !== ""
  ) {
    throw new DomainError("VALIDATION_FAILED", "The origin must be scheme, host and optional port only.", {
      field,
    });
  }
  return url.origin;
}

/**
 * An explicit ceiling below the floor it would sit on is refused; a floor
 * alone raised above a stored ceiling is accepted (LIME's clients set only
 * the floor) and lifts the ceiling with it (difficulty-policy.ts).
 */
function assertCeilingAboveFloor(floor: number, ceiling: number | null | undefined): void {
  if (ceiling !== null && ceiling !== undefined && ceiling < floor) {
    throw new DomainError("VALIDATION_FAILED", "pow_difficulty_max must not be below pow_difficulty.", {
      field: "pow_difficulty_max",
    });
  }
}

function displayName(raw: string): string {
  const name = raw.trim();
  if (name === "") {
    throw new DomainError("VALIDATION_FAILED", "The display name must not be blank.", {
      field: "display_name",
    });
  }
  return name;
}

export async function registerSite(
  deps: SiteDeps,
  owner: UserRecord,
  input: { displayName: string; origin?: string | null } & PolicyInput,
  ip: string,
): Promise<{ site: SiteRecord; token: string }> {
  const now = deps.clock.now();
  const powDifficulty = input.powDifficulty ?? deps.defaultPowDifficulty;
  assertCeilingAboveFloor(powDifficulty, input.powDifficultyMax);
  const token = generateToken("site");
  const site: SiteRecord = {
    id: crypto.randomUUID(),
    ownerId: owner.id,
    displayName: displayName(input.displayName),
    origin: input.origin === null || input.origin === undefined ? null : normalizeOrigin(input.origin),
    tokenHash: hashSecret(token),
    powDifficulty,
    powDifficultyMax: input.powDifficultyMax ?? null,
    powSurgePerMinute: input.powSurgePerMinute ?? null,
    status: "ACTIVE",
    createdAt: now,
    updatedAt: now,
  };
  await deps.sites.create(site);
  await deps.audit(ownerAction(owner.id, "site.created", { type: "site", id: site.id }, ip));
  return { site, token };
}

const notFound = () => new DomainError("SITE_NOT_FOUND", "No such site.");

export async function rotateSiteToken(
  deps: SiteDeps,
  owner: UserRecord,
  siteId: string,
  ip: string,
): Promise<{ site: SiteRecord; token: string }> {
  const token = generateToken("site");
  const site = await deps.sites.rotateToken(siteId, owner.id, hashSecret(token), deps.clock.now());
  if (!site) throw notFound();
  await deps.audit(ownerAction(owner.id, "site.token_rotated", { type: "site", id: site.id }, ip));
  return { site, token };
}

export async function setSiteStatus(
  deps: SiteDeps,
  owner: UserRecord,
  siteId: string,
  status: SiteStatus,
  ip: string,
): Promise<SiteRecord> {
  const site = await deps.sites.setStatus(siteId, owner.id, status, deps.clock.now());
  if (!site) throw notFound();
  await deps.audit(
    ownerAction(
      owner.id,
      status === "SUSPENDED" ? "site.suspended" : "site.reactivated",
      { type: "site", id: site.id },
      ip,
    ),
  );
  return site;
}

export async function updateSite(
  deps: SiteDeps,
  owner: UserRecord,
  siteId: string,
  input: { displayName?: string; origin?: string | null } & PolicyInput,
  ip: string,
): Promise<SiteRecord> {
  const patch: SitePatch = {};
  if (input.displayName !== undefined) patch.displayName = displayName(input.displayName);
  if (input.origin !== undefined) patch.origin = input.origin === null ? null : normalizeOrigin(input.origin);
  if (input.powDifficulty !== undefined) patch.powDifficulty = input.powDifficulty;
  if (input.powDifficultyMax !== undefined && input.powDifficultyMax !== null) {
    // The floor it will sit on: the one in this change, or the stored one (an owner's own site, else not found).
    const current = await deps.sites.findById(siteId);
    if (!current || current.ownerId !== owner.id) throw notFound();
    assertCeilingAboveFloor(input.powDifficulty ?? current.powDifficulty, input.powDifficultyMax);
  }
  if (input.powDifficultyMax !== undefined) patch.powDifficultyMax = input.powDifficultyMax;
  if (input.powSurgePerMinute !== undefined) patch.powSurgePerMinute = input.powSurgePerMinute;
  const site = await deps.sites.update(siteId, owner.id, patch, deps.clock.now());
  if (!site) throw notFound();
  await deps.audit(ownerAction(owner.id, "site.updated", { type: "site", id: site.id }, ip));
  return site;
}

export async function deleteSite(
  deps: SiteDeps,
  owner: UserRecord,
  siteId: string,
  ip: string,
): Promise<void> {
  if (!(await deps.sites.delete(siteId, owner.id))) throw notFound();
  await deps.audit(ownerAction(owner.id, "site.deleted", { type: "site", id: siteId }, ip));
}

/** The `X-Site-Token` check: SITE_TOKEN_MISSING, SITE_TOKEN_INVALID or SITE_SUSPENDED (all 401). */
export async function authenticateSite(
  deps: SiteDeps,
  token: string | null | undefined,
): Promise<SiteRecord> {
  if (token === null || token === undefined || token.trim() === "") {
    throw new DomainError("SITE_TOKEN_MISSING", "Send the site token in X-Site-Token.");
  }
  const site = await findByToken("site", token.trim(), deps.sites);
  if (!site) throw new DomainError("SITE_TOKEN_INVALID", "The site token is not valid.");
  assertSiteActive(site);
  return site;
}

/**
 * Why `site` (as it was when its token was checked) no longer holds, or
 * null while it does: the row exists, is ACTIVE, and carries the same token
 * hash. For credentials that outlive one request, such as an open event
 * stream. The codes are those the same token would now get from
 * `authenticateSite`: a deleted site's or a rotated-away token is
 * SITE_TOKEN_INVALID.
 */
export async function siteCredentialProblem(
  deps: SiteDeps,
  site: SiteRecord,
): Promise<{ code: "SITE_TOKEN_INVALID" | "SITE_SUSPENDED"; message: string } | null> {
  const current = await deps.sites.findById(site.id);
  if (current === null || !hashesEqual(current.tokenHash, site.tokenHash)) {
    return { code: "SITE_TOKEN_INVALID", message: "The site token is no longer valid." };
  }
  if (current.status !== "ACTIVE") return { code: "SITE_SUSPENDED", message: "The site is suspended." };
  return null;
}

export function assertSiteActive(site: SiteRecord): void {
  if (site.status === "SUSPENDED") throw new DomainError("SITE_SUSPENDED", "The site is suspended.");
}

/** What a login request of the site opened now would carry (before any address's failures). */
export function currentDifficulty(deps: Pick<SiteDeps, "siteLoad">, site: SiteRecord): number {
  return assignDifficulty(difficultyPolicy(site), deps.siteLoad(site.id)).difficulty;
}

export function presentSite(deps: Pick<SiteDeps, "siteLoad">, site: SiteRecord) {
  const policy = difficultyPolicy(site);
  return {
    site_id: site.id,
    display_name: site.displayName,
    origin: site.origin,
    pow_difficulty: site.powDifficulty,
    pow_difficulty_max: policy.ceiling,
    pow_surge_per_minute: policy.surgePerMinute,
    pow_difficulty_current: currentDifficulty(deps, site),
    status: site.status,
    created_at: isoTime(site.createdAt),
    updated_at: isoTime(site.updatedAt),
  };
}
