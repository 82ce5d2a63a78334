/**
 * The JWKS at both paths LIME's clients read. The site SDK reads `keys` at
 * the top level, the MCP-server SDK reads `data.keys` inside the envelope;
 * RFC 7517 §5 lets a JWKS carry extra members, so one document serves both.
 * Cacheable with a max-age shorter than the time a NEXT key is published
 * before it signs, with a strong ETag for cheap revalidation (304).
 */

import { Elysia, t } from "elysia";
import type { AppContext } from "../../context.ts";
import { requireAdmin } from "../../http/auth.ts";
import { clientAddress } from "../../http/client-address.ts";
import { ok } from "../../http/envelope.ts";

/** RFC 9110 §13.1.2: `If-None-Match` is a list of entity tags or `*`; weak tags compare weakly. */
function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  return ifNoneMatch
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag);
}

export function keyRoutes(ctx: AppContext) {
  const serveJwks = ({ request }: { request: Request }) => {
    const { document, etag } = ctx.keyRing.jwks();
    const headers = {
      "cache-control": `public, max-age=${ctx.config.lifetimes.jwksMaxAgeSeconds}`,
      etag,
      "x-content-type-options": "nosniff",
    };
    if (matches(request.headers.get("if-none-match"), etag))
      return new Response(null, { status: 304, headers });
    const body = JSON.stringify({ keys: document.keys, ok: true, data: { keys: document.keys } });
    return new Response(body, {
      status: 200,
      headers: { ...headers, "content-type": "application/json; charset=utf-8" },
    });
  };
  const detail = { summary: "JSON Web Key Set (RFC 7517) with the LIME envelope members", tags: ["core"] };

  return new Elysia()
    .get("/.well-known/jwks.json", serveJwks, { detail })
    .get("/api/v1/core/.well-known/jwks.json", serveJwks, { detail })
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
        body: t.Optional(t.Object({ revoke_current: t.Optional(t.Boolean()) })),
        detail: {
          summary:
            "Rotate the signing keys now (operator); revoke_current drops the old key from the JWKS at once",
          tags: ["admin"],
        },
      },
    );
}
