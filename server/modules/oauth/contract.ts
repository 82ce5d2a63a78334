/**
 * The OAuth endpoints' wire, written once as `t` models in the shapes their
 * RFCs define: the parameters each endpoint reads (RFC 6749, 7636, 8707,
 * 7523, 7009, 7662), the bodies it answers (RFC 6749 §5.1/§5.2, RFC 7591
 * §3.2, RFC 7662 §2.2, RFC 8414 §2), and the values it accepts.
 *
 * The handlers read form parameters by hand (`OAuthParams`) and answer with
 * prepared `Response`s, so Elysia neither validates nor checks these; they
 * are tied to the code instead: each endpoint's `OAuthParams` is typed with
 * the parameter names of its model (reading a name the description lacks
 * does not compile), the values it accepts come from the lists below, and
 * the bodies it builds are typed `Static<...>` of the answer models.
 * The OpenAPI description (`openapi.ts`) is made from the same models.
 */

import type { TObject, TProperties } from "@sinclair/typebox";
import { type Static, type TSchema, t } from "elysia";
import { JsonInteger } from "../../http/schema-types.ts";
import type { OAuthErrorCode } from "./errors.ts";

/** A JSON Schema string enum (`{"type": "string", "enum": [...]}`) typed as its values; descriptive only. */
export function StringEnum<const Values extends readonly string[]>(
  values: Values,
  options: { description?: string } = {},
) {
  return t.Unsafe<Values[number]>({ type: "string", enum: [...values], ...options });
}

/** `schema` with a description (for helpers such as `JsonInteger` that take none). */
function described<Schema extends TSchema>(schema: Schema, description: string): Schema {
  return { ...schema, description };
}

/** The parameter names a form model describes: what an endpoint's `OAuthParams` may read. */
export type ParamName<Model extends TObject> = keyof Model["properties"] & string;

// ---------------------------------------------------------------------------
// Accepted values, shared by the handlers, the metadata and the description.
// ---------------------------------------------------------------------------

/** OAuth 2.1 §4.1.1: the authorization code flow only. */
export const RESPONSE_TYPES = ["code"] as const;
/** RFC 7636 §4.3: S256 only (`plain` is refused, as OAuth 2.1 §4.1.1 asks). */
export const CODE_CHALLENGE_METHODS = ["S256"] as const;
/** The token endpoint's grants (`grants.ts` holds one handler for each). */
export const GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials"] as const;
export type GrantType = (typeof GRANT_TYPES)[number];
/** Grants a client may register for (RFC 7591 §2); client_credentials is for agents with keys only. */
export const REGISTRABLE_GRANT_TYPES = ["authorization_code", "refresh_token"] as const;
/** Client authentication at the token and revocation endpoints. */
export const CLIENT_AUTH_METHODS = ["none", "private_key_jwt"] as const;
/** Methods a registration may ask for: the secret-based ones are answered with "none" (RFC 7591 §3.2.1). */
export const REGISTRABLE_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"] as const;
/** RFC 7523 §2.2 assertion type of `private_key_jwt`. */
export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** Algorithms of client assertions (RS256 and ES256 keys, `clients.ts`). */
export const ASSERTION_ALGORITHMS = ["RS256", "ES256"] as const;
export const APPLICATION_TYPES = ["native", "web"] as const;
/** The consent form's two buttons. */
export const DECISIONS = ["approve", "deny"] as const;

/** Parameters an authorization request may not carry (PAR / JAR request objects): `invalid_request`. */
export const REFUSED_AUTHORIZATION_PARAMS = ["request", "request_uri"] as const;
/** A client secret is never issued, so presenting one is `invalid_client`. */
export const REFUSED_CLIENT_AUTH_PARAMS = ["client_secret"] as const;

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

const Uuid = (description: string) => t.String({ format: "uuid", description });

