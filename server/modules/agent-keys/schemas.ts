/** The bodies, parameters and answers of the agent-key routes and the key directory: one source for validation, types and the OpenAPI description. */

import { t } from "elysia";
import { IsoTime, Nullable } from "../../http/schema-types.ts";
import { MAX_DIRECTORY_MEMBER_BYTES } from "./directory.ts";

/** An RFC 7638 SHA-256 thumbprint, base64url: 43 characters. */
const Kid = t.String({
  pattern: "^[A-Za-z0-9_-]{43}$",
  description: "The key's RFC 7638 SHA-256 JWK thumbprint, base64url (43 characters).",
});

export const AgentKeyParams = t.Object({ kid: Kid });
export const OwnerAgentParams = t.Object({ agent_id: t.String({ format: "uuid" }) });
export const OwnerAgentKeyParams = t.Object({ agent_id: t.String({ format: "uuid" }), kid: Kid });
export const DirectoryParams = t.Object({ agent_id: t.String({ format: "uuid" }) });

const dpopHeader = (description: string) => t.Optional(t.String({ description }));
const agentToken = () => t.Optional(t.String({ description: "The agent's token (`lime_agent_…`)." }));

export const RegisterAgentKeyHeaders = t.Object({
  "x-agent-token": agentToken(),
  dpop: dpopHeader(
    "Required: a DPoP-format key proof (RFC 9449 §4) made with the key to register: `typ` dpop+jwt, `alg` EdDSA or ES256, `jwk` the public key; claims `jti`, `htm` POST, `htu` `<PUBLIC_URL>/api/v1/core/agents/me/keys`, `iat` within 60 s. Single use.",
  ),
});
export const AgentTokenHeaders = t.Object({ "x-agent-token": agentToken() });

export const RegisterAgentKeyBody = t.Optional(
  t.Object({
    label: t.Optional(
      Nullable(
        t.String({
          maxLength: 64,
          pattern: "^[^\\u0000-\\u001f\\u007f]*$",
          description: "A name for people (portal, lists); no control characters.",
        }),
      ),
    ),
  }),
);

export const DirectorySignatureBody = t.Object({
  signature_input: t.String({
    minLength: 1,
    maxLength: MAX_DIRECTORY_MEMBER_BYTES,
    description:
      'One `Signature-Input` member, any label: `("@authority";req);created=…;expires=…;keyid="<kid>";alg="…";tag="http-message-signatures-directory"`.',
  }),
  signature: t.String({
    minLength: 1,
    maxLength: MAX_DIRECTORY_MEMBER_BYTES,
    description: "The matching `Signature` member: `<label>=:<base64>:`.",
  }),
});

export const AgentKeyAlgorithm = t.Union([t.Literal("ed25519"), t.Literal("ecdsa-p256-sha256")], {
  description: "The RFC 9421 algorithm the key signs with.",
});

export const AgentPublicJwk = t.Object(
  {
    kty: t.Union([t.Literal("OKP"), t.Literal("EC")]),
    crv: t.Union([t.Literal("Ed25519"), t.Literal("P-256")]),
    x: t.String(),
    y: t.Optional(t.String({ description: "EC keys only." })),
  },
  { description: "The public key (RFC 7517): Ed25519 (RFC 8037) or P-256." },
);

export const AgentKeyView = t.Object({
  kid: t.String({
    description: "The key's RFC 7638 thumbprint: `keyid` in its signatures, `cnf.jkt` in passports.",
  }),
  alg: AgentKeyAlgorithm,
  jwk: AgentPublicJwk,
  label: Nullable(t.String()),
  status: t.Union([t.Literal("ACTIVE"), t.Literal("REVOKED")], {
    description: "REVOKED once the key, or its agent, was revoked.",
  }),
  created_at: IsoTime,
  revoked_at: Nullable(IsoTime),
  directory_signature_expires_at: Nullable(
    t.String({
      format: "date-time",
      description:
        "When the uploaded directory signature expires (upload a new one before); null without one.",
    }),
  ),
});

export const AgentKeyList = t.Object({ keys: t.Array(AgentKeyView) });

/** One key of a directory (draft-meunier-webbotauth-httpsig-directory, RFC 7517 §4). */
export const DirectoryKey = t.Object({
  kty: t.Union([t.Literal("OKP"), t.Literal("EC")]),
  crv: t.Union([t.Literal("Ed25519"), t.Literal("P-256")]),
  x: t.String(),
  y: t.Optional(t.String()),
  kid: t.String({ description: "The RFC 7638 thumbprint: `keyid` in the agent's signatures." }),
  alg: t.Union([t.Literal("EdDSA"), t.Literal("ES256")]),
  use: t.Literal("sig"),
});

export const DirectoryDocument = t.Object(
  { keys: t.Array(DirectoryKey) },
  { description: "The agent's active public keys, a JWKS (RFC 7517 §5)." },
);
