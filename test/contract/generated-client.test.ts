/**
 * The description proven true, not just well-formed: a typed client is
 * generated from /openapi/json with openapi-typescript, the login driver
 * (login-flow-client.ts, written with openapi-fetch) is typechecked against
 * it with the repository's tsc, and the same driver runs the whole agent
 * login against a live server, every answer it receives held against the
 * description's schema for that status.
 *
 * openapi-typescript needs TypeScript 5's compiler API, so it lives in its
 * own workspace (tools/openapi-client) and runs under Node.
 */

import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startTestServer, type TestServer } from "../../server/testing.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";
import { runLoginFlow } from "./login-flow-client.ts";
import {
  answerProblems,
  type Json,
  type OpenApiDocument,
  type RecordedAnswer,
  recordAnswer,
  resolve as resolveRef,
} from "./openapi-checks.ts";

const ROOT = resolve(import.meta.dir, "../..");
const OPENAPI_TYPESCRIPT = join(ROOT, "tools/openapi-client/node_modules/openapi-typescript/bin/cli.js");
const TSC = join(ROOT, "node_modules/.bin/tsc");
const DRIVER = join(import.meta.dir, "login-flow-client.ts");

/** A server whose issuer is its own URL, as the passports' verifiers expect, and its description. */
async function withServer<T>(work: (t: TestServer, doc: OpenApiDocument) => Promise<T>): Promise<T> {
  const t = await startTestServer({ publicUrlIsOwnUrl: true });
  try {
    const response = await fetch(`${t.url}/openapi/json`);
    expect(response.status).toBe(200);
    return await work(t, (await response.json()) as OpenApiDocument);
  } finally {
    await t.stop();
  }
}

/** A fresh directory for one test's generated files, removed after. */
async function inTemporaryDirectory<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "lime-openapi-client-"));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(command: string[]): Promise<{ code: number; output: string }> {
  const child = Bun.spawn(command, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, output: `${stdout}${stderr}`.trim() };
}

/** Writes `doc` and the types openapi-typescript generates from it (`api.d.ts`) into `dir`. */
async function generateTypes(doc: OpenApiDocument, dir: string): Promise<string> {
  const spec = join(dir, "openapi.json");
  const types = join(dir, "api.d.ts");
  writeFileSync(spec, JSON.stringify(doc));
  const { code, output } = await run(["node", OPENAPI_TYPESCRIPT, spec, "-o", types]);
  if (code !== 0) throw new Error(`openapi-typescript failed (exit ${code}):\n${output}`);
  return types;
}

/**
 * Typechecks the driver against `types` with the repository's tsc: strict,
 * bundler resolution, the generated file standing for "lime-openapi-generated".
 */
async function typecheckDriver(dir: string, types: string): Promise<{ code: number; output: string }> {
  const tsconfig = join(dir, "tsconfig.json");
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "bundler",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        types: [],
        noUncheckedIndexedAccess: true,
        isolatedModules: true,
        verbatimModuleSyntax: true,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        paths: { "lime-openapi-generated": [types] },
      },
      files: [DRIVER],
    }),
  );
  return run([TSC, "-p", tsconfig, "--pretty", "false"]);
}

/** The `data` member's properties of an operation's enveloped success. */
function successData(doc: OpenApiDocument, path: string, method: string, status: string): Json {
  const responses = doc.paths[path]?.[method]?.responses as Json | undefined;
  const response = resolveRef(doc, responses?.[status]) as Json | undefined;
  const schema = resolveRef(
    doc,
    ((response?.content as Json | undefined)?.["application/json"] as Json)?.schema,
  );
  const data = resolveRef(doc, ((schema as Json | undefined)?.properties as Json | undefined)?.data) as Json;
  if (data?.properties === undefined)
    throw new Error(`${method.toUpperCase()} ${path} ${status} has no data object`);
  return data;
}

describe("a client generated from /openapi/json", () => {
  test(
    "types the login driver: it typechecks against them with tsc",
    () =>
      withServer((_t, doc) =>
        inTemporaryDirectory(async (dir) => {
          const types = await generateTypes(doc, dir);
          const { code, output } = await typecheckDriver(dir, types);
          if (code !== 0) {
            throw new Error(
              `login-flow-client.ts does not typecheck against the client generated from /openapi/json (tsc exit ${code}):\n${output}`,
            );
          }
        }),
      ),
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "fails the typecheck when the description drops or mistypes a field the driver reads",
    () =>
      withServer((_t, doc) =>
        inTemporaryDirectory(async (dir) => {
          const wrong = structuredClone(doc);
          const challenge = successData(wrong, "/api/v1/auth/requests/{id}", "get", "200");
          const properties = challenge.properties as Json;
          delete properties.pow_challenge;
          properties.pow_difficulty = { type: "string" };
          if (Array.isArray(challenge.required))
            challenge.required = challenge.required.filter((name) => name !== "pow_challenge");
          const { code, output } = await typecheckDriver(dir, await generateTypes(wrong, dir));
          expect(code).not.toBe(0);
          expect(output).toContain("login-flow-client.ts");
          expect(output).toContain("pow_challenge");
          expect(output).toMatch(/'string' is not assignable to parameter of type 'number'/);
        }),
      ),
    SLOW_TEST_TIMEOUT_MS,
  );
});

describe("the login driver, on a live server", () => {
  test(
    "registers, logs in, opens, solves and approves a login, and the passport verifies against the JWKS",
    () =>
      withServer(async (t, doc) => {
        const recorded: Promise<RecordedAnswer>[] = [];
        const result = await runLoginFlow({
          baseUrl: t.url,
          issuer: t.config.publicUrl,
          verificationCode: (email) => t.mailer.codes.get(email.toLowerCase()),
          // The passport's times come from the server's clock, which the test server holds still.
          now: () => new Date(t.clock.now()),
          onAnswer: ({ method, path, response }) => {
            recorded.push(recordAnswer(method.toLowerCase(), path, response));
          },
        });
        expect(result.passport.iss).toBe(t.config.publicUrl);
        expect(result.passport.sub).toBe(result.agentId);
        expect(result.passport.aud).toBe("lime-site-login");
        expect(result.passport.site_id).toBe(result.siteId);
        expect(result.passport.request_id).toBe(result.loginRequestId);
        expect(result.passport.user_id).toBe(result.ownerId);

        // Every answer the client received is one the description lists, and matches its schema.
        const answers = await Promise.all(recorded);
        expect(
          answers.map((answer) => `${answer.method.toUpperCase()} ${answer.path} ${answer.status}`),
        ).toEqual([
          "POST /api/v1/foundation/users/register 201",
          "POST /api/v1/foundation/users/register/verify 200",
          "POST /api/v1/foundation/users/login 200",
          "POST /api/v1/foundation/sites/register 201",
          "POST /api/v1/core/agents/register 201",
          "POST /api/v1/modules/agent-login/requests 201",
          "GET /api/v1/auth/requests/{id} 200",
          "POST /api/v1/modules/agent-login/requests/{id}/approve 200",
          "GET /api/v1/modules/agent-login/requests/{id} 200",
          "GET /.well-known/jwks.json 200",
        ]);
        const problems = answers.flatMap((answer) => answerProblems(doc, answer));
        if (problems.length > 0)
          throw new Error(
            `Answers of the login that the description does not describe:\n  ${problems.join("\n  ")}`,
          );
      }),
    SLOW_TEST_TIMEOUT_MS,
  );
});