/** The parameters of an authorization request (OAuth 2.1 §4.1.1, RFC 7636 §4.3, RFC 8707 §2). */
export const AuthorizationRequestQuery = t.Object({
  response_type: StringEnum(RESPONSE_TYPES, {
    description: "`code`; anything else is redirected back as `unsupported_response_type`.",
  }),
  client_id: t.String({
    maxLength: 2048,
    description:
      "A registered client id (`mcp_…`), or an https URL naming the client's Client ID Metadata Document. " +
      "An unknown client is never redirected to: `invalid_client`.",
  }),
  redirect_uri: t.String({
    format: "uri",
    description:
      "Exactly one of the client's registered redirect URIs (simple string comparison, port included). " +
      "Missing or unregistered: `invalid_request`, never redirected to.",
  }),
  code_challenge: t.String({
    pattern: "^[A-Za-z0-9_-]{43}$",
    description: "PKCE (RFC 7636 §4.2): BASE64URL(SHA-256(code_verifier)).",
  }),
  code_challenge_method: StringEnum(CODE_CHALLENGE_METHODS, {
    description: "`S256`; `plain` and a missing method are refused (`invalid_request`).",
  }),
  resource: t.String({
    format: "uri",
    description:
      "RFC 8707: the MCP server the token is for, a registered resource. Exactly one; " +
      "missing, unknown or repeated: `invalid_target`.",
  }),
  scope: t.Optional(
    t.String({
      maxLength: 2048,
      description:
        "Space-separated scopes, each declared by the resource (else `invalid_scope`). " +
        "Absent: every scope the resource declares.",
    }),
  ),
  state: t.Optional(t.String({ description: "Opaque; returned unchanged with the code or the error." })),
});
export type AuthorizationParam =
  | ParamName<typeof AuthorizationRequestQuery>
  | (typeof REFUSED_AUTHORIZATION_PARAMS)[number];

/** LIME's headless approval: the agent answers its authorization request's proof-of-work challenge. */
export const AgentApprovalBody = t.Object({
  authorization_request_id: Uuid("From the challenge `GET /authorize` answered the agent with."),
  pow_nonce: t.String({
    maxLength: 64,
    description: "The solved proof of work (same wire format as agent login).",
  }),
});
export type AgentApprovalParam = ParamName<typeof AgentApprovalBody>;

/** The sign-in form of the consent flow. */
export const LoginForm = t.Object({
  authorization_request_id: Uuid("The pending authorization request."),
  login_token: t.String({
    description: "The sign-in page's form token; must equal its `lime_oauth_login` cookie.",
  }),
  email: t.String({ format: "email" }),
  password: t.String(),
});
export type LoginParam = ParamName<typeof LoginForm>;

/** The consent page's address. */
export const ConsentQuery = t.Object({
  authorization_request_id: Uuid("The pending authorization request."),
});

/** The consent form. */
export const DecisionForm = t.Object({
  authorization_request_id: Uuid("The pending authorization request."),
  form_token: t.String({ description: "The consent page's form token, bound to this session and request." }),
  decision: StringEnum(DECISIONS),
});
export type DecisionParam = ParamName<typeof DecisionForm>;

/** Client authentication in a form body: `none` (client_id only) or `private_key_jwt` (RFC 7523 §2.2). */
const ClientAuthentication = {
  client_id: t.Optional(
    t.String({
      maxLength: 2048,
      description:
        "The client. Required for public clients (`none`); with `private_key_jwt` optional, and if sent " +
        "equal to the assertion's `sub` (the agent id).",
    }),
  ),
  client_assertion_type: t.Optional(
    StringEnum([JWT_BEARER_ASSERTION], { description: "`private_key_jwt` only." }),
  ),
  client_assertion: t.Optional(
    t.String({
      maxLength: 8192,
      description:
        "`private_key_jwt` only: a JWT signed (RS256 or ES256) with a key the agent registered, " +
        "`iss` = `sub` = the agent id, `aud` the issuer or the token endpoint, `exp` within 10 minutes, " +
        "a `jti` never used before.",
    }),
  ),
} satisfies TProperties;
export type ClientAuthParam = keyof typeof ClientAuthentication | (typeof REFUSED_CLIENT_AUTH_PARAMS)[number];

