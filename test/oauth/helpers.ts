/**
 * An identity server for the OAuth tests whose issuer is the URL it really
 * listens on (OAuth clients compare the metadata's `issuer` with the URL
 * they derived it from, so `http://127.0.0.1:0` will not do), built with the
 * same `createApp` as production, plus HTTP helpers that provision owners,
 * agents and resources.
 */

import type { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pow from "@lime-ts/core/pow";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  EXAMPLE_SCOPE,
  type RunningMcpServer,
  startExampleMcpServer,
} from "../../examples/mcp-server/server.ts";
import { createApp, type LimeServer } from "../../server/app.ts";
import type { OAuthConfig, ServerConfig } from "../../server/config.ts";
import { createJsonLogger } from "../../server/infrastructure/logger.ts";
import { openDatabase } from "../../server/infrastructure/sqlite/database.ts";
import { CapturingMailer, FakeClock, freePort, testConfig } from "../../server/testing.ts";

export interface OAuthTestServer {
  url: string;
  issuer: string;
  clock: FakeClock;
  db: Database;
  server: LimeServer;
  config: ServerConfig;
  stop(): Promise<void>;
}

export interface OAuthServerOptions {
  oauth?: Partial<Omit<OAuthConfig, "cimd">> & { cimd?: Partial<OAuthConfig["cimd"]> };
  emailVerification?: boolean;
  /** A path in PUBLIC_URL (the issuer), as behind a reverse proxy that strips it. */
  issuerPath?: string;
  /** The issuer's host name (default 127.0.0.1); the server listens on 127.0.0.1 either way. */
  issuerHost?: string;
}

