/**
 * The description at /openapi/json is valid OpenAPI 3.1 (by the maintained
 * validator @readme/openapi-parser), complete (openapi-checks.ts
 * `describeProblems`: every operation named, secured and answered, each
 * error code real and under its status, each body described), and true for
 * the answers anyone can provoke: every operation, called with no
 * credentials and no body, answers a status, media type and body its
 * description lists. Each check is also shown to fail on a copy of the
 * document with the matching defect.
 */

import { describe, expect, test } from "bun:test";
import { compileErrors, validate } from "@readme/openapi-parser";
import type { AnyElysia } from "elysia";
import { failureResponses } from "../../server/http/contract.ts";
import { startTestServer, type TestServer } from "../../server/testing.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";
import {
  admittedProblems,
  answerProblems,
  type DescriptionContext,
  describeProblems,
  type Json,
  type OpenApiDocument,
  operationsOf,
  type RecordedAnswer,
  recordAnswer,
} from "./openapi-checks.ts";

type ApiDocument = Parameters<typeof validate>[0];

const ADMIN_TOKEN = "a".repeat(40);

/** OAuth endpoints that read their own body (no `t` body model): server/modules/oauth/params.ts, *-routes.ts. */
const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";
const OAUTH_OWN_BODIES: Record<string, readonly string[]> = {
  "POST /api/v1/modules/oauth/token": [FORM, JSON_TYPE],
  "POST /api/v1/modules/oauth/register": [JSON_TYPE],
  "POST /api/v1/modules/oauth/revoke": [FORM],
  "POST /api/v1/modules/oauth/introspect": [FORM],
  "POST /api/v1/modules/oauth/authorize": [FORM, JSON_TYPE],
  "POST /api/v1/modules/oauth/authorize/login": [FORM],
  "POST /api/v1/modules/oauth/authorize/decision": [FORM],
};

async function withServer<T>(work: (t: TestServer, doc: OpenApiDocument) => Promise<T>): Promise<T> {
  const t = await startTestServer({ config: { adminToken: ADMIN_TOKEN }, publicUrlIsOwnUrl: true });
  try {
    const response = await fetch(`${t.url}/openapi/json`);
    expect(response.status).toBe(200);
    return await work(t, (await response.json()) as OpenApiDocument);
  } finally {
    await t.stop();
  }
}

/** Which operations read a body: every documented route with a `body` model (JSON), and the OAuth endpoints'. */
function bodiesOf(app: AnyElysia): DescriptionContext {
  const bodies = new Map<string, readonly string[]>(Object.entries(OAUTH_OWN_BODIES));
  for (const route of app.routes) {
    const hooks = route.hooks as { body?: unknown; detail?: { hide?: boolean } } | undefined;
    const method = route.method.toUpperCase();
    if (hooks?.body === undefined || hooks.detail?.hide === true || method === "GET" || method === "HEAD")
      continue;
    const key = `${method} ${route.path.replace(/:([^/]+)/g, "{$1}")}`;
    // An OAuth endpoint's own list (form bodies) stands even when its route declares a model.
    if (!bodies.has(key)) bodies.set(key, [JSON_TYPE]);
  }
  return { bodies };
}

function listed(problems: string[]): string {
  return problems.length === 0 ? "none" : `\n  ${problems.join("\n  ")}`;
}

describe("the OpenAPI description, validated", () => {
  test(
    "@readme/openapi-parser finds no error in /openapi/json",
    () =>
      withServer(async (_t, doc) => {
        expect(doc.openapi).toStartWith("3.1");
        // The validator dereferences what it is given: it gets a copy.
        const result = await validate(structuredClone(doc) as unknown as ApiDocument);
        const report = result.valid ? "" : compileErrors(result);
        expect(report).toBe("");
        expect(result.valid).toBe(true);
        expect(result.warnings).toEqual([]);
      }),
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "the validator is not a formality: a broken copy of the document fails it",
    () =>
      withServer(async (_t, doc) => {
        const broken = structuredClone(doc);
        const operation = broken.paths["/api/v1/auth/requests/{id}"]!.get!;
        operation.responses = { "200": { content: {} } }; // no description
        operation.parameters = [{ name: "id", in: "path" }]; // a path parameter must be required, with a schema
        const result = await validate(broken as unknown as ApiDocument);
        expect(result.valid).toBe(false);
        if (!result.valid) expect(compileErrors(result)).toContain("description");
      }),
    SLOW_TEST_TIMEOUT_MS,
  );
});