/** The token request (OAuth 2.1 §3.2.2; RFC 6749 §4.1.3, §4.4.2, §6; RFC 7636 §4.5; RFC 8707 §2.2). */
export const TokenRequestForm = t.Object(
  {
    grant_type: StringEnum(GRANT_TYPES, {
      description:
        "`authorization_code` (with PKCE), `refresh_token` (rotating), or `client_credentials` " +
        "(agents authenticating with `private_key_jwt` only).",
    }),
    code: t.Optional(t.String({ description: "authorization_code: required, the code from the redirect." })),
    code_verifier: t.Optional(
      t.String({
        pattern: "^[A-Za-z0-9._~-]{43,128}$",
        description: "authorization_code: required (PKCE, RFC 7636 §4.5).",
      }),
    ),
    redirect_uri: t.Optional(
      t.String({ description: "authorization_code: if sent, equal to the authorization request's." }),
    ),
    refresh_token: t.Optional(
      t.String({
        description:
          "refresh_token: required. Single use: the answer carries its successor, and presenting a used " +
          "one revokes the whole grant.",
      }),
    ),
    scope: t.Optional(
      t.String({
        maxLength: 2048,
        description:
          "refresh_token: narrows the grant's scopes (never widens them). client_credentials: scopes the " +
          "resource declares; absent, all of them.",
      }),
    ),
    resource: t.Optional(
      t.String({
        format: "uri",
        description:
          "RFC 8707, one value. client_credentials: required, a registered resource. Other grants: " +
          "optional, and if sent the grant's own resource.",
      }),
    ),
    ...ClientAuthentication,
  },
  {
    description:
      "Client secrets are never issued: `client_secret` or an Authorization header is `invalid_client`.",
  },
);
export type TokenParam = ParamName<typeof TokenRequestForm> | ClientAuthParam;

/** LIME's headless token request (JSON, with `X-Agent-Token`). */
export const LimeDomainTokenRequest = t.Object({
  domain: t.String({
    maxLength: 261,
    description:
      "The MCP server's host, optionally with a port (`tools.example`, `localhost:4212`); nothing else.",
  }),
});
export type LimeDomainTokenRequest = Static<typeof LimeDomainTokenRequest>;

/** RFC 7009 §2.1. */
export const RevocationForm = t.Object({
  token: t.String({
    description:
      "An access token or a refresh token issued to the calling client. A refresh token takes its whole " +
      "grant with it.",
  }),
  token_type_hint: t.Optional(
    t.String({ description: "Accepted and not needed: the server tells the two kinds apart." }),
  ),
  ...ClientAuthentication,
});
export type RevocationParam = ParamName<typeof RevocationForm> | ClientAuthParam;

/** RFC 7662 §2.1. */
export const IntrospectionForm = t.Object({
  token: t.String({ description: "An access token." }),
  token_type_hint: t.Optional(t.String({ description: "Accepted and not needed." })),
});
export type IntrospectionParam = ParamName<typeof IntrospectionForm>;

/** Client metadata of a registration request (RFC 7591 §2), as this server accepts it (`registration.ts`). */
export const ClientRegistrationRequest = t.Object(
  {
    redirect_uris: t.Array(
      t.String({
        format: "uri",
        maxLength: 2048,
        description: "https, or http on a loopback host; no fragment, no credentials.",
      }),
      { minItems: 1, maxItems: 10 },
    ),
    grant_types: t.Optional(
      t.Array(StringEnum(REGISTRABLE_GRANT_TYPES), {
        maxItems: 4,
        description: 'Must include authorization_code. Default `["authorization_code"]`.',
      }),
    ),
    response_types: t.Optional(
      t.Array(StringEnum(RESPONSE_TYPES), { maxItems: 2, description: 'Exactly `["code"]` (the default).' }),
    ),
    token_endpoint_auth_method: t.Optional(
      StringEnum(REGISTRABLE_AUTH_METHODS, {
        description:
          "Only public clients register: the secret-based methods are answered with `none` " +
          "(read the registered value back).",
      }),
    ),
    scope: t.Optional(t.String({ maxLength: 2048, description: "Space-separated scope tokens." })),
    client_name: t.Optional(
      t.String({
        minLength: 1,
        maxLength: 128,
        description: "Shown on the consent page, marked unverified.",
      }),
    ),
    client_uri: t.Optional(t.String({ format: "uri", description: "https." })),
    logo_uri: t.Optional(t.String({ format: "uri", description: "https." })),
    tos_uri: t.Optional(t.String({ format: "uri", description: "https." })),
    policy_uri: t.Optional(t.String({ format: "uri", description: "https." })),
    contacts: t.Optional(t.Array(t.String({ minLength: 1 }), { maxItems: 5 })),
    software_id: t.Optional(t.String({ minLength: 1, maxLength: 256 })),
    software_version: t.Optional(t.String({ minLength: 1, maxLength: 256 })),
    application_type: t.Optional(StringEnum(APPLICATION_TYPES)),
  },
  {
    additionalProperties: true,
    description:
      "At most 5 KB. Unknown members are ignored (RFC 7591 §2), `null` counts as absent; `jwks` and " +
      "`jwks_uri` are refused (`invalid_client_metadata`): registered clients are public clients.",
  },
);

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

