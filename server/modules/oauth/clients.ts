/**
 * OAuth clients, whatever identified them: a Dynamic Client Registration
 * (RFC 7591), a Client ID Metadata Document (an https `client_id`), or an
 * agent that registered a public key to authenticate with `private_key_jwt`
 * (RFC 7523 §2.2; its client id is its agent id).
 */

import { isoTime } from "../../clock.ts";
import type { AuthenticatedAgent } from "../../core/agents/service.ts";
import type { AgentRecord } from "../../core/agents/store.ts";
import type { CimdResolver } from "./cimd.ts";
import { looksLikeClientIdUrl } from "./cimd.ts";
import type { ClientInformationResponse } from "./contract.ts";
import type { OAuthDeps } from "./deps.ts";
import { OAuthEnvelopeError, OAuthError } from "./errors.ts";
import { type ClientMetadata, parseClientMetadata, presentClientMetadata } from "./registration.ts";
import type { AgentClientView, AgentJwks, PublicJwk } from "./schemas.ts";
import type { OAuthClientStore, RegisteredClientRecord } from "./store.ts";

export interface OAuthClient {
  clientId: string;
  source: "dynamic" | "metadata_document" | "agent";
  metadata: ClientMetadata;
  agentId: string | null;
  /** When a registered client's record was last written (an agent client: its key set); null for CIMD. */
  registeredAt: number | null;
}

/**
 * Whether what an agent set up at `at` with its agent token (a key set, a
 * grant it approved) was set up with its current token. Rotating the token
 * is the answer to a leaked one, so it must end what the leaked token set
 * up. While an agent is ACTIVE the agents store moves `updatedAt` only when
 * the token is rotated, which makes it the time the current token was set.
 */
export function setUpWithCurrentAgentToken(agent: AgentRecord, at: number): boolean {
  return at >= agent.updatedAt;
}

/** The client `clientId` names, or `invalid_client`. */
export async function findClient(
  deps: { clients: OAuthClientStore; cimd: CimdResolver | null },
  clientId: string | null,
): Promise<OAuthClient> {
  if (clientId === null || clientId === "" || clientId.length > 2048) {
    throw new OAuthError("invalid_client", "The request does not name a client (client_id).");
  }
  if (looksLikeClientIdUrl(clientId)) {
    if (deps.cimd === null) {
      throw new OAuthError("invalid_client", "Client ID Metadata Documents are not accepted by this server.");
    }
    return {
      clientId,
      source: "metadata_document",
      metadata: await deps.cimd.resolve(clientId),
      agentId: null,
      registeredAt: null,
    };
  }
  const record = await deps.clients.find(clientId);
  if (!record)
    throw new OAuthError("invalid_client", "The client is not known to this authorization server.");
  return {
    clientId,
    source: record.kind,
    metadata: record.metadata,
    agentId: record.agentId,
    registeredAt: record.updatedAt,
  };
}

