/**
 * What the contract tests hold the OpenAPI description to, as plain
 * functions over the document so a test can mutate a copy and watch each
 * check fail:
 *
 * - `describeProblems`: is the description complete? Every operation named,
 *   summarised and secured explicitly; its success and its errors described,
 *   each error code a real one under the status the server answers it with;
 *   every body the route reads described.
 * - `answerProblems`: is it true? An answer the server really gave (status,
 *   media type, body) must be one the description lists, and its JSON must
 *   validate against the described schema.
 *
 * Each problem names the operation ("POST /api/v1/…") and what is missing.
 */

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { TRANSPORT_FAILURES } from "../../server/http/contract.ts";
import { STATUS_BY_CODE } from "../../server/http/error-boundary.ts";
import {
  envelopeErrorResponse,
  type OAuthEnvelopeCode,
  OAuthEnvelopeError,
  OAuthError,
  type OAuthErrorCode,
  oauthErrorResponse,
} from "../../server/modules/oauth/errors.ts";

export type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Json>>;
  components?: { securitySchemes?: Record<string, unknown>; schemas?: Record<string, unknown> };
  [key: string]: unknown;
}

export const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

/** The schemes every operation's `security` draws from (server/http/contract.ts). */
export const REQUIRED_SECURITY_SCHEMES = [
  "siteToken",
  "agentToken",
  "ownerBearer",
  "ownerCookie",
  "adminToken",
] as const;

export const OAUTH_PREFIX = "/api/v1/modules/oauth/";

/**
 * The OAuth endpoints answer errors as their RFCs define them
 * (`{error, error_description}`); LIME's own management routes under the
 * same prefix (registered MCP servers, an agent's keys) keep the envelope.
 */
export function answersOAuthErrors(path: string): boolean {
  return (
    path.startsWith(OAUTH_PREFIX) &&
    !path.startsWith(`${OAUTH_PREFIX}resources`) &&
    path !== `${OAUTH_PREFIX}agents/me/jwks`
  );
}

export interface Operation {
  /** "POST /api/v1/foundation/users/register" */
  key: string;
  method: string;
  path: string;
  operation: Json;
}

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation !== undefined)
        out.push({ key: `${method.toUpperCase()} ${path}`, method, path, operation });
    }
  }
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Follows local `$ref`s (`#/components/…`) to the object they name. */
export function resolve(doc: OpenApiDocument, value: unknown, depth = 0): unknown {
  if (!isObject(value) || typeof value.$ref !== "string" || depth > 32) return value;
  const ref = value.$ref;
  if (!ref.startsWith("#/")) return value;
  let target: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const part = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    target = isObject(target) ? target[part] : undefined;
  }
  return resolve(doc, target, depth + 1);
}

/** The schema and its `anyOf`/`oneOf` alternatives, each resolved: the shapes an answer may take. */
function alternatives(doc: OpenApiDocument, schema: unknown): Json[] {
  const resolved = resolve(doc, schema);
  if (!isObject(resolved)) return [];
  const branches = (resolved.anyOf ?? resolved.oneOf) as unknown[] | undefined;
  if (Array.isArray(branches)) return branches.flatMap((branch) => alternatives(doc, branch));
  return [resolved];
}

/** The string values a schema allows (`const`, `enum`, or alternatives of those); null when any string. */
function allowedStrings(doc: OpenApiDocument, schema: unknown): string[] | null {
  const values: string[] = [];
  for (const branch of alternatives(doc, schema)) {
    if (typeof branch.const === "string") values.push(branch.const);
    else if (Array.isArray(branch.enum)) values.push(...branch.enum.filter((v) => typeof v === "string"));
    else return null;
  }
  return values;
}

export type ErrorShape =
  | { kind: "envelope"; codes: string[] | null }
  | { kind: "oauth"; errors: string[] | null }
  | { kind: "other" };

/** Which error shape one alternative of an error schema is. */
export function errorShape(doc: OpenApiDocument, schema: Json): ErrorShape {
  const properties = resolve(doc, schema.properties);
  if (!isObject(properties)) return { kind: "other" };
  const error = resolve(doc, properties.error);
  if (!isObject(error)) return { kind: "other" };
  const errorProperties = resolve(doc, error.properties);
  if (isObject(errorProperties) && errorProperties.code !== undefined) {
    return { kind: "envelope", codes: allowedStrings(doc, errorProperties.code) };
  }
  const required = Array.isArray(schema.required) ? schema.required : [];
  const values = allowedStrings(doc, error);
  const stringLike = error.type === "string" || values !== null;
  if (stringLike && required.includes("error")) return { kind: "oauth", errors: values };
  return { kind: "other" };
}