export async function startOAuthServer(options: OAuthServerOptions = {}): Promise<OAuthTestServer> {
  const dir = mkdtempSync(join(tmpdir(), "lime-oauth-"));
  const db = openDatabase(join(dir, "lime.sqlite"));
  const clock = new FakeClock();
  const port = await freePort();
  const issuer = `http://${options.issuerHost ?? "127.0.0.1"}:${port}${options.issuerPath ?? ""}`;
  const base = testConfig();
  const config: ServerConfig = {
    ...base,
    port,
    publicUrl: issuer,
    emailVerification: options.emailVerification ?? false,
    oauth: {
      ...base.oauth,
      powDifficulty: 6,
      registrationsPerMinute: 1000,
      tokenRequestsPerMinute: 10_000,
      authorizeRequestsPerMinute: 10_000,
      ...options.oauth,
      cimd: { ...base.oauth.cimd, ...options.oauth?.cimd },
    },
  };
  const server = await createApp({
    config,
    db,
    keyEncryptionKey: crypto.getRandomValues(new Uint8Array(32)),
    clock,
    mailer: new CapturingMailer(),
    logger: createJsonLogger("error"),
    startMaintenance: false,
  });
  const { url } = await server.listen(port, "127.0.0.1");
  return {
    url,
    issuer,
    clock,
    db,
    server,
    config,
    async stop() {
      await server.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON members
  body: any;
}

export async function call(
  base: string,
  path: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    json?: unknown;
    form?: Record<string, string | string[]>;
  } = {},
): Promise<JsonAnswer> {
  const headers = new Headers(init.headers);
  let body: string | undefined;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  if (init.form !== undefined) {
    headers.set("content-type", "application/x-www-form-urlencoded");
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(init.form)) {
      for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
    }
    body = params.toString();
  }
  const response = await fetch(base + path, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
    redirect: "manual",
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

function expectOk(answer: JsonAnswer, what: string) {
  if (answer.status >= 300 || answer.body?.ok !== true) {
    throw new Error(`${what} failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body.data;
}

export interface Owner {
  email: string;
  password: string;
  ownerId: string;
  sessionToken: string;
}

export async function registerOwner(url: string): Promise<Owner> {
  const email = `owner-${crypto.randomUUID()}@example.test`;
  const password = "correct horse battery staple";
  const registered = expectOk(
    await call(url, "/api/v1/foundation/users/register", { json: { email, password } }),
    "register",
  );
  const session = expectOk(
    await call(url, "/api/v1/foundation/users/login", { json: { email, password } }),
    "login",
  );
  return { email, password, ownerId: registered.user_id, sessionToken: session.session_token };
}

export interface Agent {
  agentId: string;
  agentToken: string;
}

export async function registerAgent(url: string, owner: Owner): Promise<Agent> {
  const agent = expectOk(
    await call(url, "/api/v1/core/agents/register", {
      headers: { authorization: `Bearer ${owner.sessionToken}` },
      json: { display_name: "Research agent" },
    }),
    "agent register",
  );
  return { agentId: agent.agent_id, agentToken: agent.agent_token };
}

export async function registerResource(
  url: string,
  owner: Owner,
  resource: string,
  scopes: string[] = ["mcp:tools"],
): Promise<{ resourceId: string; introspectionToken: string; resource: string }> {
  const data = expectOk(
    await call(url, "/api/v1/modules/oauth/resources", {
      headers: { authorization: `Bearer ${owner.sessionToken}` },
      json: { resource, display_name: "Test MCP server", scopes },
    }),
    "resource register",
  );
  return {
    resourceId: data.resource_id,
    introspectionToken: data.introspection_token,
    resource: data.resource,
  };
}

/** A test server with an owner, the owner's agent and one protected resource already registered. */
export interface ProvisionedServer extends OAuthTestServer {
  owner: Owner;
  agent: Agent;
  /** The resource's credential for introspection (RFC 7662 §2.1). */
  introspectionToken: string;
}

/** Registers an owner, its agent and `resource` (with `scopes`) on `server`, in that order. */
export async function provisionServer(
  server: OAuthTestServer,
  resource: string,
  scopes?: string[],
): Promise<ProvisionedServer> {
  const owner = await registerOwner(server.url);
  const agent = await registerAgent(server.url, owner);
  const { introspectionToken } = await registerResource(server.url, owner, resource, scopes);
  return Object.assign(server, { owner, agent, introspectionToken });
}

/** `startOAuthServer`, then `provisionServer`; a server whose provisioning fails is stopped. */
export async function startProvisionedServer(
  resource: string,
  options: OAuthServerOptions & { scopes?: string[] } = {},
): Promise<ProvisionedServer> {
  const server = await startOAuthServer(options);
  try {
    return await provisionServer(server, resource, options.scopes);
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * A provisioned server whose resource is the example MCP server, which
 * trusts it as issuer and reads the same fake clock; `stop` stops both.
 */
export async function startWithExampleMcp(
  options: OAuthServerOptions = {},
): Promise<{ t: ProvisionedServer; mcp: RunningMcpServer; stop(): Promise<void> }> {
  const server = await startOAuthServer(options);
  const mcp = startExampleMcpServer({ issuer: server.issuer, now: () => server.clock.now() });
  const stop = async () => {
    await mcp.stop();
    await server.stop();
  };
  try {
    return { t: await provisionServer(server, mcp.resource, [EXAMPLE_SCOPE]), mcp, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function revokeAgent(url: string, owner: Owner, agentId: string): Promise<void> {
  const answer = await call(url, `/api/v1/core/agents/${agentId}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${owner.sessionToken}` },
  });
  if (answer.status !== 204) throw new Error(`agent revoke failed: ${answer.status}`);
}

/** The claims of a JWT, unverified (tests verify separately where it matters). */
export function peekClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8"));
}

export function peekHeader(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString("utf8"));
}

/** A PKCE pair (RFC 7636 §4.1-4.2) hashed with @noble/hashes, independent of the server's node:crypto. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const challenge = Buffer.from(sha256(new TextEncoder().encode(verifier))).toString("base64url");
  return { verifier, challenge };
}

export async function solvePow(challenge: string, difficulty: number): Promise<string> {
  return (await pow.solve(challenge, difficulty)).nonce;
}

export const REDIRECT_URI = "http://127.0.0.1:8976/callback";
export const OAUTH = "/api/v1/modules/oauth";

/** RFC 7591 registration of a public client; returns its client id. */
export async function registerClient(url: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const answer = await call(url, `${OAUTH}/register`, {
    json: {
      client_name: "Test client",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      ...metadata,
    },
  });
  if (answer.status !== 201)
    throw new Error(`registration failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.client_id;
}

export interface AuthorizationParams {
  clientId: string;
  resource?: string | string[];
  redirectUri?: string;
  challenge?: string;
  method?: string;
  state?: string;
  scope?: string;
  responseType?: string;
  extra?: Record<string, string>;
}

/** The authorization URL path and query for `params` (PKCE S256 unless told otherwise). */
export function authorizationPath(params: AuthorizationParams): string {
  const query = new URLSearchParams({
    response_type: params.responseType ?? "code",
    client_id: params.clientId,
    redirect_uri: params.redirectUri ?? REDIRECT_URI,
    state: params.state ?? "state-123",
  });
  if (params.challenge !== undefined) query.set("code_challenge", params.challenge);
  if (params.method !== undefined) query.set("code_challenge_method", params.method);
  for (const resource of [params.resource ?? []].flat()) query.append("resource", resource);
  if (params.scope !== undefined) query.set("scope", params.scope);
  for (const [name, value] of Object.entries(params.extra ?? {})) query.append(name, value);
  return `${OAUTH}/authorize?${query}`;
}

/** The agent self-approval path: GET (challenge) → solve → POST → the redirect Location. */
export async function agentApprove(
  url: string,
  agentToken: string,
  params: AuthorizationParams,
): Promise<{ location: URL; code: string | null }> {
  const challenge = await call(url, authorizationPath(params), { headers: { "x-agent-token": agentToken } });
  if (challenge.status !== 200)
    throw new Error(`challenge failed: ${challenge.status} ${JSON.stringify(challenge.body)}`);
  const { authorization_request_id, pow_challenge, pow_difficulty } = challenge.body.data;
  const nonce = await solvePow(pow_challenge, pow_difficulty);
  const approval = await call(url, `${OAUTH}/authorize`, {
    headers: { "x-agent-token": agentToken },
    json: { authorization_request_id, pow_nonce: nonce },
  });
  if (approval.status !== 302)
    throw new Error(`approval failed: ${approval.status} ${JSON.stringify(approval.body)}`);
  const location = new URL(approval.headers.get("location")!);
  return { location, code: location.searchParams.get("code") };
}

/** `agentApprove` with a fresh PKCE pair (S256): the code, the verifier to redeem it with, the redirect. */
export async function approveWithPkce(
  url: string,
  agentToken: string,
  params: Omit<AuthorizationParams, "challenge" | "method">,
): Promise<{ code: string; verifier: string; location: URL }> {
  const pkce = pkcePair();
  const { code, location } = await agentApprove(url, agentToken, {
    ...params,
    challenge: pkce.challenge,
    method: "S256",
  });
  if (code === null) throw new Error(`approval redirected without a code: ${location}`);
  return { code, verifier: pkce.verifier, location };
}

/** The authorization code grant (OAuth 2.1 §4.1.3) for a public client at `REDIRECT_URI`; `extra` adds or overrides members. */
export function exchangeCode(
  url: string,
  grant: { code: string; verifier: string; clientId: string },
  extra: Record<string, string | string[]> = {},
): Promise<JsonAnswer> {
  return tokenRequest(url, {
    grant_type: "authorization_code",
    code: grant.code,
    code_verifier: grant.verifier,
    redirect_uri: REDIRECT_URI,
    client_id: grant.clientId,
    ...extra,
  });
}

export async function tokenRequest(
  url: string,
  form: Record<string, string | string[]>,
): Promise<JsonAnswer> {
  return call(url, `${OAUTH}/token`, { form });
}