/** RFC 7591 §3: registers a public client and returns the §3.2.1 response body. */
export async function registerClient(
  deps: OAuthDeps,
  body: unknown,
  ip: string,
): Promise<ClientInformationResponse> {
  const metadata = parseClientMetadata(body, "registration");
  const now = deps.clock.now();
  const record: RegisteredClientRecord = {
    clientId: `mcp_${crypto.randomUUID()}`,
    kind: "dynamic",
    agentId: null,
    metadata,
    createdAt: now,
    updatedAt: now,
  };
  await deps.stores.clients.create(record);
  await deps.audit({
    ownerId: null,
    actorType: "anonymous",
    action: "oauth.client_registered",
    targetType: "oauth_client",
    targetId: record.clientId,
    ip,
  });
  return {
    client_id: record.clientId,
    client_id_issued_at: Math.floor(now / 1000),
    ...presentClientMetadata(metadata),
  };
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const MAX_AGENT_KEYS = 5;

/** Imports one public JWK as WebCrypto would verify with it, or explains why it is refused. */
async function checkPublicJwk(jwk: unknown): Promise<PublicJwk> {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk))
    throw new Error("each key must be a JWK object");
  const key = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((member) => key[member] !== undefined))
    throw new Error("keys must be public keys");
  if (key.use !== undefined && key.use !== "sig") throw new Error('"use" must be "sig"');
  if (key.kty === "RSA") {
    if (key.alg !== undefined && key.alg !== "RS256") throw new Error("RSA keys are used with RS256");
    const imported = await crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", n: key.n as string, e: key.e as string },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      true,
      ["verify"],
    );
    const bits = (imported.algorithm as RsaHashedKeyAlgorithm).modulusLength;
    if (bits < 2048) throw new Error("RSA keys must have at least 2048 bits");
    return {
      kty: "RSA",
      n: key.n as string,
      e: key.e as string,
      alg: "RS256",
      ...(key.kid ? { kid: String(key.kid) } : {}),
    };
  }
  if (key.kty === "EC") {
    if (key.crv !== "P-256") throw new Error("EC keys must use P-256 (ES256)");
    if (key.alg !== undefined && key.alg !== "ES256") throw new Error("P-256 keys are used with ES256");
    await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: key.x as string, y: key.y as string },
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["verify"],
    );
    return {
      kty: "EC",
      crv: "P-256",
      x: key.x as string,
      y: key.y as string,
      alg: "ES256",
      ...(key.kid ? { kid: String(key.kid) } : {}),
    };
  }
  throw new Error("keys must be RSA (RS256) or EC P-256 (ES256)");
}

/**
 * Makes the agent a confidential client authenticating with `private_key_jwt`
 * (client id = agent id), replacing any key set it registered before.
 */
export async function registerAgentKeys(
  deps: OAuthDeps,
  { agent, owner }: AuthenticatedAgent,
  jwks: unknown,
  ip: string,
): Promise<RegisteredClientRecord> {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_AGENT_KEYS) {
    throw new OAuthEnvelopeError(
      "OAUTH_INVALID_JWKS",
      `Send {"keys": [...]} with 1 to ${MAX_AGENT_KEYS} public keys.`,
    );
  }
  const checked: PublicJwk[] = [];
  for (const key of keys) {
    try {
      checked.push(await checkPublicJwk(key));
    } catch (error) {
      throw new OAuthEnvelopeError(
        "OAUTH_INVALID_JWKS",
        `A key was refused: ${error instanceof Error ? error.message : "invalid key"}.`,
      );
    }
  }
  const now = deps.clock.now();
  const existing = await deps.stores.clients.find(agent.id);
  const record: RegisteredClientRecord = {
    clientId: agent.id,
    kind: "agent",
    agentId: agent.id,
    metadata: {
      client_name: agent.displayName,
      redirect_uris: [],
      grant_types: ["client_credentials"],
      response_types: [],
      token_endpoint_auth_method: "private_key_jwt",
      scope: null,
      client_uri: null,
      logo_uri: null,
      tos_uri: null,
      policy_uri: null,
      contacts: [],
      software_id: null,
      software_version: null,
      application_type: null,
      jwks: { keys: checked },
    },
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  await deps.stores.clients.upsertAgentClient(record);
  await deps.audit({
    ownerId: owner.id,
    actorType: "agent",
    actorId: agent.id,
    action: "oauth.agent_keys_registered",
    targetType: "oauth_client",
    targetId: agent.id,
    ip,
  });
  return record;
}

export function presentAgentClient(record: RegisteredClientRecord): AgentClientView {
  return {
    client_id: record.clientId,
    token_endpoint_auth_method: "private_key_jwt",
    grant_types: record.metadata.grant_types,
    // The keys `registerAgentKeys` stored: each one checked into this shape by `checkPublicJwk`.
    jwks: record.metadata.jwks as AgentJwks | null,
    updated_at: isoTime(record.updatedAt),
  };
}