/** The status the server answers an enveloped error code with, or undefined for a code that does not exist. */
export function envelopeStatus(code: string, path: string): number | undefined {
  const status = (STATUS_BY_CODE as Record<string, number>)[code];
  if (status !== undefined) return status;
  // The OAuth module's own envelope codes have their own table (server/modules/oauth/errors.ts);
  // an unknown code gets no status there, which a Response reports as 200.
  if (!path.startsWith(OAUTH_PREFIX)) return undefined;
  const answered = envelopeErrorResponse(new OAuthEnvelopeError(code as OAuthEnvelopeCode, "")).status;
  return answered >= 400 ? answered : undefined;
}

/** The statuses an RFC-shaped OAuth error is answered with, or [] for an error that does not exist. */
export function oauthErrorStatuses(error: string): number[] {
  const answered = oauthErrorResponse(new OAuthError(error as OAuthErrorCode, "")).status;
  if (answered < 400) return [];
  // A rate limit on an OAuth endpoint is 429 temporarily_unavailable (oauthFailure, errors.ts).
  return error === "temporarily_unavailable" ? [answered, 429] : [answered];
}

const JSON_MEDIA = /^application\/(?:[\w.+-]+\+)?json$/i;

function numericStatus(key: string): number | null {
  return /^[1-5]\d\d$/.test(key) ? Number(key) : null;
}

/** Media type entries of a response or request body, with a problem for each that has no schema. */
function contentProblems(content: unknown, where: string): string[] {
  if (!isObject(content) || Object.keys(content).length === 0) return [`${where} describes no content`];
  return Object.entries(content)
    .filter(([, media]) => !isObject(media) || media.schema === undefined)
    .map(([type]) => `${where} ${type} has no schema`);
}

function errorResponseProblems(
  doc: OpenApiDocument,
  path: string,
  status: number,
  response: Json,
  listed: Map<string, number>,
): string[] {
  const where = `response ${status}`;
  const problems = contentProblems(response.content, where);
  if (!isObject(response.content)) return problems;
  for (const [type, media] of Object.entries(response.content)) {
    if (!JSON_MEDIA.test(type) || !isObject(media) || media.schema === undefined) continue;
    for (const branch of alternatives(doc, media.schema)) {
      const shape = errorShape(doc, branch);
      if (shape.kind === "other") {
        problems.push(
          `${where} ${type}: a schema that is neither the LIME error envelope ({ok:false, error:{code,…}}) nor an OAuth error ({error, error_description})`,
        );
      } else if (shape.kind === "envelope") {
        if (shape.codes === null) {
          problems.push(`${where}: error.code lists no codes (a const or an enum of real codes)`);
          continue;
        }
        for (const code of shape.codes) {
          const real = envelopeStatus(code, path);
          if (real === undefined) problems.push(`${where}: error code ${code} does not exist`);
          else if (real !== status)
            problems.push(
              `${where}: error code ${code} is described under ${status} but answered with ${real}`,
            );
          else listed.set(code, status);
        }
      } else {
        if (!answersOAuthErrors(path)) {
          problems.push(
            `${where}: an OAuth-shaped error ({error, error_description}) on a LIME envelope route`,
          );
          continue;
        }
        for (const error of shape.errors ?? []) {
          const real = oauthErrorStatuses(error);
          if (real.length === 0) problems.push(`${where}: OAuth error ${error} does not exist`);
          else if (!real.includes(status))
            problems.push(
              `${where}: OAuth error ${error} is described under ${status} but answered with ${real[0]}`,
            );
        }
      }
    }
  }
  return problems;
}

/** Statuses that send the client elsewhere: the description must say where (Location). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function successProblems(status: number, response: Json): string[] {
  const where = `response ${status}`;
  const headers = isObject(response.headers) ? Object.keys(response.headers) : [];
  if (REDIRECTS.has(status)) {
    return headers.some((name) => name.toLowerCase() === "location")
      ? []
      : [`${where} (a redirect) does not describe its Location header`];
  }
  // No body by definition: 204 and 205, and 304 (the cached copy stands).
  if (status === 204 || status === 205 || status === 304) return [];
  if (response.content === undefined && headers.length > 0) return [];
  return contentProblems(response.content, where);
}

export interface DescriptionContext {
  /**
   * Operations whose route reads a request body, with the media types it
   * takes: from the routes' `body` models (JSON), and the OAuth endpoints
   * that parse their own form or JSON bodies.
   */
  bodies: Map<string, readonly string[]>;
}

