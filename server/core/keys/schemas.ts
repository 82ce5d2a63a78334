/** The JWKS document and the key-rotation route's body and answer: one source for validation, types and the OpenAPI description. */

import { t } from "elysia";

/** One published key: exactly these members (core/keys/jwks.ts `createJwks`), never a private one. */
export const PublicJwkModel = t.Object(
  {
    kty: t.Literal("RSA"),
    n: t.String({ description: "The modulus, base64url (RFC 7518 §6.3.1.1); 2048 bits." }),
    e: t.String({ description: "The public exponent, base64url." }),
    kid: t.String({
      description: "The RFC 7638 JWK thumbprint (SHA-256, base64url); a passport's header names it.",
    }),
    alg: t.Literal("RS256"),
    use: t.Literal("sig"),
  },
  { additionalProperties: false },
);

const Keys = t.Array(PublicJwkModel, {
  description:
    "The CURRENT key, then the NEXT one (published before it signs), then retired keys still verifying.",
});

/**
 * The JWK Set (RFC 7517 §5) as served: `keys` at the top level for
 * RFC 7517 readers (LIME's site SDK), and the LIME envelope members `ok` and
 * `data.keys` for LIME's MCP-server SDK. RFC 7517 §5 lets a set carry extra
 * members; readers of either kind ignore the other's.
 */
export const JwksDocument = t.Object(
  {
    keys: Keys,
    ok: t.Literal(true),
    data: t.Object({ keys: Keys }, { description: "The same keys, for readers of the LIME envelope." }),
  },
  { description: "A JSON Web Key Set (RFC 7517 §5), with the LIME envelope members beside `keys`." },
);

/** `{"revoke_current": true}` for a suspected compromise; no body for a plain rotation. */
export const RotateKeysBody = t.Optional(
  t.Object({
    revoke_current: t.Optional(
      t.Boolean({
        description:
          "Also drop the retired key from the JWKS at once: the passports it signed stop verifying once verifiers refresh.",
      }),
    ),
  }),
);

export const KeyRotationView = t.Object({
  retired_kid: t.String({
    description: "The key that signed until now (RETIRED; still published unless revoked).",
  }),
  current_kid: t.String({ description: "The key that signs from now on (was NEXT)." }),
  next_kid: t.String({ description: "The fresh NEXT key, published now, signing at the next rotation." }),
});