/** RFC 6749 §5.1 (and OAuth 2.1 §3.2.3). */
export const TokenResponse = t.Object(
  {
    access_token: t.String({
      description: "An RS256 JWT access token (RFC 9068, `typ: at+jwt`), verifiable with the JWKS.",
    }),
    token_type: t.Literal("Bearer"),
    expires_in: described(JsonInteger({ minimum: 1 }), "Seconds."),
    scope: t.Optional(t.String({ description: "The granted scopes, space-separated; absent when none." })),
    refresh_token: t.Optional(
      t.String({
        description:
          "Opaque (`lime_rt_…`), single use. Issued by authorization_code (to clients registered for " +
          "refresh_token) and by refresh_token; never by client_credentials.",
      }),
    ),
  },
  { description: "RFC 6749 §5.1 access token response." },
);
export type TokenResponse = Static<typeof TokenResponse>;

/** LIME's headless answer: exactly these three members, as LIME's agent SDKs read them. */
export const LimeDomainTokenResponse = t.Object(
  {
    access_token: t.String({
      description: 'An RS256 JWT with `aud` `["mcp", "https://<domain>"]` and the claim `domain`.',
    }),
    token_type: t.Literal("Bearer"),
    expires_in: described(JsonInteger({ minimum: 1 }), "Seconds."),
  },
  { description: "LIME's headless token answer (JSON `{domain}` with X-Agent-Token)." },
);
export type LimeDomainTokenResponse = Static<typeof LimeDomainTokenResponse>;

/** RFC 6749 §5.2 error body, with the codes the endpoint can answer at one status. */
export function OAuthErrorBody(codes: readonly OAuthErrorCode[]) {
  return t.Object(
    {
      error: StringEnum(codes),
      error_description: t.String({ description: "For people; branch on `error`." }),
    },
    { description: `RFC 6749 §5.2 error: ${codes.join(", ")}` },
  );
}

/** Client information response (RFC 7591 §3.2.1): the registered metadata, as stored. */
export const ClientInformationResponse = t.Object(
  {
    client_id: t.String({ description: "`mcp_<uuid>`; no client secret is issued." }),
    client_id_issued_at: described(JsonInteger(), "Seconds since the epoch."),
    redirect_uris: t.Array(t.String({ format: "uri" })),
    grant_types: t.Array(StringEnum(REGISTRABLE_GRANT_TYPES)),
    response_types: t.Array(StringEnum(RESPONSE_TYPES)),
    token_endpoint_auth_method: t.Literal("none", { description: "Registered clients are public clients." }),
    client_name: t.Optional(t.String()),
    scope: t.Optional(t.String()),
    client_uri: t.Optional(t.String({ format: "uri" })),
    logo_uri: t.Optional(t.String({ format: "uri" })),
    tos_uri: t.Optional(t.String({ format: "uri" })),
    policy_uri: t.Optional(t.String({ format: "uri" })),
    software_id: t.Optional(t.String()),
    software_version: t.Optional(t.String()),
    application_type: t.Optional(StringEnum(APPLICATION_TYPES)),
    contacts: t.Optional(t.Array(t.String())),
  },
  { description: "RFC 7591 §3.2.1 client information response." },
);
export type ClientInformationResponse = Static<typeof ClientInformationResponse>;
/** The metadata members of the client information response, as `presentClientMetadata` writes them. */
export type ClientMetadataView = Omit<ClientInformationResponse, "client_id" | "client_id_issued_at">;

const ActiveToken = t.Object(
  {
    active: t.Literal(true),
    token_type: t.Literal("Bearer"),
    iss: t.String({ format: "uri" }),
    sub: t.String({ description: "The agent id, or the owner's user id when a person approved." }),
    aud: t.Union([t.String(), t.Array(t.String())]),
    client_id: t.String(),
    scope: t.Optional(t.String({ description: "Space-separated; absent when none." })),
    iat: JsonInteger(),
    exp: JsonInteger(),
    jti: t.String(),
  },
  { description: "An active token for the calling resource." },
);