/** Everything incomplete or impossible in the description, one line per problem, each naming its operation. */
export function describeProblems(doc: OpenApiDocument, context: DescriptionContext): string[] {
  const problems: string[] = [];
  const schemes = isObject(doc.components?.securitySchemes) ? doc.components.securitySchemes : {};
  for (const name of REQUIRED_SECURITY_SCHEMES) {
    if (!isObject(schemes[name])) problems.push(`components.securitySchemes: ${name} is missing`);
  }

  const operations = operationsOf(doc);
  const byId = new Map<string, string[]>();
  for (const { key, path, operation } of operations) {
    const say = (what: string) => problems.push(`${key}: ${what}`);

    const id = operation.operationId;
    if (typeof id !== "string" || id === "") say("no operationId");
    else {
      byId.set(id, [...(byId.get(id) ?? []), key]);
      if (!/^[a-z][a-zA-Z0-9]*$/.test(id)) say(`operationId ${JSON.stringify(id)} is not camelCase`);
    }
    if (typeof operation.summary !== "string" || operation.summary.trim() === "") say("no summary");

    if (!Array.isArray(operation.security)) say("no explicit security (use [] for a public operation)");
    else {
      for (const requirement of operation.security as unknown[]) {
        if (!isObject(requirement)) say("a security requirement that is not an object");
        else
          for (const name of Object.keys(requirement))
            if (!(name in schemes)) say(`security names ${name}, which components.securitySchemes lacks`);
      }
    }

    const responses = isObject(operation.responses) ? operation.responses : {};
    const statuses = Object.keys(responses);
    const successes = statuses.filter((s) => /^[23]\d\d$/.test(s));
    if (successes.length === 0) say("no success response (2xx or 3xx)");
    for (const status of successes) {
      const response = resolve(doc, responses[status]);
      if (!isObject(response)) say(`response ${status} is not an object`);
      else for (const problem of successProblems(Number(status), response)) say(problem);
    }

    const errors = statuses.filter((s) => /^[45]\d\d$/.test(s));
    if (errors.length === 0) say("no error responses");
    const listed = new Map<string, number>();
    for (const status of errors) {
      const response = resolve(doc, responses[status]);
      if (!isObject(response)) say(`response ${status} is not an object`);
      else
        for (const problem of errorResponseProblems(doc, path, Number(status), response, listed))
          say(problem);
    }
    // The transport answers these on any route, before it is known (server/http/transport.ts),
    // and the error boundary answers a bug or a database outage on any route.
    const missing = TRANSPORT_FAILURES.filter((code) => !listed.has(code));
    if (errors.length > 0 && missing.length > 0)
      say(`does not list the failures every route can have: ${missing.join(", ")}`);
    for (const status of statuses) {
      if (numericStatus(status) === null && status !== "default")
        say(`response key ${status} is not a status`);
    }

    const media = context.bodies.get(key);
    if (media !== undefined) {
      const body = resolve(doc, operation.requestBody);
      if (!isObject(body)) say(`reads a body (${media.join(", ")}) but declares no requestBody`);
      else {
        for (const problem of contentProblems(body.content, "requestBody")) say(problem);
        const declared = isObject(body.content) ? Object.keys(body.content) : [];
        for (const type of media)
          if (!declared.includes(type)) say(`requestBody does not describe ${type}, which the route reads`);
      }
    }
  }
  for (const [id, keys] of byId) {
    if (keys.length > 1) problems.push(`${keys.join(" and ")}: operationId ${id} is used more than once`);
  }
  for (const key of context.bodies.keys()) {
    if (!operations.some((operation) => operation.key === key))
      problems.push(`${key}: not in the description`);
  }
  return problems;
}

/** An answer the server gave, for `answerProblems`. */
export interface RecordedAnswer {
  method: string;
  /** The path template, as in the description: "/api/v1/auth/requests/{id}". */
  path: string;
  status: number;
  /** The Content-Type header, or null. */
  contentType: string | null;
  /** The parsed JSON, the text of anything else, or undefined for an empty body. */
  body: unknown;
}