describe("the OpenAPI description, complete", () => {
  test(
    "every operation is named, summarised, secured and answered, with real error codes and its bodies",
    () =>
      withServer(async (t, doc) => {
        const problems = describeProblems(doc, bodiesOf(t.server.app));
        if (problems.length > 0) throw new Error(`The description is incomplete:${listed(problems)}`);
        expect(operationsOf(doc).length).toBeGreaterThan(40);
      }),
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "each completeness check fails on a copy of the document with that defect",
    () =>
      withServer(async (t, doc) => {
        const context = bodiesOf(t.server.app);
        const before = new Set(describeProblems(doc, context));
        const failures: string[] = [];
        /** Applies `mutate` to a copy and requires a new problem containing each of `expected`. */
        const expectFlagged = (
          what: string,
          mutate: (copy: OpenApiDocument) => void,
          ...expected: string[]
        ) => {
          const copy = structuredClone(doc);
          mutate(copy);
          const added = describeProblems(copy, context).filter((problem) => !before.has(problem));
          for (const text of expected) {
            if (!added.some((problem) => problem.includes(text)))
              failures.push(`${what}: expected a problem with "${text}", got:${listed(added)}`);
          }
        };
        const CREATE = "/api/v1/modules/agent-login/requests";
        const create = (copy: OpenApiDocument) => copy.paths[CREATE]!.post!;
        /** The route's error responses as the contract helpers build them, whatever the live state. */
        const enveloped = (copy: OpenApiDocument, codes: Parameters<typeof failureResponses>[0]) => {
          const operation = create(copy);
          operation.responses = {
            "201": { description: "Created", content: { [JSON_TYPE]: { schema: { type: "object" } } } },
            ...failureResponses(codes),
          };
          return operation.responses as Record<string, Json>;
        };
        const codeSchema = (response: Json) =>
          ((((response.content as Json)[JSON_TYPE] as Json).schema as Json).properties as Json).error as Json;
        const oauthError = (errors: string[]) => ({
          description: "OAuth error",
          content: {
            [JSON_TYPE]: {
              schema: {
                type: "object",
                required: ["error"],
                properties: {
                  error: { type: "string", enum: errors },
                  error_description: { type: "string" },
                },
              },
            },
          },
        });

        expectFlagged(
          "operationId removed",
          (c) => delete create(c).operationId,
          `POST ${CREATE}: no operationId`,
        );
        expectFlagged(
          "operationId used twice",
          (c) => {
            create(c).operationId = "sameName";
            c.paths["/api/v1/auth/requests/{id}"]!.get!.operationId = "sameName";
          },
          `POST ${CREATE} and GET /api/v1/auth/requests/{id}: operationId sameName is used more than once`,
        );
        expectFlagged(
          "operationId not camelCase",
          (c) => {
            create(c).operationId = "postApiV1ModulesAgent-loginRequests";
          },
          `POST ${CREATE}: operationId "postApiV1ModulesAgent-loginRequests" is not camelCase`,
        );
        expectFlagged("summary removed", (c) => delete create(c).summary, `POST ${CREATE}: no summary`);
        expectFlagged(
          "security removed",
          (c) => delete create(c).security,
          `POST ${CREATE}: no explicit security`,
        );
        expectFlagged(
          "security names an undeclared scheme",
          (c) => {
            create(c).security = [{ sessionCookie: [] }];
          },
          `POST ${CREATE}: security names sessionCookie`,
        );
        expectFlagged(
          "responses removed",
          (c) => delete create(c).responses,
          `POST ${CREATE}: no success response`,
          `POST ${CREATE}: no error responses`,
        );
        expectFlagged(
          "success without content",
          (c) => {
            enveloped(c, ["SITE_TOKEN_MISSING"])["201"] = { description: "Created" };
          },
          `POST ${CREATE}: response 201 describes no content`,
        );
        expectFlagged(
          "success content without a schema",
          (c) => {
            enveloped(c, ["SITE_TOKEN_MISSING"])["201"] = {
              description: "Created",
              content: { [JSON_TYPE]: {} },
            };
          },
          `POST ${CREATE}: response 201 application/json has no schema`,
        );
        expectFlagged(
          "redirect without Location",
          (c) => {
            enveloped(c, ["SITE_TOKEN_MISSING"])["302"] = { description: "Found" };
          },
          `POST ${CREATE}: response 302 (a redirect) does not describe its Location header`,
        );
        expectFlagged(
          "a made-up error code",
          (c) => {
            const code = codeSchema(enveloped(c, ["SITE_TOKEN_MISSING", "SITE_TOKEN_INVALID"])["401"]!);
            (code.properties as Json).code = {
              type: "string",
              enum: ["SITE_TOKEN_MISSING", "SITE_TOKEN_GONE"],
            };
          },
          `POST ${CREATE}: response 401: error code SITE_TOKEN_GONE does not exist`,
        );
        expectFlagged(
          "a code under another status than the boundary's",
          (c) => {
            const code = codeSchema(enveloped(c, ["SITE_TOKEN_MISSING", "SITE_TOKEN_INVALID"])["401"]!);
            (code.properties as Json).code = {
              type: "string",
              enum: ["SITE_TOKEN_MISSING", "SITE_NOT_FOUND"],
            };
          },
          `POST ${CREATE}: response 401: error code SITE_NOT_FOUND is described under 401 but answered with 404`,
        );
        expectFlagged(
          "an error code that is any string",
          (c) => {
            const code = codeSchema(enveloped(c, ["SITE_TOKEN_MISSING"])["401"]!);
            (code.properties as Json).code = { type: "string" };
          },
          `POST ${CREATE}: response 401: error.code lists no codes`,
        );
        expectFlagged(
          "an error that is no known shape",
          (c) => {
            enveloped(c, ["SITE_TOKEN_MISSING"])["401"] = {
              description: "Unauthorized",
              content: { [JSON_TYPE]: { schema: { type: "object" } } },
            };
          },
          `POST ${CREATE}: response 401 application/json: a schema that is neither`,
        );
        expectFlagged(
          "an error without content",
          (c) => {
            enveloped(c, ["SITE_TOKEN_MISSING"])["401"] = { description: "Unauthorized" };
          },
          `POST ${CREATE}: response 401 describes no content`,
        );
        expectFlagged(
          "an OAuth-shaped error on an envelope route",
          (c) => {
            enveloped(c, ["SITE_TOKEN_MISSING"])["401"] = oauthError(["invalid_client"]);
          },
          `POST ${CREATE}: response 401: an OAuth-shaped error`,
        );
        expectFlagged(
          "a transport failure left out",
          (c) => {
            delete enveloped(c, ["SITE_TOKEN_MISSING"])["431"];
          },
          `POST ${CREATE}: does not list the failures every route can have: HEADERS_TOO_LARGE`,
        );
        expectFlagged(
          "OAuth errors that do not exist or sit under the wrong status",
          (c) => {
            const token = c.paths["/api/v1/modules/oauth/token"]!.post!;
            token.responses = {
              ...(token.responses as Json),
              "400": oauthError(["invalid_grant", "invalid_ticket", "invalid_client"]),
            };
          },
          "POST /api/v1/modules/oauth/token: response 400: OAuth error invalid_ticket does not exist",
          "POST /api/v1/modules/oauth/token: response 400: OAuth error invalid_client is described under 400 but answered with 401",
        );
        expectFlagged(
          "a JSON body left undescribed",
          (c) => delete c.paths["/api/v1/foundation/users/register"]!.post!.requestBody,
          "POST /api/v1/foundation/users/register: reads a body (application/json) but declares no requestBody",
        );
        expectFlagged(
          "a form body left undescribed",
          (c) => {
            c.paths["/api/v1/modules/oauth/revoke"]!.post!.requestBody = {
              content: { [JSON_TYPE]: { schema: { type: "object" } } },
            };
          },
          `POST /api/v1/modules/oauth/revoke: requestBody does not describe ${FORM}`,
        );
        expectFlagged(
          "a security scheme removed",
          (c) => delete c.components!.securitySchemes!.adminToken,
          "components.securitySchemes: adminToken is missing",
        );
        if (failures.length > 0) throw new Error(`A check did not fail as it should:${listed(failures)}`);
      }),
    SLOW_TEST_TIMEOUT_MS,
  );
});

