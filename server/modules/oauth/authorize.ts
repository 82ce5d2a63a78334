/**
 * The authorization endpoint (OAuth 2.1 §4.1.1): validating a request,
 * holding it while someone decides, and answering the client.
 *
 * Validation runs in two stages. First the client and its redirect URI:
 * while either is unknown or does not match exactly, nothing is redirected
 * anywhere (RFC 6749 §4.1.2.1, OAuth 2.1 §7.12.2: an open redirector
 * otherwise); the caller shows an error page. Then everything else, whose
 * errors go back to the client's redirect URI with `state` and `iss`
 * (RFC 9207): response type `code` only, PKCE with S256 only (`plain` and a
 * missing method are refused), one known resource (RFC 8707, else
 * `invalid_target`), scopes the resource declares.
 *
 * Who decides: the owner on the consent page (a session, a form token bound
 * to that session and request), or an agent for itself (its agent token and
 * a solved proof-of-work challenge issued with the request). The decision is
 * single-use (PENDING → DECIDED in one store write); an approval mints a
 * single-use code valid for `authorizationCodeMs`.
 */

import { randomBytes } from "node:crypto";
import { createChallenge, POW_ALGORITHM, verify as verifyPow } from "@lime-ts/core/pow";
import { isoTime } from "../../clock.ts";
import type { AuthenticatedAgent } from "../../core/agents/service.ts";
import { ownerAction } from "../../foundation/audit/service.ts";
import type { OwnerPrincipal } from "../../foundation/sessions/service.ts";
import { hashesEqual, hashSecret } from "../../infrastructure/crypto/secrets.ts";
import { findClient, type OAuthClient } from "./clients.ts";
import {
  type AuthorizationParam,
  CODE_CHALLENGE_METHODS,
  REFUSED_AUTHORIZATION_PARAMS,
  RESPONSE_TYPES,
} from "./contract.ts";
import type { OAuthDeps } from "./deps.ts";
import { OAuthEnvelopeError, OAuthError } from "./errors.ts";
import type { OAuthParams } from "./params.ts";
import { parseScope } from "./registration.ts";
import { grantScopes, lookupResource } from "./resources.ts";
import type { AgentAuthorizationChallenge } from "./schemas.ts";
import type { AuthorizationRequestRecord, ResourceRecord, SubjectType } from "./store.ts";

/** The request cannot be answered at the client's redirect URI: show an error page instead. */
export class UnredirectableError extends Error {
  readonly oauth: OAuthError;

  constructor(oauth: OAuthError) {
    super(oauth.message);
    this.oauth = oauth;
    this.name = "UnredirectableError";
  }
}

/**
 * The consent form cannot decide the request (forged, another session's,
 * or decided already): the owner is refused (403) and nothing is redirected.
 */
export class ConsentRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConsentRefusedError";
  }
}

/** The request failed after the redirect URI was validated: answer it there. */
export class RedirectableError extends Error {
  readonly oauth: OAuthError;
  readonly redirectUri: string;
  readonly state: string | null;

  constructor(oauth: OAuthError, redirectUri: string, state: string | null) {
    super(oauth.message);
    this.oauth = oauth;
    this.redirectUri = redirectUri;
    this.state = state;
    this.name = "RedirectableError";
  }
}

export interface ValidatedAuthorization {
  client: OAuthClient;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  resource: ResourceRecord;
  scopes: string[];
}

/** RFC 7636 §4.2: BASE64URL(SHA-256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** The redirect URI with the response parameters added (RFC 6749 §4.1.2; `iss` per RFC 9207 §2). */
export function redirectWith(
  redirectUri: string,
  issuer: string,
  params: Record<string, string | null>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  url.searchParams.set("iss", issuer);
  return url.href;
}

