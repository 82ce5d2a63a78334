/**
 * The OAuth endpoints' answers as OpenAPI objects, for `detail` (most of
 * them answer with prepared `Response`s, which Elysia does not check, so
 * they are described here rather than by a `response` map): RFC 6749 error
 * bodies grouped by the status `errors.ts` gives each code, with the headers
 * the RFCs require; HTML pages; redirects with the query their `Location`
 * carries; form bodies and query parameters from the models of
 * `contract.ts`; and the LIME envelope for the module's own error codes.
 */

import type { TObject } from "@sinclair/typebox";
import type { DocumentDecoration, TSchema } from "elysia";
import type { DomainErrorCode } from "../../errors.ts";
import { Envelope, ErrorEnvelope, TRANSPORT_FAILURES } from "../../http/contract.ts";
import { STATUS_BY_CODE } from "../../http/error-boundary.ts";
import { OAuthErrorBody } from "./contract.ts";
import {
  ENVELOPE_STATUS,
  OAUTH_CHALLENGES,
  OAUTH_ERROR_STATUS,
  type OAuthEnvelopeCode,
  type OAuthErrorCode,
} from "./errors.ts";

type Json = Record<string, unknown>;

interface HeaderObject {
  description: string;
  schema: Json;
  [extension: `x-${string}`]: unknown;
}

interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema: unknown }>;
}

/** Answers by status, as the builders below make them; `describe` hands them to `detail.responses`. */
export type Responses = Record<string, ResponseObject>;

/**
 * The operation's `responses`, as Elysia's `detail` types them. The schemas
 * are `t` models, which are JSON Schema objects; `openapi-types` cannot
 * know that, hence the one conversion here.
 */
export function describe(...parts: Responses[]): NonNullable<DocumentDecoration["responses"]> {
  return mergeResponses(...parts) as unknown as NonNullable<DocumentDecoration["responses"]>;
}

const constant = (value: string): Json => ({ type: "string", const: value });

/** RFC 6749 §5.1: token answers and errors are never cached. */
const NO_STORE: Record<string, HeaderObject> = {
  "Cache-Control": { description: "Never cached (RFC 6749 §5.1).", schema: constant("no-store") },
  Pragma: { description: "Never cached (RFC 6749 §5.1).", schema: constant("no-cache") },
};

const RETRY_AFTER: Record<string, HeaderObject> = {
  "Retry-After": { description: "Seconds to wait.", schema: { type: "integer", minimum: 1 } },
};

/** Endpoints browser clients call cross-origin (no cookie is read on them). */
export const CORS_HEADERS: Record<string, HeaderObject> = {
  "Access-Control-Allow-Origin": {
    description:
      "`*` on the endpoint's own answers: browser-based MCP clients call it cross-origin; it reads no cookie.",
    schema: constant("*"),
  },
};

/** What every page of the browser flow carries (consent-page.ts, server/web/layout.ts). */
const PAGE_HEADERS: Record<string, HeaderObject> = {
  "Content-Security-Policy": {
    description: "Strict; `form-action` names the issuer's origin (and the client's, on the consent page).",
    schema: { type: "string" },
  },
  "X-Frame-Options": { description: "Never framed.", schema: constant("DENY") },
  "Cache-Control": { description: "Never cached.", schema: constant("no-store") },
};

export function withHeaders(responses: Responses, headers: Record<string, HeaderObject>): Responses {
  const out: Responses = {};
  for (const [status, response] of Object.entries(responses)) {
    out[status] = { ...response, headers: { ...response.headers, ...headers } };
  }
  return out;
}

/**
 * Several descriptions of one operation's answers as one: at a status two
 * parts share, the descriptions are joined, the headers merged, and two
 * bodies of one media type become `anyOf` (an OAuth error or the envelope,
 * say).
 */