/** RFC 7662 §2.2: an active token's claims, or only `active: false` (unknown, revoked, expired, another audience). */
export const IntrospectionResponse = t.Union([ActiveToken, t.Object({ active: t.Literal(false) })], {
  description: "RFC 7662 §2.2 introspection response.",
});
export type IntrospectionResponse = Static<typeof IntrospectionResponse>;

/** RFC 7009 §2.2: 200 whether or not the token was known. */
export const RevocationResponse = t.Object({}, { description: "Always `{}` (RFC 7009 §2.2)." });

const StringList = (description?: string) => t.Array(t.String(), description ? { description } : {});
const Endpoint = (description: string) => t.String({ format: "uri", description });

/** Authorization Server Metadata (RFC 8414 §2; `client_id_metadata_document_supported` from the CIMD draft). */
export const AuthorizationServerMetadata = t.Object(
  {
    issuer: t.String({ format: "uri", description: "`PUBLIC_URL`, the `iss` of every token and passport." }),
    authorization_endpoint: Endpoint("OAuth 2.1 §3.1"),
    token_endpoint: Endpoint("OAuth 2.1 §3.2"),
    jwks_uri: Endpoint("The key set of access tokens (and passports)."),
    registration_endpoint: Endpoint("RFC 7591"),
    revocation_endpoint: Endpoint("RFC 7009"),
    introspection_endpoint: Endpoint("RFC 7662"),
    response_types_supported: t.Array(StringEnum(RESPONSE_TYPES)),
    response_modes_supported: t.Array(StringEnum(["query"])),
    grant_types_supported: t.Array(StringEnum(GRANT_TYPES)),
    token_endpoint_auth_methods_supported: t.Array(StringEnum(CLIENT_AUTH_METHODS)),
    token_endpoint_auth_signing_alg_values_supported: t.Array(StringEnum(ASSERTION_ALGORITHMS)),
    revocation_endpoint_auth_methods_supported: t.Array(StringEnum(CLIENT_AUTH_METHODS)),
    revocation_endpoint_auth_signing_alg_values_supported: t.Array(StringEnum(ASSERTION_ALGORITHMS)),
    code_challenge_methods_supported: t.Array(StringEnum(CODE_CHALLENGE_METHODS)),
    authorization_response_iss_parameter_supported: t.Literal(true, { description: "RFC 9207" }),
    client_id_metadata_document_supported: t.Boolean({ description: "False when `OAUTH_CIMD` is off." }),
    access_token_signing_alg_values_supported: StringList("RFC 9068 access tokens: RS256."),
  },
  { description: "RFC 8414 §2 Authorization Server Metadata." },
);
export type AuthorizationServerMetadata = Static<typeof AuthorizationServerMetadata>;

/** At LIME's path the same members, plus LIME's envelope beside them (`lime-mcp-server-sdk` unwraps it). */
export const LimeCompatibleMetadata = t.Object(
  {
    ...AuthorizationServerMetadata.properties,
    ok: t.Literal(true),
    data: AuthorizationServerMetadata,
  },
  { description: "RFC 8414 members at the top level, and the same document under `data` (LIME's envelope)." },
);
export type LimeCompatibleMetadata = Static<typeof LimeCompatibleMetadata>;

/** RFC 6749 §4.1.2 (with RFC 9207 `iss`): the query the client's redirect URI receives on approval. */
export const AuthorizationResponseQuery = t.Object({
  code: t.String({ description: "Single use, valid for `OAUTH_CODE_TTL_SECONDS` (60 s)." }),
  state: t.Optional(t.String({ description: "The request's `state`, when it had one." })),
  iss: t.String({ format: "uri", description: "RFC 9207: the issuer; check it." }),
});

/** RFC 6749 §4.1.2.1 (with RFC 9207 `iss`): the query the client's redirect URI receives on failure. */
export function AuthorizationErrorQuery(errors: readonly OAuthErrorCode[]) {
  return t.Object({
    error: StringEnum(errors),
    error_description: t.String(),
    state: t.Optional(t.String({ description: "The request's `state`, when it had one." })),
    iss: t.String({ format: "uri", description: "RFC 9207: the issuer." }),
  });
}