/** A wrong credential for a security scheme of the description: the headers that carry it. */
function wrongCredential(scheme: Json): Record<string, string> {
  const value = `wrong-${crypto.randomUUID()}`;
  if (scheme.type === "http" && scheme.scheme === "bearer") return { authorization: `Bearer ${value}` };
  if (scheme.type === "apiKey" && scheme.in === "header") return { [String(scheme.name)]: value };
  if (scheme.type === "apiKey" && scheme.in === "cookie")
    return { cookie: `${String(scheme.name)}=${value}` };
  throw new Error(`no wrong credential for the scheme ${JSON.stringify(scheme)}`);
}

interface Probe {
  /** "no credentials", or "a wrong <scheme>". */
  caller: string;
  answer: RecordedAnswer;
}

/**
 * Every operation called with no body and no credentials, then, for each
 * scheme its security names, with a wrong credential of that scheme.
 */
async function probe(t: TestServer, doc: OpenApiDocument): Promise<Probe[]> {
  const schemes = (doc.components?.securitySchemes ?? {}) as Record<string, Json>;
  const probes: Probe[] = [];
  for (const { method, path, operation } of operationsOf(doc)) {
    // A well-formed id that names nothing: the answer is about the caller, not the record.
    const url = t.url + path.replace(/\{[^}]+\}/g, crypto.randomUUID());
    const callers: Array<[string, Record<string, string>]> = [["no credentials", {}]];
    const named = new Set(
      (Array.isArray(operation.security) ? (operation.security as Json[]) : []).flatMap(Object.keys),
    );
    for (const name of named) {
      if (schemes[name] !== undefined) callers.push([`a wrong ${name}`, wrongCredential(schemes[name])]);
    }
    for (const [caller, headers] of callers) {
      const response = await fetch(url, { method: method.toUpperCase(), headers, redirect: "manual" });
      probes.push({ caller, answer: await recordAnswer(method, path, response) });
    }
  }
  return probes;
}

