/**
 * `GET /api/v1/core/revocations`: the signed revocation list, public like
 * the JWKS it verifies against (every relying party of a self-service
 * passport needs it, registered site or not). It names only opaque agent and
 * binding ids that passports already carry. Cacheable for a few seconds,
 * with a strong ETag for cheap revalidation (304).
 */

import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { failureResponses, PUBLIC } from "../../http/contract.ts";
import { IF_NONE_MATCH_PARAMETER, matchesIfNoneMatch } from "../../http/etag.ts";
import { LIST_MAX_AGE_SECONDS } from "./list.ts";
import { RevocationListDocument } from "./schemas.ts";

export function revocationRoutes(ctx: AppContext) {
  const cacheHeaders = {
    "Cache-Control": {
      description: `\`public, max-age=${LIST_MAX_AGE_SECONDS}\`.`,
      schema: { type: "string" },
    },
    ETag: { description: "A strong validator over the document.", schema: { type: "string" } },
  } as const;
  return new Elysia().get(
    "/api/v1/core/revocations",
    async ({ request }) => {
      const { body, etag } = await ctx.revocationList.current();
      const headers = {
        "cache-control": `public, max-age=${LIST_MAX_AGE_SECONDS}`,
        etag,
        "x-content-type-options": "nosniff",
      };
      if (matchesIfNoneMatch(request.headers.get("if-none-match"), etag)) {
        return new Response(null, { status: 304, headers });
      }
      return new Response(body, {
        status: 200,
        headers: { ...headers, "content-type": "application/json; charset=utf-8" },
      });
    },
    {
      // The handler answers prepared bytes (they carry the ETag); the answers are described here.
      detail: {
        summary:
          "The signed revocation list: revoked agents, rotated agent tokens, revoked bindings and agent keys",
        description:
          "What sites and SDKs poll to refuse passports revoked before their `exp` (docs/revocation.md). " +
          "Entries stay until every passport they cover has expired, so the list is bounded by the " +
          "revocations of the longest passport lifetime. Sites with an event stream also get each " +
          "entry at once as a `revoked` event.",
        operationId: "getRevocationList",
        tags: ["core"],
        security: PUBLIC,
        parameters: [IF_NONE_MATCH_PARAMETER],
        responses: {
          200: {
            description: "The list.",
            headers: cacheHeaders,
            content: { "application/json": { schema: RevocationListDocument } },
          },
          304: {
            description: "Not modified: the list matches `If-None-Match`. No body.",
            headers: cacheHeaders,
          },
          ...failureResponses([]),
        },
      },
    },
  );
}