export function mergeResponses(...parts: Responses[]): Responses {
  interface Entry {
    descriptions: string[];
    headers: Record<string, HeaderObject>;
    content: Map<string, unknown[]>;
  }
  const merged = new Map<string, Entry>();
  for (const part of parts) {
    for (const [status, response] of Object.entries(part)) {
      const entry: Entry = merged.get(status) ?? { descriptions: [], headers: {}, content: new Map() };
      if (!entry.descriptions.includes(response.description)) entry.descriptions.push(response.description);
      entry.headers = { ...response.headers, ...entry.headers };
      for (const [type, { schema }] of Object.entries(response.content ?? {})) {
        entry.content.set(type, [...(entry.content.get(type) ?? []), schema]);
      }
      merged.set(status, entry);
    }
  }
  const out: Responses = {};
  for (const [status, entry] of [...merged].sort(([a], [b]) => Number(a) - Number(b))) {
    const response: ResponseObject = { description: entry.descriptions.join("\n\nOr: ") };
    if (Object.keys(entry.headers).length > 0) response.headers = entry.headers;
    if (entry.content.size > 0) {
      response.content = {};
      for (const [type, schemas] of entry.content) {
        response.content[type] = { schema: schemas.length === 1 ? schemas[0] : { anyOf: schemas } };
      }
    }
    out[status] = response;
  }
  return out;
}

