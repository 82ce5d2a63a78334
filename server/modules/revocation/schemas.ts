/** The revocation list document: one source for the OpenAPI description (the route answers prepared bytes). */

import { t } from "elysia";

export const RevocationListDocument = t.Object(
  {
    ok: t.Literal(true),
    data: t.Object({
      list_jwt: t.String({
        description:
          'An RS256 JWT signed with the passport keys (verify it with the JWKS): header `typ` "revocation-list+jwt", claims `iss`, `sub` "passport-revocations", `aud` "lime-revocation-list", `iat`, `exp` (15 min later), `jti`, and `entries_sha256`, the base64url SHA-256 of `entries_json`\'s UTF-8 bytes.',
      }),
      entries_json: t.String({
        description:
          'The entries as JSON text, an array of `{"kind": "agent", "agent_id", "at"}` (every passport of the agent refused), `{"kind": "agent_token", "agent_id", "at"}` (its passports with `iat < at` refused), `{"kind": "binding", "binding_id", "at"}` (that binding\'s passports refused) and `{"kind": "agent_key", "agent_id", "jkt", "at"}` (passports bound to that key, `cnf.jkt`, refused); `at` is a NumericDate. Skip kinds you do not know. An entry stays until every passport it covers has expired.',
      }),
    }),
  },
  { description: "The signed revocation list (docs/revocation.md)." },
);
