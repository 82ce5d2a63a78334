/**
 * The LIME-envelope bodies of the OAuth module (the management API and
 * LIME's headless agent forms): one source for the API, the portal's forms
 * and the OpenAPI description. The RFC-shaped wire is in `contract.ts`.
 */

import { type Static, t } from "elysia";
import { IsoTime, JsonInteger, Nullable } from "../../http/schema-types.ts";
import { GRANT_TYPES } from "./contract.ts";

export const ResourceBody = t.Object({
  resource: t.String({ minLength: 1, maxLength: 2048 }),
  display_name: t.String({ minLength: 1, maxLength: 128 }),
  scopes: t.Optional(t.Array(t.String({ minLength: 1, maxLength: 128 }), { maxItems: 32 })),
});

export const ResourceParams = t.Object({ resource_id: t.String({ format: "uuid" }) });

/** A registered MCP server (protected resource). */
export const ResourceView = t.Object({
  resource_id: t.String({ format: "uuid" }),
  resource: t.String({ description: "The canonical resource URI (RFC 8707), as tokens carry it in `aud`." }),
  domain: t.String({ description: "Its host, with the port when it has one." }),
  display_name: t.String(),
  scopes: t.Array(t.String(), { description: "The scopes a token for this server may carry." }),
  created_at: IsoTime,
});
export type ResourceView = Static<typeof ResourceView>;

export const RegisteredResource = t.Object({
  ...ResourceView.properties,
  introspection_token: t.String({
    description:
      "`lime_rs_…`: the server's credential for `POST /introspect` (Authorization: Bearer). Shown once.",
  }),
});

export const ResourceList = t.Object({ resources: t.Array(ResourceView) });

/** A key as sent: checked by `registerAgentKeys` (public RSA ≥ 2048 bits or EC P-256, `use` sig). */
export const AgentJwksBody = t.Object({
  keys: t.Array(t.Record(t.String(), t.Unknown(), { description: "A public JWK (RFC 7517)." }), {
    minItems: 1,
    maxItems: 5,
  }),
});

export const AgentTokenHeaders = t.Object({ "x-agent-token": t.Optional(t.String()) });

const RsaPublicJwk = t.Object({
  kty: t.Literal("RSA"),
  n: t.String(),
  e: t.String(),
  alg: t.Literal("RS256"),
  kid: t.Optional(t.String()),
});

const EcPublicJwk = t.Object({
  kty: t.Literal("EC"),
  crv: t.Literal("P-256"),
  x: t.String(),
  y: t.String(),
  alg: t.Literal("ES256"),
  kid: t.Optional(t.String()),
});

/** The registered key set, as stored: public members only, `alg` set. */
export const PublicJwk = t.Union([RsaPublicJwk, EcPublicJwk]);
export type PublicJwk = Static<typeof PublicJwk>;
export const AgentJwks = t.Object({ keys: t.Array(PublicJwk) });
export type AgentJwks = Static<typeof AgentJwks>;

/** The agent as a confidential client (`private_key_jwt`; client id = agent id). */
export const AgentClientView = t.Object({
  client_id: t.String({ description: "The agent id: `iss` and `sub` of its client assertions." }),
  token_endpoint_auth_method: t.Literal("private_key_jwt"),
  grant_types: t.Array(t.Union(GRANT_TYPES.map((grant) => t.Literal(grant))), {
    description: 'Always `["client_credentials"]`.',
  }),
  jwks: Nullable(AgentJwks),
  updated_at: IsoTime,
});
export type AgentClientView = Static<typeof AgentClientView>;

/** LIME's headless authorization: what `GET /authorize` answers an agent (X-Agent-Token). */
export const AgentAuthorizationChallenge = t.Object({
  authorization_request_id: t.String({ format: "uuid" }),
  pow_challenge: t.String({ description: "Solve it as in agent login, then `POST /authorize`." }),
  pow_difficulty: JsonInteger({ minimum: 1 }),
  pow_algorithm: t.Literal("sha256"),
  expires_at: IsoTime,
  client_id: t.String(),
  client_name: Nullable(t.String()),
  resource: t.String({ description: "The MCP server (canonical resource URI)." }),
  scope: t.String({ description: "The scopes that would be granted, space-separated; empty when none." }),
});
export type AgentAuthorizationChallenge = Static<typeof AgentAuthorizationChallenge>;
