/**
 * What the OAuth provider keeps, behind four narrow interfaces: registered
 * clients, protected resources, the short-lived flow state (authorization
 * requests and codes) and the token state (grants, refresh tokens, issued
 * access token ids, used client-assertion ids). Every single-use step is one
 * atomic store operation, so a Redis implementation can take over the
 * short-lived parts for several instances.
 */

import type { ClientMetadata } from "./registration.ts";

/** A client registered here: by Dynamic Client Registration, or an agent that registered its public key. */
export interface RegisteredClientRecord {
  clientId: string;
  kind: "dynamic" | "agent";
  /** The agent a `kind: "agent"` client is (its client id is the agent id). */
  agentId: string | null;
  metadata: ClientMetadata;
  createdAt: number;
  updatedAt: number;
}

export interface OAuthClientStore {
  create(client: RegisteredClientRecord): Promise<void>;
  find(clientId: string): Promise<RegisteredClientRecord | null>;
  /** Creates or replaces the agent's client (its key set). */
  upsertAgentClient(client: RegisteredClientRecord): Promise<void>;
}

/** An MCP server (RFC 8707 resource) whose owner registered it here. */
export interface ResourceRecord {
  id: string;
  /** Canonical resource URI (see `canonicalResource`). */
  resource: string;
  /** `URL.host` of the resource, lowercased: what LIME's `{"domain"}` names. */
  host: string;
  ownerId: string;
  displayName: string;
  scopes: string[];
  /** SHA-256 of the resource server's introspection credential. */
  introspectionTokenHash: string;
  createdAt: number;
}

export interface ResourceStore {
  /** `false` when the resource URI is already registered. */
  create(resource: ResourceRecord): Promise<boolean>;
  findByResource(resource: string): Promise<ResourceRecord | null>;
  findByIntrospectionTokenHash(hash: string): Promise<ResourceRecord | null>;
  listByHost(host: string): Promise<ResourceRecord[]>;
  /** Resources on `hostname` whatever their port (`tools.example`, `tools.example:8443`). */
  listByHostName(hostname: string): Promise<ResourceRecord[]>;
  listByOwner(ownerId: string): Promise<ResourceRecord[]>;
  delete(id: string, ownerId: string): Promise<boolean>;
}

export type SubjectType = "agent" | "owner";

export interface AuthorizationRequestRecord {
  id: string;
  clientId: string;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  resource: string;
  scopes: string[];
  powChallenge: string;
  powDifficulty: number;
  /** The agent that fetched the request (agent self-approval only). */
  agentId: string | null;
  /** The owner session the consent page was rendered for, and the hash of its form token. */
  sessionId: string | null;
  csrfHash: string | null;
  status: "PENDING" | "DECIDED";
  createdAt: number;
  expiresAt: number;
}

export interface AuthorizationCodeRecord {
  codeHash: string;
  grantId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  resource: string;
  scopes: string[];
  subjectType: SubjectType;
  subjectId: string;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export interface OAuthFlowStore {
  createAuthorizationRequest(request: AuthorizationRequestRecord): Promise<void>;
  findAuthorizationRequest(id: string): Promise<AuthorizationRequestRecord | null>;
  /**
   * Binds a PENDING request to the owner session shown its consent page, with
   * that page's form token. The first session to see the page keeps it:
   * `false` when another session already holds the request.
   */
  bindConsent(id: string, sessionId: string, csrfHash: string): Promise<boolean>;
  /** The single-use step: PENDING and unexpired at `now` → DECIDED; null if another decision won or it lapsed. */
  decide(id: string, now: number): Promise<AuthorizationRequestRecord | null>;
  createCode(code: AuthorizationCodeRecord): Promise<void>;
  /**
   * Marks the code used. `firstUse: false` when it had been used before (a
   * replay: the caller revokes what it issued); null for an unknown code.
   */
  consumeCode(
    codeHash: string,
    now: number,
  ): Promise<{ code: AuthorizationCodeRecord; firstUse: boolean } | null>;
  purge(now: number): Promise<void>;
}

export interface GrantRecord {
  id: string;
  clientId: string;
  subjectType: SubjectType;
  subjectId: string;
  resource: string;
  scopes: string[];
  createdAt: number;
  revokedAt: number | null;
  revokedReason: string | null;
}

export interface RefreshTokenRecord {
  tokenHash: string;
  grantId: string;
  status: "ACTIVE" | "ROTATED" | "REVOKED";
  createdAt: number;
  expiresAt: number;
}

export interface AccessTokenRecord {
  jti: string;
  grantId: string | null;
  clientId: string;
  subjectType: SubjectType;
  subjectId: string;
  audience: string[];
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface OAuthTokenStore {
  createGrant(grant: GrantRecord): Promise<void>;
  findGrant(id: string): Promise<GrantRecord | null>;
  /** Revokes the grant with every refresh token and access token issued under it, in one write. */
  revokeGrant(id: string, now: number, reason: string): Promise<void>;
  createRefreshToken(token: RefreshTokenRecord): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /**
   * The single-use step of rotation: ACTIVE → ROTATED. `rotated: false` with
   * the record when it was not ACTIVE (a reuse, or revoked); null when unknown.
   */
  rotateRefreshToken(tokenHash: string): Promise<{ token: RefreshTokenRecord; rotated: boolean } | null>;
  recordAccessToken(token: AccessTokenRecord): Promise<void>;
  findAccessToken(jti: string): Promise<AccessTokenRecord | null>;
  revokeAccessToken(jti: string, now: number): Promise<void>;
  /** Records a client assertion's `jti` until it expires; `false` if it was already used (RFC 7523 §3 item 7). */
  useAssertionId(clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean>;
  purge(now: number): Promise<void>;
}

export interface OAuthStores {
  clients: OAuthClientStore;
  resources: ResourceStore;
  flows: OAuthFlowStore;
  tokens: OAuthTokenStore;
}
