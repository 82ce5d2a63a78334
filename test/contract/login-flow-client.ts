/**
 * The whole agent login, driven through a client generated from the
 * server's own OpenAPI description: `paths` are the types openapi-typescript
 * wrote from /openapi/json, and every call goes through `openapi-fetch`
 * typed by them. So this file typechecks only while the description says
 * what LIME's clients rely on (a field it leaves out, or types wrongly, is
 * a compile error here), and it runs only while the server does what the
 * description says.
 *
 * The module "lime-openapi-generated" is the generated file:
 * test/contract/generated-client.test.ts maps it with a tsconfig `paths`
 * entry when it typechecks this driver, and runs it against a live server.
 * In the repository's own typecheck it is the stand-in declared in
 * lime-openapi-generated.d.ts.
 */

import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from "jose";
import type { paths } from "lime-openapi-generated";
import createClient from "openapi-fetch";
import { solve } from "../../core/pow/index.ts";

export interface LoginFlowOptions {
  /** The server's URL: every call and the JWKS go there. */
  baseUrl: string;
  /** The `iss` passports must carry: the server's configured public URL. */
  issuer: string;
  /** The code the server mailed to this address (a test server keeps it). */
  verificationCode(email: string): string | undefined;
  /** The time passports are checked at; default: now. */
  now?: () => Date;
  /** Told of every answer, with its path template, before the driver reads it. */
  onAnswer?: (answer: { method: string; path: string; response: Response }) => void;
}

export interface LoginFlowResult {
  ownerId: string;
  siteId: string;
  agentId: string;
  loginRequestId: string;
  /** The `kid` the passport was signed with, found in the JWKS. */
  kid: string;
  /** The verified passport's claims. */
  passport: JWTPayload;
}

/** openapi-fetch's result: the success body, or a thrown error naming the step, status and error body. */
function expectData<T>(step: string, result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    throw new Error(`${step}: HTTP ${result.response.status} ${JSON.stringify(result.error ?? null)}`);
  }
  return result.data;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

export async function runLoginFlow(options: LoginFlowOptions): Promise<LoginFlowResult> {
  const client = createClient<paths>({ baseUrl: options.baseUrl });
  client.use({
    onResponse({ request, response, schemaPath }) {
      options.onAnswer?.({ method: request.method, path: schemaPath, response: response.clone() });
    },
  });

  // The owner: register, confirm the mailed code, sign in.
  const email = `contract-${crypto.randomUUID()}@example.test`;
  const password = "correct horse battery staple";
  const registered = expectData(
    "register the owner",
    await client.POST("/api/v1/foundation/users/register", { body: { email, password } }),
  );
  check(registered.data.verification_required, "registration did not ask for the emailed code");
  const code = options.verificationCode(email);
  if (code === undefined) throw new Error(`no verification code was mailed to ${email}`);
  const verified = expectData(
    "verify the email",
    await client.POST("/api/v1/foundation/users/register/verify", { body: { email, code } }),
  );
  check(verified.data.email_verified, "the verified owner is not email_verified");
  check(verified.data.user_id === registered.data.user_id, "verify answered another owner");
  const session = expectData(
    "log in",
    await client.POST("/api/v1/foundation/users/login", { body: { email, password } }),
  );
  const owner = { authorization: `Bearer ${session.data.session_token}` };

  // Its site and its agent; each token is shown once, here.
  const site = expectData(
    "register a site",
    await client.POST("/api/v1/foundation/sites/register", {
      headers: owner,
      body: { display_name: "Contract shop", pow_difficulty: 8 },
    }),
  );
  const agent = expectData(
    "register an agent",
    await client.POST("/api/v1/core/agents/register", {
      headers: owner,
      body: { display_name: "Contract agent", description: "drives the generated client" },
    }),
  );
  const siteToken = site.data.site_token;
  const agentToken = agent.data.agent_token;

  // Step 1 (site): open a login request.
  const opened = expectData(
    "open a login request",
    await client.POST("/api/v1/modules/agent-login/requests", {
      params: { header: { "x-site-token": siteToken } },
      body: {},
    }),
  );
  const id = opened.data.login_request_id;
  check(opened.data.status === "PENDING", `a new login request is ${opened.data.status}`);
  check(opened.data.site_id === site.data.site_id, "the login request names another site");

  // Step 2 (agent): the challenge, solved with the project's own solver.
  const challenge = expectData(
    "fetch the challenge",
    await client.GET("/api/v1/auth/requests/{id}", { params: { path: { id } } }),
  );
  check(challenge.data.site.site_id === site.data.site_id, "the challenge names another site");
  const { nonce } = await solve(challenge.data.pow_challenge, challenge.data.pow_difficulty);

  // Step 3 (agent): approve with the nonce.
  const approved = expectData(
    "approve",
    await client.POST("/api/v1/modules/agent-login/requests/{id}/approve", {
      params: { path: { id }, header: { "x-agent-token": agentToken } },
      body: { pow_nonce: nonce },
    }),
  );
  check(approved.data.status === "APPROVED", `the approval answered ${approved.data.status}`);
  check(approved.data.approved_agent_id === agent.data.agent_id, "approved by another agent");

  // Step 5 (site): the request, with the passport.
  const read = expectData(
    "read the login request",
    await client.GET("/api/v1/modules/agent-login/requests/{id}", {
      params: { path: { id }, header: { "x-site-token": siteToken } },
    }),
  );
  const jwt = read.data.agent_passport_jwt;
  if (jwt === null) throw new Error(`the approved request (${read.data.status}) carries no passport`);

  // The passport verifies against the published keys, and its key is in the set the description types.
  const jwks = expectData("fetch the JWKS", await client.GET("/.well-known/jwks.json", {}));
  const { kid } = decodeProtectedHeader(jwt);
  let published = false;
  for (const key of jwks.keys) if (key.kid === kid) published = true;
  if (kid === undefined || !published) {
    throw new Error(`the passport's kid ${kid} is not in the JWKS`);
  }
  const keySet = createRemoteJWKSet(new URL("/.well-known/jwks.json", options.baseUrl));
  const { payload } = await jwtVerify(jwt, keySet, {
    issuer: options.issuer,
    audience: "lime-site-login",
    currentDate: options.now?.(),
  });
  check(payload.sub === agent.data.agent_id, "the passport names another agent");

  return {
    ownerId: registered.data.user_id,
    siteId: site.data.site_id,
    agentId: agent.data.agent_id,
    loginRequestId: id,
    kid,
    passport: payload,
  };
}