export async function validateAuthorizationRequest(
  deps: OAuthDeps,
  params: OAuthParams<AuthorizationParam>,
): Promise<ValidatedAuthorization> {
  let client: OAuthClient;
  let redirectUri: string | null;
  try {
    client = await findClient({ clients: deps.stores.clients, cimd: deps.cimd }, params.one("client_id"));
    redirectUri = params.one("redirect_uri");
  } catch (error) {
    if (error instanceof OAuthError) throw new UnredirectableError(error);
    throw error;
  }
  if (redirectUri === null) {
    throw new UnredirectableError(new OAuthError("invalid_request", "redirect_uri is required."));
  }
  // Simple string comparison (OAuth 2.1 §2.3.1): no normalisation, no prefix or port matching.
  if (!client.metadata.redirect_uris.includes(redirectUri)) {
    throw new UnredirectableError(
      new OAuthError("invalid_request", "redirect_uri is not one the client registered."),
    );
  }

  let state: string | null = null;
  try {
    state = params.one("state");
    const responseType = params.one("response_type");
    if (!RESPONSE_TYPES.some((type) => type === responseType)) {
      throw new OAuthError("unsupported_response_type", 'Only response_type "code" is supported.');
    }
    const codeChallenge = params.one("code_challenge");
    const method = params.one("code_challenge_method");
    if (codeChallenge === null) {
      throw new OAuthError("invalid_request", "PKCE is required: send code_challenge with method S256.");
    }
    if (!CODE_CHALLENGE_METHODS.some((accepted) => accepted === method)) {
      throw new OAuthError("invalid_request", "code_challenge_method must be S256 (plain is not accepted).");
    }
    if (!S256_CHALLENGE.test(codeChallenge)) {
      throw new OAuthError("invalid_request", "code_challenge is not a base64url SHA-256 value.");
    }
    if (REFUSED_AUTHORIZATION_PARAMS.some((name) => params.one(name) !== null)) {
      throw new OAuthError("invalid_request", "Request objects are not supported.");
    }
    const resources = params.all("resource");
    if (resources.length > 1)
      throw new OAuthError("invalid_target", "Ask for one resource per authorization.");
    const resource = await lookupResource(deps.stores.resources, resources[0] ?? null);
    const scopes = grantScopes(parseScope(params.one("scope")), resource.scopes);
    return { client, redirectUri, state, codeChallenge, resource, scopes };
  } catch (error) {
    if (error instanceof OAuthError) throw new RedirectableError(error, redirectUri, state);
    throw error;
  }
}

/** Holds a validated request while the owner or the agent decides. */
export async function createAuthorizationRequest(
  deps: OAuthDeps,
  validated: ValidatedAuthorization,
  agentId: string | null,
): Promise<AuthorizationRequestRecord> {
  const now = deps.clock.now();
  const record: AuthorizationRequestRecord = {
    id: crypto.randomUUID(),
    clientId: validated.client.clientId,
    redirectUri: validated.redirectUri,
    state: validated.state,
    codeChallenge: validated.codeChallenge,
    resource: validated.resource.resource,
    scopes: validated.scopes,
    powChallenge: createChallenge(),
    powDifficulty: deps.config.powDifficulty,
    agentId,
    sessionId: null,
    csrfHash: null,
    status: "PENDING",
    createdAt: now,
    expiresAt: now + deps.config.authorizationRequestMs,
  };
  await deps.stores.flows.createAuthorizationRequest(record);
  return record;
}

export function presentAgentChallenge(
  record: AuthorizationRequestRecord,
  client: OAuthClient,
): AgentAuthorizationChallenge {
  return {
    authorization_request_id: record.id,
    pow_challenge: record.powChallenge,
    pow_difficulty: record.powDifficulty,
    pow_algorithm: POW_ALGORITHM,
    expires_at: isoTime(record.expiresAt),
    client_id: client.clientId,
    client_name: client.metadata.client_name,
    resource: record.resource,
    scope: record.scopes.join(" "),
  };
}

async function issueCode(
  deps: OAuthDeps,
  request: AuthorizationRequestRecord,
  subjectType: SubjectType,
  subjectId: string,
) {
  const now = deps.clock.now();
  const grantId = crypto.randomUUID();
  await deps.stores.tokens.createGrant({
    id: grantId,
    clientId: request.clientId,
    subjectType,
    subjectId,
    resource: request.resource,
    scopes: request.scopes,
    createdAt: now,
    revokedAt: null,
    revokedReason: null,
  });
  const code = randomBytes(32).toString("base64url");
  await deps.stores.flows.createCode({
    codeHash: hashSecret(code),
    grantId,
    clientId: request.clientId,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    resource: request.resource,
    scopes: request.scopes,
    subjectType,
    subjectId,
    createdAt: now,
    expiresAt: now + deps.config.authorizationCodeMs,
    consumedAt: null,
  });
  return redirectWith(request.redirectUri, deps.issuer, { code, state: request.state });
}

const requestNotFound = () =>
  new OAuthEnvelopeError("OAUTH_AUTHORIZATION_REQUEST_NOT_FOUND", "No such pending authorization request.");
const requestExpired = () =>
  new OAuthEnvelopeError("OAUTH_AUTHORIZATION_REQUEST_EXPIRED", "The authorization request has expired.");

/**
 * The agent approves for itself: same agent that fetched the request, its
 * PoW nonce verified with core's `verify` (a wrong nonce leaves the request
 * pending), then the single-use decision. Returns where to redirect.
 */
