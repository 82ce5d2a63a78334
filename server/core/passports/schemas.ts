/** The body and answer of `POST /api/v1/core/passports`: one source for validation, types and the OpenAPI description. */

import { t } from "elysia";
import { IsoTime } from "../../http/schema-types.ts";

/** LIME's agent SDK sends `{}`; `audience` is ours. */
export const PassportBody = t.Optional(
  t.Object({
    audience: t.Optional(
      t.String({
        minLength: 1,
        maxLength: 256,
        pattern: "^[\\x21-\\x7e]+$",
        description:
          "The passport's `aud`; default `lime-passport`. Names starting with `lime-` other than that are AUDIENCE_RESERVED.",
      }),
    ),
  }),
);

export const PassportHeaders = t.Object({
  "x-agent-token": t.Optional(t.String({ description: "The agent's token (`lime_agent_…`)." })),
  dpop: t.Optional(
    t.String({
      description:
        "Optional: a DPoP-format key proof (RFC 9449 §4) made with one of the agent's active keys, `htm` POST, `htu` `<PUBLIC_URL>/api/v1/core/passports`. With it the passport carries `cnf: {jkt}`, the key's thumbprint; a bad proof is refused, never ignored.",
    }),
  ),
});

/** A self-service passport as issued (docs/passport-claims.md). */
export const IssuedPassportView = t.Object({
  passport: t.String({
    description: "The RS256 JWT (header `typ: passport+jwt`, `kid`), verifiable against the JWKS.",
  }),
  token_type: t.Literal("passport+jwt"),
  audience: t.String({ description: "Its `aud` claim." }),
  jti: t.String({ format: "uuid", description: "Its `jti` claim." }),
  issued_at: IsoTime,
  expires_at: IsoTime,
});
