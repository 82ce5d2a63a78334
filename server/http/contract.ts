/**
 * The API contract, written once as Elysia `t` models: a route declares the
 * answer it gives and the error codes it can fail with, Elysia checks each
 * answer against the model (and drops fields the model does not name), and
 * the OpenAPI description at `/openapi/json` is generated from the same
 * models. So the description cannot say one thing while the server does
 * another (docs/decisions/openapi-contract.md).
 *
 * @example
 * .get("/api/v1/core/agents", handler, {
 *   response: answers(200, t.Array(AgentView), ["SESSION_INVALID", "AUTHENTICATION_REQUIRED"]),
 *   detail: { summary: "List your agents", security: OWNER },
 * })
 */
import { type TSchema, t } from "elysia";
import type { DomainErrorCode } from "../errors.ts";
import { STATUS_BY_CODE } from "./error-boundary.ts";

/** `{"ok": true, "data": …}`: every JSON success of the LIME API. */
export function Envelope<T extends TSchema>(data: T) {
  return t.Object({ ok: t.Literal(true), data });
}

/** Values an error's `detail` may hold (server/errors.ts `ErrorDetail`). */
const ErrorDetailValue = t.Union([t.String(), t.Number(), t.Boolean(), t.Null()]);

/** `{"ok": false, "error": {code, message, detail}}` with the codes this status can carry. */
export function ErrorEnvelope(codes: readonly DomainErrorCode[]) {
  const code = codes.length === 1 ? t.Literal(codes[0]!) : t.Union(codes.map((value) => t.Literal(value)));
  return t.Object(
    {
      ok: t.Literal(false),
      error: t.Object({
        code,
        message: t.String({ description: "For people; never carries a secret. Branch on `code`." }),
        detail: t.Record(t.String(), ErrorDetailValue, {
          description: "Machine-readable context, e.g. `{location, field, rule}` for VALIDATION_FAILED.",
        }),
      }),
    },
    { description: `Error codes: ${codes.join(", ")}` },
  );
}

/**
 * Failures any route can answer, whatever it does: the transport's bounds
 * (a declared body over the limit is refused before routing, GET included),
 * a database outage, and a bug. Routes add their own codes.
 */
export const TRANSPORT_FAILURES: readonly DomainErrorCode[] = [
  "MALFORMED_REQUEST",
  "HEADERS_TOO_LARGE",
  "REQUEST_TIMEOUT",
  "PAYLOAD_TOO_LARGE",
  "INTERNAL_ERROR",
  "SERVICE_UNAVAILABLE",
];

/** Failures of a route that reads a JSON body or validates parameters. */
export const INPUT_FAILURES: readonly DomainErrorCode[] = [
  "VALIDATION_FAILED",
  "MALFORMED_BODY",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
];

/** What `requireOwner` refuses on a read: no session, or a dead one. */
export const OWNER_READ_FAILURES: readonly DomainErrorCode[] = ["AUTHENTICATION_REQUIRED", "SESSION_INVALID"];
/** On a write a cookie session also needs its CSRF token. */
export const OWNER_WRITE_FAILURES: readonly DomainErrorCode[] = [
  ...OWNER_READ_FAILURES,
  "CSRF_TOKEN_MISSING",
  "CSRF_TOKEN_INVALID",
];
/** What `requireAdmin` refuses; NOT_FOUND while no ADMIN_TOKEN is configured. */
export const ADMIN_FAILURES: readonly DomainErrorCode[] = [
  "NOT_FOUND",
  "ADMIN_TOKEN_MISSING",
  "ADMIN_TOKEN_INVALID",
];
/** What `authenticateSite` refuses (the `X-Site-Token` check). */
export const SITE_TOKEN_FAILURES: readonly DomainErrorCode[] = [
  "SITE_TOKEN_MISSING",
  "SITE_TOKEN_INVALID",
  "SITE_SUSPENDED",
];
/** What `authenticateAgent` refuses (the `X-Agent-Token` check). */
export const AGENT_TOKEN_FAILURES: readonly DomainErrorCode[] = [
  "MISSING_AGENT_TOKEN",
  "INVALID_AGENT_TOKEN",
  "AGENT_REVOKED",
];

/** Error envelopes keyed by status, each listing the codes the error boundary answers with it. */
export function failures(
  codes: readonly DomainErrorCode[],
): Record<number, ReturnType<typeof ErrorEnvelope>> {
  const byStatus = new Map<number, DomainErrorCode[]>();
  for (const code of new Set([...codes, ...TRANSPORT_FAILURES])) {
    const status = STATUS_BY_CODE[code];
    const list = byStatus.get(status) ?? [];
    list.push(code);
    byStatus.set(status, list);
  }
  const out: Record<number, ReturnType<typeof ErrorEnvelope>> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) out[status] = ErrorEnvelope(list);
  return out;
}

/**
 * A route's whole `response` map: its success as an envelope, and its error
 * envelopes. Pass `raw: true` for answers that are not enveloped (JWKS,
 * OAuth metadata, RFC-shaped OAuth bodies).
 */
export function answers<T extends TSchema>(
  status: number,
  data: T,
  codes: readonly DomainErrorCode[],
  options: { raw?: boolean } = {},
) {
  return { [status]: options.raw ? data : Envelope(data), ...failures(codes) } as Record<number, TSchema>;
}

/**
 * The same error envelopes as OpenAPI response objects, for routes whose
 * success is not a JSON model Elysia can check (event streams, redirects,
 * pages, raw `Response`s): pass them in `detail.responses` beside the
 * hand-described success.
 */
export function failureResponses(codes: readonly DomainErrorCode[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(failures(codes))) {
    out[status] = {
      description: schema.description ?? "Error",
      content: { "application/json": { schema } },
    };
  }
  return out;
}

/** OpenAPI security requirements (the schemes are declared in `SECURITY_SCHEMES`). */
type SecurityRequirements = Array<Record<string, string[]>>;
export const SITE_TOKEN: SecurityRequirements = [{ siteToken: [] }];
export const AGENT_TOKEN: SecurityRequirements = [{ agentToken: [] }];
/** A Bearer session token, or the portal's session cookie (with `X-CSRF-Token` on writes). */
export const OWNER_SESSION: SecurityRequirements = [{ ownerBearer: [] }, { ownerCookie: [] }];
export const ADMIN: SecurityRequirements = [{ adminToken: [] }];
export const PUBLIC: SecurityRequirements = [];

export const SECURITY_SCHEMES = {
  siteToken: {
    type: "apiKey",
    in: "header",
    name: "X-Site-Token",
    description: "A site's token (`st_…`), shown once when the site is registered or its token rotated.",
  },
  agentToken: {
    type: "apiKey",
    in: "header",
    name: "X-Agent-Token",
    description: "An agent's token (`at_…`), shown once when the agent is registered or its token rotated.",
  },
  ownerBearer: {
    type: "http",
    scheme: "bearer",
    description: "An owner's session token from `POST /api/v1/foundation/users/login`.",
  },
  ownerCookie: {
    type: "apiKey",
    in: "cookie",
    name: "lime_session",
    description:
      "The portal's session cookie. Writes also need the `X-CSRF-Token` header equal to the `lime_csrf` cookie.",
  },
  adminToken: {
    type: "http",
    scheme: "bearer",
    description: "The operator's `ADMIN_TOKEN`. Without it configured the admin API answers 404.",
  },
  resourceServerToken: {
    type: "http",
    scheme: "bearer",
    description:
      "A registered MCP server's `introspection_token` (`lime_rs_…`), shown once when the resource is registered.",
  },
} as const;