function findResponse(responses: Json, status: number): unknown {
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
}

/**
 * A JSON Schema 2020-12 validator for one schema of the document, compiled
 * with the document so its `$ref`s resolve. A fresh validator each time:
 * the tests mutate copies of the document between calls.
 */
function validatorFor(doc: OpenApiDocument, pointer: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(doc as object, "lime-openapi");
  return ajv.compile({ $ref: `lime-openapi#${pointer}` });
}

function pointerPart(part: string): string {
  return part.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Everything the description does not say about an answer the server really gave. */
export function answerProblems(doc: OpenApiDocument, answer: RecordedAnswer): string[] {
  const key = `${answer.method.toUpperCase()} ${answer.path}`;
  const operation = doc.paths?.[answer.path]?.[answer.method.toLowerCase()];
  if (!isObject(operation)) return [`${key}: answered, but the description has no such operation`];
  const responses = isObject(operation.responses) ? operation.responses : {};
  const response = resolve(doc, findResponse(responses, answer.status));
  const summary =
    isObject(answer.body) && isObject(answer.body.error)
      ? ` ${String(answer.body.error.code)}`
      : isObject(answer.body) && typeof answer.body.error === "string"
        ? ` ${answer.body.error}`
        : "";
  if (!isObject(response)) {
    return [
      `${key}: answered ${answer.status}${summary}, a status the description does not list (it lists ${Object.keys(responses).join(", ") || "none"})`,
    ];
  }
  if (answer.body === undefined) return [];
  const content = isObject(response.content) ? response.content : {};
  const mediaType = (answer.contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const described = Object.keys(content).find((type) => type.toLowerCase() === mediaType);
  if (described === undefined) {
    return [
      `${key}: answered ${answer.status}${summary} as ${mediaType || "no media type"}, which response ${answer.status} does not describe (it describes ${Object.keys(content).join(", ") || "no content"})`,
    ];
  }
  const media = content[described];
  if (!JSON_MEDIA.test(mediaType) || !isObject(media) || media.schema === undefined) return [];
  const statusKey = [String(answer.status), `${String(answer.status)[0]}XX`, "default"].find(
    (candidate) => responses[candidate] !== undefined,
  )!;
  const pointer = ["paths", answer.path, answer.method.toLowerCase(), "responses", statusKey]
    .map(pointerPart)
    .join("/");
  // A response given by `$ref` is validated through its target.
  const responseRef = isObject(responses[statusKey]) ? (responses[statusKey] as Json).$ref : undefined;
  const base = typeof responseRef === "string" ? responseRef.slice(1) : `/${pointer}`;
  const validate = validatorFor(doc, `${base}/content/${pointerPart(described)}/schema`);
  if (validate(answer.body)) return [];
  return (validate.errors ?? []).slice(0, 8).map((error) => {
    const allowed = (error.params as { allowedValues?: unknown }).allowedValues;
    return `${key}: answered ${answer.status}${summary}, but its body does not match the described schema: ${error.instancePath || "(body)"} ${error.message}${allowed ? ` ${JSON.stringify(allowed)}` : ""}`;
  });
}

/** A secured operation that let a caller without valid credentials through (`caller` says who called). */
export function admittedProblems(doc: OpenApiDocument, answer: RecordedAnswer, caller: string): string[] {
  const operation = doc.paths?.[answer.path]?.[answer.method.toLowerCase()];
  const secured = isObject(operation) && Array.isArray(operation.security) && operation.security.length > 0;
  if (!secured || answer.status >= 400) return [];
  return [
    `${answer.method.toUpperCase()} ${answer.path}: described as secured, but answered ${answer.status} to a caller with ${caller}`,
  ];
}

/** The answer of a `fetch`, read into a `RecordedAnswer` (an event stream is not read past its headers). */
export async function recordAnswer(
  method: string,
  path: string,
  response: Response,
): Promise<RecordedAnswer> {
  const contentType = response.headers.get("content-type");
  let body: unknown;
  if (contentType?.startsWith("text/event-stream")) {
    await response.body?.cancel();
    body = "";
  } else {
    const text = await response.text();
    if (text !== "") {
      const mediaType = (contentType ?? "").split(";")[0]!.trim();
      body = JSON_MEDIA.test(mediaType) ? JSON.parse(text) : text;
    }
  }
  return { method, path, status: response.status, contentType, body };
}