describe("the OpenAPI description, true", () => {
  test(
    "every operation, called with no body and no or wrong credentials, answers as its description says",
    () =>
      withServer(async (t, doc) => {
        const problems: string[] = [];
        const probes = await probe(t, doc);
        for (const { caller, answer } of probes) {
          for (const problem of answerProblems(doc, answer)) problems.push(`${problem} [caller: ${caller}]`);
          problems.push(...admittedProblems(doc, answer, caller));
        }
        if (problems.length > 0)
          throw new Error(`Answers the description does not describe:${listed(problems)}`);
        // Wrong credentials were tried on every secured operation.
        expect(probes.filter((p) => p.caller.startsWith("a wrong")).length).toBeGreaterThan(30);
      }),
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "an answer the description does not list, or a secured operation that admits anyone, is reported",
    () =>
      withServer(async (t, doc) => {
        // A copy of the real operation with its answers described by the contract helpers.
        const copy = structuredClone(doc);
        const operation = copy.paths["/api/v1/modules/agent-login/requests"]!.post!;
        operation.responses = {
          "201": { description: "Created", content: { [JSON_TYPE]: { schema: { type: "object" } } } },
          ...failureResponses(["SITE_TOKEN_MISSING", "SITE_TOKEN_INVALID", "SITE_SUSPENDED"]),
        };
        const response = await fetch(`${t.url}/api/v1/modules/agent-login/requests`, { method: "POST" });
        const answer = await recordAnswer("post", "/api/v1/modules/agent-login/requests", response);
        expect(answer.status).toBe(401);
        expect(answerProblems(copy, answer)).toEqual([]);

        const responses = operation.responses as Record<string, Json>;
        const unauthorized = responses["401"]!;
        delete responses["401"];
        expect(answerProblems(copy, answer).join("\n")).toContain(
          "POST /api/v1/modules/agent-login/requests: answered 401 SITE_TOKEN_MISSING, a status the description does not list",
        );

        // The status listed, but not this code: the body fails the described schema.
        const narrowed = structuredClone(unauthorized);
        const schema = ((narrowed.content as Json)[JSON_TYPE] as Json).schema as Json;
        const code = ((schema.properties as Json).error as Json).properties as Json;
        code.code = { type: "string", enum: ["SITE_TOKEN_INVALID"] };
        responses["401"] = narrowed;
        const mismatch = answerProblems(copy, answer).join("\n");
        expect(mismatch).toContain("its body does not match the described schema: /error/code");
        expect(mismatch).toContain("SITE_TOKEN_INVALID");

        // Another media type than the answer's.
        responses["401"] = {
          description: "Unauthorized",
          content: { "text/html": { schema: { type: "string" } } },
        };
        expect(answerProblems(copy, answer).join("\n")).toContain(
          "as application/json, which response 401 does not describe (it describes text/html)",
        );

        // A public answer to a caller without credentials, on an operation described as secured.
        const health = await recordAnswer("get", "/health", await fetch(`${t.url}/health`));
        expect(health.status).toBe(200);
        expect(admittedProblems(copy, health, "no credentials")).toEqual([]);
        copy.paths["/health"]!.get!.security = [{ adminToken: [] }];
        expect(admittedProblems(copy, health, "no credentials")).toEqual([
          "GET /health: described as secured, but answered 200 to a caller with no credentials",
        ]);
      }),
    SLOW_TEST_TIMEOUT_MS,
  );
});
