/**
 * The JWKS at both paths LIME's clients read. The site SDK reads `keys` at
 * the top level, the MCP-server SDK reads `data.keys` inside the envelope;
 * RFC 7517 §5 lets a JWKS carry extra members, so one document serves both.
 * Cacheable with a max-age shorter than the time a NEXT key is published
 * before it signs, with a strong ETag for cheap revalidation (304).
 */

import { Elysia } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireAdmin } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import {
  ADMIN,
  ADMIN_FAILURES,
  answers,
  failureResponses,
  INPUT_FAILURES,
  PUBLIC,
} from "../../http/contract.ts";
import { ok } from "../../http/envelope.ts";
import { matchesIfNoneMatch } from "../../http/etag.ts";
import { JwksDocument, KeyRotationView, RotateKeysBody } from "./schemas.ts";
import type { PublishedJwks } from "./service.ts";

/** The JWKS answer's parts, built once per key set (the ring publishes a new object at each change). */
interface PreparedJwks {
  published: PublishedJwks;
  etag: string;
  body: string;
  okHeaders: Record<string, string>;
  notModifiedHeaders: Record<string, string>;
}

function prepareJwks(published: PublishedJwks, maxAgeSeconds: number): PreparedJwks {
  const { document, etag } = published;
  const cacheHeaders = {
    "cache-control": `public, max-age=${maxAgeSeconds}`,
    etag,
    "x-content-type-options": "nosniff",
  };
  return {
    published,
    etag,
    body: JSON.stringify({ keys: document.keys, ok: true, data: { keys: document.keys } }),
    okHeaders: { ...cacheHeaders, "content-type": "application/json; charset=utf-8" },
    notModifiedHeaders: cacheHeaders,
  };
}

export function keyRoutes(ctx: AppContext) {
  // A document that changes only at rotation: its text, ETag and headers are prepared once per key set
  // (docs/decisions/server-cpu-profile.md). The 200 is the prepared text with the prepared headers laid
  // on Elysia's own (`set.headers`): Elysia builds one `Response` from them, where a returned `Response`
  // is copied once more to merge the headers the global hooks set.
  let prepared: PreparedJwks | null = null;
  const serveJwks = ({ request, set }: { request: Request; set: { headers: Record<string, unknown> } }) => {
    const published = ctx.keyRing.jwks();
    if (prepared?.published !== published) {
      prepared = prepareJwks(published, ctx.config.lifetimes.jwksMaxAgeSeconds);
    }
    const ifNoneMatch = request.headers.get("if-none-match");
    if (ifNoneMatch !== null && matchesIfNoneMatch(ifNoneMatch, prepared.etag))
      return new Response(null, { status: 304, headers: prepared.notModifiedHeaders });
    Object.assign(set.headers, prepared.okHeaders);
    return prepared.body;
  };
  // The handler answers prepared text and headers (the ETag among them), which Elysia does not check
  // against a model: the answers are described here, from the same document model.
  const cacheHeaders = {
    "Cache-Control": {
      description: "`public, max-age=JWKS_MAX_AGE_SECONDS` (300).",
      schema: { type: "string" },
    },
    ETag: { description: "A strong validator over the document.", schema: { type: "string" } },
  } as const;
  const jwksDetail = (operationId: string, description: string) => ({
    summary: "JSON Web Key Set (RFC 7517) with the LIME envelope members",
    description,
    operationId,
    tags: ["core"],
    security: PUBLIC,
    parameters: [
      {
        name: "if-none-match",
        in: "header",
        required: false,
        description:
          "An ETag from an earlier answer (or a list of them, or `*`): 304 when the set is unchanged.",
        schema: { type: "string" },
      } as const,
    ],
    responses: {
      200: {
        description:
          "The key set: RFC 7517 `keys` at the top level, and the same keys in the LIME envelope members `ok` and `data.keys`.",
        headers: cacheHeaders,
        content: { "application/json": { schema: JwksDocument } },
      },
      304: { description: "Not modified: the set matches `If-None-Match`. No body.", headers: cacheHeaders },
      ...failureResponses([]),
    },
  });
  const detail = jwksDetail(
    "getJwks",
    "The keys passports are verified with. Each key is exactly `{kty, n, e, kid, alg, use}`; verifiers cache it as `Cache-Control` says and revalidate with `If-None-Match`.",
  );
  const coreDetail = jwksDetail("getCoreJwks", "The same document as `GET /.well-known/jwks.json`.");

  return new Elysia()
    .get("/.well-known/jwks.json", serveJwks, { detail })
    .get("/api/v1/core/.well-known/jwks.json", serveJwks, { detail: coreDetail })
    .post(
      "/api/v1/admin/keys/rotate",
      async ({ request, body }) => {
        requireAdmin(ctx, request);
        const result = await ctx.keyRing.rotate("on_demand", clientAddress(request, ctx.config.trustProxy), {
          revokeCurrent: body?.revoke_current === true,
        });
        return ok({
          retired_kid: result.retiredKid,
          current_kid: result.currentKid,
          next_kid: result.nextKid,
        });
      },
      {
        body: RotateKeysBody,
        response: answers(200, KeyRotationView, [...INPUT_FAILURES, ...ADMIN_FAILURES]),
        detail: {
          summary:
            "Rotate the signing keys now (operator); revoke_current drops the old key from the JWKS at once",
          description:
            "CURRENT → RETIRED, NEXT → CURRENT, a fresh NEXT. Answers 404 NOT_FOUND while `ADMIN_TOKEN` is not configured.",
          operationId: "rotateSigningKeys",
          tags: ["admin"],
          security: ADMIN,
        },
      },
    );
}