function groupByStatus<Code extends string>(
  codes: readonly Code[],
  statusOf: (code: Code) => number,
): Array<[number, Code[]]> {
  const byStatus = new Map<number, Code[]>();
  for (const code of new Set(codes)) {
    const status = statusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return [...byStatus].sort(([a], [b]) => a - b);
}

/** RFC 6749 §5.2 JSON errors, at the status `errors.ts` answers each with; 401s name their challenge. */
export function oauthErrors(codes: readonly OAuthErrorCode[]): Responses {
  const out: Responses = {};
  for (const [status, list] of groupByStatus(codes, (code) => OAUTH_ERROR_STATUS[code])) {
    const headers = { ...NO_STORE };
    const challenges = list.flatMap((code) => {
      const challenge = OAUTH_CHALLENGES[code];
      return challenge === undefined ? [] : [`\`${challenge}\` with ${code}`];
    });
    if (challenges.length > 0) {
      headers["WWW-Authenticate"] = { description: challenges.join("; "), schema: { type: "string" } };
    }
    out[status] = {
      description: `RFC 6749 §5.2 error: ${list.join(", ")}`,
      headers,
      content: { "application/json": { schema: OAuthErrorBody(list) } },
    };
  }
  return out;
}

/** A rate limit, in the OAuth error shape (`oauthFailure`). */
export const OAUTH_RATE_LIMITED: Responses = {
  429: {
    description: "Rate limited: temporarily_unavailable",
    headers: { ...NO_STORE, ...RETRY_AFTER },
    content: { "application/json": { schema: OAuthErrorBody(["temporarily_unavailable"]) } },
  },
};

/**
 * LIME error envelopes by status: server codes (plus the transport failures
 * every route has) and this module's own codes, grouped together.
 */
function envelopeErrorSchemas(
  codes: readonly DomainErrorCode[],
  moduleCodes: readonly OAuthEnvelopeCode[],
): Array<[number, ReturnType<typeof ErrorEnvelope>]> {
  type Code = DomainErrorCode | OAuthEnvelopeCode;
  const statusOf = (code: Code) =>
    code in ENVELOPE_STATUS
      ? ENVELOPE_STATUS[code as OAuthEnvelopeCode]
      : STATUS_BY_CODE[code as DomainErrorCode];
  return groupByStatus<Code>([...codes, ...TRANSPORT_FAILURES, ...moduleCodes], statusOf).map(
    // ErrorEnvelope names server codes; the module's codes travel in the same envelope (errors.ts).
    ([status, list]) => [status, ErrorEnvelope(list as DomainErrorCode[])],
  );
}

/** A route's `response` map in the LIME envelope, for the module's codes as well as the server's. */
export function envelopeAnswers(
  status: number,
  data: TSchema,
  codes: readonly DomainErrorCode[],
  moduleCodes: readonly OAuthEnvelopeCode[] = [],
): Record<number, TSchema> {
  const out: Record<number, TSchema> = { [status]: Envelope(data) };
  for (const [errorStatus, schema] of envelopeErrorSchemas(codes, moduleCodes)) out[errorStatus] = schema;
  return out;
}

/** The same envelopes as OpenAPI response objects (`failureResponses` with the module's codes). */
export function envelopeErrors(
  codes: readonly DomainErrorCode[],
  moduleCodes: readonly OAuthEnvelopeCode[] = [],
): Responses {
  const out: Responses = {};
  for (const [status, schema] of envelopeErrorSchemas(codes, moduleCodes)) {
    out[status] = {
      description: schema.description ?? "Error",
      content: { "application/json": { schema } },
    };
  }
  return out;
}

/** A JSON answer. */
export function jsonAnswer(
  status: number,
  schema: TSchema,
  description: string,
  headers: Record<string, HeaderObject> = {},
): Responses {
  return {
    [status]: {
      description,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: { "application/json": { schema } },
    },
  };
}

/** An RFC JSON answer: never cached. */
export function oauthAnswer(status: number, schema: TSchema, description: string): Responses {
  return jsonAnswer(status, schema, description, NO_STORE);
}

/** An HTML page of the browser flow. */
export function page(
  status: number,
  description: string,
  headers: Record<string, HeaderObject> = {},
): Responses {
  return {
    [status]: {
      description,
      headers: { ...PAGE_HEADERS, ...headers },
      content: { "text/html": { schema: { type: "string" } } },
    },
  };
}

/**
 * A redirect. `Location` is described in words and, under
 * `x-query-parameters`, as the schema of the query it carries when it is
 * the client's redirect URI.
 */
export function redirect(
  status: 302 | 303,
  description: string,
  location: string,
  query: readonly TObject[] = [],
  headers: Record<string, HeaderObject> = {},
): Responses {
  const locationHeader: HeaderObject = { description: location, schema: { type: "string", format: "uri" } };
  if (query.length > 0)
    locationHeader["x-query-parameters"] = query.length === 1 ? query[0] : { anyOf: query };
  return {
    [status]: {
      description,
      headers: {
        Location: locationHeader,
        "Cache-Control": { description: "Never cached.", schema: constant("no-store") },
        ...headers,
      },
    },
  };
}

export const SET_COOKIE = (description: string): Record<string, HeaderObject> => ({
  "Set-Cookie": { description, schema: { type: "string" } },
});

/** A form body (`application/x-www-form-urlencoded`), and JSON where the route also reads JSON. */
export function formBody(model: TSchema, json?: TSchema) {
  const content: Record<string, { schema: TSchema }> = {
    "application/x-www-form-urlencoded": { schema: model },
  };
  if (json !== undefined) content["application/json"] = { schema: json };
  return { required: true, content };
}

/** A JSON body the route reads itself (no Elysia `body` model: its failures are the RFC's, not ours). */
export function jsonBody(model: TSchema) {
  return { required: true, content: { "application/json": { schema: model } } };
}

/** Query parameters from a model's properties (the routes read them by hand). */
export function queryParameters(model: TObject): NonNullable<DocumentDecoration["parameters"]> {
  const required = new Set(model.required ?? []);
  return Object.entries(model.properties).map(([name, schema]) => {
    const { description, ...rest } = JSON.parse(JSON.stringify(schema)) as Json;
    return {
      name,
      in: "query",
      required: required.has(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

/** The owner's session cookie alone: the browser flow reads no Bearer session. */
export const OWNER_COOKIE = [{ ownerCookie: [] }];

/** Security: either of `requirements`, or none at all (an empty requirement makes it optional). */
export function optionally(...requirements: Array<Array<Record<string, string[]>>>) {
  return [{}, ...requirements.flat()];
}

/**
 * The introspection caller's credential: a registered resource's
 * `introspection_token` (`Authorization: Bearer lime_rs_…`). The scheme
 * belongs among the server's `SECURITY_SCHEMES` (server/http/contract.ts).
 */
export const RESOURCE_SERVER_TOKEN = [{ resourceServerToken: [] }];
