/**
 * Protected resources (MCP servers) and their canonical identifiers.
 *
 * A resource is known to this authorization server when its owner registered
 * it; a token is only ever issued for a known resource (RFC 8707 §2:
 * `invalid_target` otherwise), with scopes drawn from the ones the owner
 * declared. The canonical form of a resource URI is the MCP one: lowercase
 * scheme and host (as `URL` parses them), no trailing slash for the root,
 * no fragment, no query, no credentials. LIME's headless endpoint names a
 * `domain` (a host) instead; its tokens carry the audience
 * `https://<domain>` (`domainAudience`), which a resource helper accepts
 * when its own host is that domain.
 */

import { randomBytes } from "node:crypto";
import { type Clock, isoTime } from "../../clock.ts";
import { type AuditRecorder, ownerAction } from "../../foundation/audit/service.ts";
import type { UserRecord } from "../../foundation/users/store.ts";
import { hashSecret } from "../../infrastructure/crypto/secrets.ts";
import { OAuthEnvelopeError, OAuthError } from "./errors.ts";
import { isDisplayableText, isLoopbackHost, isScopeToken } from "./registration.ts";
import type { ResourceView } from "./schemas.ts";
import type { ResourceRecord, ResourceStore } from "./store.ts";

export interface ResourceDeps {
  clock: Clock;
  resources: ResourceStore;
  audit: AuditRecorder;
  /** Refuse http resources on loopback hosts (production). */
  production: boolean;
}

export interface CanonicalResource {
  resource: string;
  host: string;
}

/** The canonical form of `raw`, or the reason it is not a usable resource identifier. */
export function canonicalResource(raw: string): CanonicalResource | { problem: string } {
  if (raw.length === 0 || raw.length > 2048) return { problem: "must be 1 to 2048 characters" };
  if (raw.includes("#")) return { problem: "must not contain a fragment (RFC 8707 §2)" };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: "must be an absolute URI (RFC 8707 §2)" };
  }
  if (url.search !== "" || raw.includes("?")) return { problem: "must not contain a query" };
  if (url.username !== "" || url.password !== "") return { problem: "must not contain credentials" };
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    return { problem: "must use https (http only on a loopback host)" };
  }
  const path = url.pathname === "/" ? "" : url.pathname;
  return { resource: `${url.protocol}//${url.host}${path}`, host: url.host };
}

/** The audience a LIME `{"domain"}` token carries for the resource host `domain`. */
export function domainAudience(domain: string): string {
  return `https://${domain}`;
}

/** A LIME `domain`: a host with an optional port, lowercase, nothing else. */
export function parseDomain(raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > 261) {
    throw new OAuthError("invalid_request", 'Send the MCP server\'s host as "domain".');
  }
  let url: URL;
  try {
    url = new URL(`https://${raw}`);
  } catch {
    throw new OAuthError("invalid_target", "The domain is not a host name.");
  }
  // A domain that parses into a different host carried a path, credentials or a query.
  if (url.host !== raw.toLowerCase() || url.pathname !== "/" || url.search !== "") {
    throw new OAuthError("invalid_target", "The domain must be a bare host, optionally with a port.");
  }
  return url.host;
}

/** The registered resource `raw` names, or `invalid_target` (RFC 8707 §2). */
export async function lookupResource(resources: ResourceStore, raw: string | null): Promise<ResourceRecord> {
  if (raw === null) {
    throw new OAuthError("invalid_target", "Name the MCP server in the resource parameter (RFC 8707).");
  }
  const canonical = canonicalResource(raw);
  if ("problem" in canonical) throw new OAuthError("invalid_target", `The resource ${canonical.problem}.`);
  const record = await resources.findByResource(canonical.resource);
  if (!record)
    throw new OAuthError("invalid_target", "The resource is not known to this authorization server.");
  return record;
}

/**
 * The registered resources a LIME `domain` names: with a port, those on
 * exactly that host and port; without one, those on the host name at any
 * port, since LIME's agent SDK strips the port from its target
 * (`_domain.py`), so a server registered as `localhost:4212` is asked for
 * as `localhost`. Possibly none.
 */
export function resourcesForDomain(resources: ResourceStore, domain: string): Promise<ResourceRecord[]> {
  return hasPort(domain) ? resources.listByHost(domain) : resources.listByHostName(domain);
}

function hasPort(domain: string): boolean {
  return new URL(domainAudience(domain)).port !== "";
}

/**
 * The scopes to grant: the requested ones, each declared by the resource
 * (else `invalid_scope`), or all of the resource's scopes when none were
 * asked for (RFC 6749 §3.3 lets the server apply a default).
 */
export function grantScopes(requested: string[] | null, available: readonly string[]): string[] {
  if (requested === null) return [...available];
  const unknown = requested.filter((scope) => !available.includes(scope));
  if (unknown.length > 0) {
    throw new OAuthError("invalid_scope", "The request names a scope the resource does not declare.");
  }
  return requested;
}

function invalidResource(problem: string): OAuthEnvelopeError {
  return new OAuthEnvelopeError("OAUTH_INVALID_RESOURCE", problem);
}

export async function registerResource(
  deps: ResourceDeps,
  owner: UserRecord,
  input: { resource: string; displayName: string; scopes?: string[] },
  ip: string,
): Promise<{ record: ResourceRecord; introspectionToken: string }> {
  const canonical = canonicalResource(input.resource.trim());
  if ("problem" in canonical) throw invalidResource(`resource ${canonical.problem}.`);
  if (deps.production && canonical.resource.startsWith("http:")) {
    throw invalidResource("resource must use https in production.");
  }
  const displayName = input.displayName.trim();
  if (displayName === "" || !isDisplayableText(displayName)) {
    throw invalidResource("display_name must be printable text.");
  }
  const scopes = [...new Set(input.scopes ?? [])];
  if (!scopes.every(isScopeToken) || scopes.includes("offline_access")) {
    throw invalidResource("scopes must be scope tokens (RFC 6749 §3.3), offline_access excluded.");
  }
  const introspectionToken = `lime_rs_${randomBytes(32).toString("base64url")}`;
  const record: ResourceRecord = {
    id: crypto.randomUUID(),
    resource: canonical.resource,
    host: canonical.host,
    ownerId: owner.id,
    displayName,
    scopes,
    introspectionTokenHash: hashSecret(introspectionToken),
    createdAt: deps.clock.now(),
  };
  if (!(await deps.resources.create(record))) {
    throw new OAuthEnvelopeError("OAUTH_RESOURCE_TAKEN", "This resource is already registered.");
  }
  await deps.audit(
    ownerAction(owner.id, "oauth.resource_registered", { type: "oauth_resource", id: record.id }, ip),
  );
  return { record, introspectionToken };
}

export async function deleteResource(
  deps: ResourceDeps,
  owner: UserRecord,
  id: string,
  ip: string,
): Promise<void> {
  if (!(await deps.resources.delete(id, owner.id))) {
    throw new OAuthEnvelopeError("OAUTH_RESOURCE_NOT_FOUND", "No such resource.");
  }
  await deps.audit(ownerAction(owner.id, "oauth.resource_deleted", { type: "oauth_resource", id: id }, ip));
}

export function presentResource(record: ResourceRecord): ResourceView {
  return {
    resource_id: record.id,
    resource: record.resource,
    domain: record.host,
    display_name: record.displayName,
    scopes: record.scopes,
    created_at: isoTime(record.createdAt),
  };
}