export async function approveAsAgent(
  deps: OAuthDeps,
  { agent, owner }: AuthenticatedAgent,
  requestId: string | null,
  nonce: string | null,
  ip: string,
): Promise<string> {
  if (requestId === null) throw requestNotFound();
  const request = await deps.stores.flows.findAuthorizationRequest(requestId);
  if (request === null || request.agentId !== agent.id || request.status !== "PENDING")
    throw requestNotFound();
  const now = deps.clock.now();
  if (request.expiresAt <= now) throw requestExpired();
  if (owner.kycLevel < deps.config.minOwnerKycLevel) {
    throw new OAuthEnvelopeError(
      "OAUTH_CAPABILITY_DENIED",
      "This agent's owner does not meet the KYC level required for MCP access tokens.",
    );
  }
  if (nonce === null) throw new OAuthEnvelopeError("MISSING_POW_NONCE", "Send the solved pow_nonce.");
  let solved = false;
  try {
    solved = verifyPow(request.powChallenge, request.powDifficulty, nonce);
  } catch {
    solved = false;
  }
  if (!solved) {
    deps.metrics?.powFailed("oauth");
    await deps.audit({
      ownerId: owner.id,
      actorType: "agent",
      actorId: agent.id,
      action: "oauth.authorization_rejected",
      outcome: "failure",
      reason: "INVALID_POW",
      targetType: "oauth_authorization_request",
      targetId: request.id,
      ip,
    });
    throw new OAuthEnvelopeError("INVALID_POW", "The proof of work does not meet the difficulty.");
  }
  const decided = await deps.stores.flows.decide(request.id, now);
  if (decided === null) throw requestNotFound();
  await deps.audit({
    ownerId: owner.id,
    actorType: "agent",
    actorId: agent.id,
    action: "oauth.authorization_approved",
    targetType: "oauth_client",
    targetId: decided.clientId,
    reason: "agent_self_approval",
    ip,
  });
  return issueCode(deps, decided, "agent", agent.id);
}

/**
 * A fresh form token for the consent page of `request`, bound to the
 * owner's session; null when another session already holds the request
 * (its id leaked: nobody else may decide it).
 */
export async function bindConsentForm(
  deps: OAuthDeps,
  request: AuthorizationRequestRecord,
  owner: OwnerPrincipal,
): Promise<string | null> {
  const token = randomBytes(32).toString("base64url");
  return (await deps.stores.flows.bindConsent(request.id, owner.session.id, hashSecret(token)))
    ? token
    : null;
}

/** A pending, unexpired request by id, or null. */
export async function pendingRequest(
  deps: OAuthDeps,
  id: string | null,
): Promise<AuthorizationRequestRecord | null> {
  if (id === null || !/^[0-9a-f-]{36}$/.test(id)) return null;
  const request = await deps.stores.flows.findAuthorizationRequest(id);
  if (request === null || request.status !== "PENDING" || request.expiresAt <= deps.clock.now()) return null;
  return request;
}

/**
 * The owner's decision from the consent form. The form token must be the
 * one rendered for this session and this request (CSRF); anything off is
 * `ConsentRefusedError` (the page says so, nothing is redirected).
 */
export async function decideAsOwner(
  deps: OAuthDeps,
  owner: OwnerPrincipal,
  input: { requestId: string | null; formToken: string | null; approve: boolean },
  ip: string,
): Promise<string> {
  const request = await pendingRequest(deps, input.requestId);
  if (request === null) throw new ConsentRefusedError("This authorization request is no longer pending.");
  if (
    input.formToken === null ||
    request.sessionId !== owner.session.id ||
    request.csrfHash === null ||
    !hashesEqual(hashSecret(input.formToken), request.csrfHash)
  ) {
    throw new ConsentRefusedError("The consent form is not valid for this session.");
  }
  const decided = await deps.stores.flows.decide(request.id, deps.clock.now());
  if (decided === null) throw new ConsentRefusedError("This authorization request is no longer pending.");
  await deps.audit({
    ...ownerAction(
      owner.user.id,
      input.approve ? "oauth.authorization_approved" : "oauth.authorization_denied",
      { type: "oauth_client", id: decided.clientId },
      ip,
    ),
    outcome: input.approve ? "success" : "failure",
    reason: input.approve ? "owner_consent" : "access_denied",
  });
  if (!input.approve) {
    return redirectWith(decided.redirectUri, deps.issuer, {
      error: "access_denied",
      error_description: "The resource owner denied the request.",
      state: decided.state,
    });
  }
  return issueCode(deps, decided, "owner", owner.user.id);
}
