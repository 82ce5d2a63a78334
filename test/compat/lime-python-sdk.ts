/**
 * What LIME's published Python SDKs put on the wire and how they read the
 * answers, re-expressed in TypeScript so our server can be held to them:
 * `lime-agents-sdk` 1.0 (`LimeAgent`), `lime-sites-sdk` 0.x-2.0 (`LimeSite`)
 * and `lime-mcp-server-sdk` 0.5-1.0 (`TokenVerifier`). Written from reading
 * their behaviour (docs/compat-lime-python.md names the source file for each
 * rule); no code of theirs is copied. Signatures are checked with `jose`, an
 * implementation independent of our `core/passport`.
 */

import { createHash } from "node:crypto";
import { compactVerify, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from "jose";

/** The SDK exception a response turns into, with what the caller can branch on. */
export class SdkError extends Error {
  constructor(
    readonly kind:
      | "AuthenticationError"
      | "RateLimitError"
      | "ApiError"
      | "LimeError"
      | "InvalidPassportError",
    readonly code: string | undefined,
    readonly httpStatus: number | undefined,
    message: string,
    /** `error.detail` when it is an object (`_parse_envelope`), else empty. */
    readonly detail: Json = {},
  ) {
    super(`${kind}(${code ?? "-"}, HTTP ${httpStatus ?? "-"}): ${message}`);
  }
}

export type Json = Record<string, unknown>;

/** The codes each SDK's client maps to `AuthenticationError` even without a 401. */
export const AGENT_AUTH_CODES = new Set(["MISSING_AGENT_TOKEN", "INVALID_AGENT_TOKEN"]);
export const SITE_AUTH_CODES = new Set(["SITE_TOKEN_MISSING", "SITE_TOKEN_INVALID", "SITE_SUSPENDED"]);

/**
 * The envelope reading both clients share: `ok: true` must carry a `data`
 * object; otherwise a 429 or RATE_LIMIT_EXCEEDED is a rate-limit error, a 401
 * or one of the client's auth codes an authentication error, anything else an
 * API error with the server's code.
 */
export function readEnvelope(status: number, text: string, authCodes: Set<string>): Json {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new SdkError("LimeError", undefined, status, "Invalid JSON response");
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new SdkError("LimeError", undefined, status, "Unexpected response shape");
  }
  const body = payload as Json;
  if (body.ok === true) {
    const data = body.data;
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      throw new SdkError("LimeError", undefined, status, "Success envelope missing data object");
    }
    return data as Json;
  }
  const error = body.error;
  if (error === null || typeof error !== "object" || Array.isArray(error)) {
    throw new SdkError("LimeError", undefined, status, "Error envelope missing error object");
  }
  const {
    code = "UNKNOWN_ERROR",
    message = "Unknown error",
    detail: rawDetail,
  } = error as {
    code?: unknown;
    message?: unknown;
    detail?: unknown;
  };
  const codeText = String(code);
  const detail =
    rawDetail !== null && typeof rawDetail === "object" && !Array.isArray(rawDetail)
      ? (rawDetail as Json)
      : {};
  if (status === 429 || codeText === "RATE_LIMIT_EXCEEDED") {
    throw new SdkError("RateLimitError", codeText, status, String(message), detail);
  }
  if (status === 401 || authCodes.has(codeText)) {
    throw new SdkError("AuthenticationError", codeText, status, String(message), detail);
  }
  throw new SdkError("ApiError", codeText, status, String(message), detail);
}

/** httpx 0.27 serialises `json=` with `json.dumps` defaults: `", "` and `": "` separators. */
export function pythonJson(value: Json): string {
  return JSON.stringify(value).replace(/":/g, '": ').replace(/,"/g, ', "');
}

/**
 * `datetime.fromisoformat(value.replace("Z", "+00:00"))` as Python 3.10 (the
 * SDKs' floor) accepts it: seconds optional, fractions of exactly 3 or 6
 * digits, and an offset here so the value is timezone-aware.
 */
export function parsePythonIsoTime(value: unknown): Date {
  const text = String(value).replace("Z", "+00:00");
  const match = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{3}(?:\d{3})?)?)?[+-]\d{2}:\d{2}$/.exec(
    text,
  );
  if (!match) throw new SdkError("LimeError", undefined, undefined, `fromisoformat rejects ${text}`);
  return new Date(text);
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

async function send(url: string, init: RequestInit): Promise<HttpAnswer> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** `LimeClient` of lime-agents-sdk: base URL includes `/api/v1`. */
export class AgentSdkClient {
  /** Every request this client sent, for assertions on the wire. */
  readonly sent: Array<{ method: string; url: string; headers: Record<string, string>; body?: string }> = [];

  constructor(
    readonly baseUrl: string,
    readonly agentToken: string,
  ) {}

  private async request(method: "GET" | "POST", path: string, authenticated: boolean, body?: Json) {
    const url = `${this.baseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
    const headers: Record<string, string> = { Accept: "application/json" };
    // The SDK sets Content-Type on every authenticated call, GETs without a body included.
    if (authenticated) {
      headers["X-Agent-Token"] = this.agentToken;
      headers["Content-Type"] = "application/json";
    }
    const payload = body === undefined ? undefined : pythonJson(body);
    this.sent.push({ method, url, headers, ...(payload === undefined ? {} : { body: payload }) });
    return send(url, { method, headers, body: payload });
  }

  async getPublic(path: string): Promise<Json> {
    const answer = await this.request("GET", path, false);
    return readEnvelope(answer.status, answer.text, AGENT_AUTH_CODES);
  }

  async get(path: string): Promise<Json> {
    const answer = await this.request("GET", path, true);
    return readEnvelope(answer.status, answer.text, AGENT_AUTH_CODES);
  }

  async post(path: string, body: Json): Promise<Json> {
    const answer = await this.request("POST", path, true, body);
    return readEnvelope(answer.status, answer.text, AGENT_AUTH_CODES);
  }

  /** `post_raw`: the OAuth token call, read without the envelope. */
  async postRaw(path: string, body: Json): Promise<HttpAnswer> {
    return this.request("POST", path, true, body);
  }
}

/** lime-agents-sdk `_pow.solve`: counts up from 0; valid when the digest, as an integer, is below 2^(256-d). */
export function agentSdkSolve(challenge: string, difficulty: number): string {
  if (difficulty <= 0) return "0";
  const threshold = 1n << BigInt(256 - difficulty);
  for (let nonce = 0; ; nonce++) {
    const digest = createHash("sha256").update(`${challenge}${nonce}`, "utf8").digest("hex");
    if (BigInt(`0x${digest}`) < threshold) return String(nonce);
  }
}

/** `ApprovalResult.from_api`. */
export function approvalResult(data: Json) {
  return {
    requestId: String(data.request_id),
    siteId: String(data.site_id),
    status: String(data.status),
    expiresAt: parsePythonIsoTime(data.expires_at),
    approvedAgentId: data.approved_agent_id ? String(data.approved_agent_id) : null,
  };
}

/** `LimeAgent.login(request_id)`: challenge (public) → solve → approve with the agent token. */
export async function agentSdkLogin(client: AgentSdkClient, requestId: string) {
  const id = requestId.trim();
  const challenge = await client.getPublic(`/auth/requests/${id}`);
  const powChallenge = String(challenge.pow_challenge);
  const difficulty = Number.parseInt(String(challenge.pow_difficulty), 10);
  const nonce = agentSdkSolve(powChallenge, difficulty);
  return approvalResult(
    await client.post(`/modules/agent-login/requests/${id}/approve`, { pow_nonce: nonce }),
  );
}

/** `AgentProfile.from_api`: ids through `str()`, the rest read as given. */
export async function agentSdkProfile(client: AgentSdkClient) {
  const data = await client.get("/core/agents/me/profile");
  return {
    agentId: String(data.agent_id),
    ownerId: String(data.owner_id),
    displayName: data.display_name,
    avatarUrl: data.avatar_url,
    description: data.description,
    ownerKycLevel: data.owner_kyc_level,
    agentReputation: data.agent_reputation,
  };
}

const RFC6749_TOKEN_MEMBERS = ["access_token", "expires_in", "token_type"];

const DNS_HOSTNAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * `extract_and_normalize_domain(target)` (`_domain.py`): a URL or a host
 * name becomes a lowercase DNS host name; the scheme, the path and a
 * numeric `:port` are dropped; userinfo and IP literals are refused.
 */
export function agentSdkDomain(target: string): string {
  let value = target.trim();
  if (value === "") throw new Error("target must be a non-empty string");
  const lower = value.toLowerCase();
  if (lower.startsWith("https://")) value = value.slice(8);
  else if (lower.startsWith("http://")) value = value.slice(7);
  value = value.split("/", 1)[0]!.trim().toLowerCase();
  if (value.includes("@")) throw new Error("target must not include userinfo");
  if (value.startsWith("[") && value.includes("]")) throw new Error("target must not be an IP address");
  if (value.includes(":")) {
    const [host, port] = [value.slice(0, value.indexOf(":")), value.slice(value.indexOf(":") + 1)];
    if (!/^\d+$/.test(port)) throw new Error("target must contain a valid DNS hostname");
    value = host;
  }
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(value)) throw new Error("target must not be an IP address");
  if (!DNS_HOSTNAME.test(value)) throw new Error("target must contain a valid DNS hostname");
  return value;
}

/** `LimeAgent.get_mcp_access_token(target)`: the domain of `target`, then the token call. */
export function agentSdkGetMcpAccessToken(client: AgentSdkClient, target: string) {
  return agentSdkMcpToken(client, agentSdkDomain(target));
}

/**
 * `_McpTokenIssuer._issue_token`: POST `/modules/oauth/token` `{"domain"}`;
 * success only on 200 with exactly three members, `Bearer`, a three-part JWT
 * and `Cache-Control: no-store` verbatim; errors as RFC 6749 JSON (string
 * `error`) or the LIME envelope.
 */
export async function agentSdkMcpToken(client: AgentSdkClient, domain: string) {
  const answer = await client.postRaw("/modules/oauth/token", { domain });
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new SdkError("LimeError", undefined, answer.status, "Invalid JSON response");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new SdkError("LimeError", undefined, answer.status, "Unexpected response shape");
  }
  const json = body as Json;
  if (answer.status !== 200) {
    if (typeof json.error === "string") {
      const description = String(json.error_description ?? json.error);
      if (answer.status === 401 || json.error === "invalid_client") {
        throw new SdkError("AuthenticationError", json.error, answer.status, description);
      }
      if (answer.status === 429) throw new SdkError("RateLimitError", json.error, answer.status, description);
      throw new SdkError("ApiError", json.error, answer.status, description);
    }
    if (json.ok === true) throw new SdkError("LimeError", undefined, answer.status, "Unexpected success");
    const error = (json.error ?? null) as { code?: unknown; message?: unknown } | null;
    if (error === null || typeof error !== "object") {
      throw new SdkError("LimeError", undefined, answer.status, "Error envelope missing error object");
    }
    const code = String(error.code ?? "UNKNOWN_ERROR");
    if (answer.status === 429 || code === "RATE_LIMIT_EXCEEDED") {
      throw new SdkError("RateLimitError", code, answer.status, String(error.message));
    }
    if (code === "OAUTH_CAPABILITY_DENIED") {
      throw new SdkError("ApiError", code, answer.status, "OAuthCapabilityError");
    }
    if (answer.status === 401) throw new SdkError("AuthenticationError", code, answer.status, "");
    throw new SdkError("ApiError", code, answer.status, String(error.message));
  }
  const invalid = (why: string) => new SdkError("ApiError", "INVALID_TOKEN_RESPONSE", 200, why);
  if (Object.keys(json).sort().join(",") !== RFC6749_TOKEN_MEMBERS.join(",")) {
    throw invalid("members must be access_token, token_type, expires_in only");
  }
  if (String(json.token_type) !== "Bearer") throw invalid("token_type must be Bearer");
  if ((answer.headers.get("cache-control") ?? "").toLowerCase() !== "no-store") {
    throw invalid("expected Cache-Control: no-store");
  }
  const accessToken = String(json.access_token);
  if (accessToken.split(".").length !== 3) throw invalid("access_token must be a JWT");
  const expiresIn = Number.parseInt(String(json.expires_in), 10);
  if (!Number.isInteger(expiresIn)) throw invalid("expires_in must be an integer");
  return { accessToken, tokenType: "Bearer" as const, expiresIn };
}

/** `LimeSiteClient` of lime-sites-sdk: base URL includes `/api/v1`; the client's default Accept is JSON. */
export class SiteSdkClient {
  constructor(
    readonly baseUrl: string,
    readonly siteToken: string,
  ) {}

  url(path: string): string {
    return `${this.baseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  }

  async post(path: string, body: Json): Promise<Json> {
    const answer = await send(this.url(path), {
      method: "POST",
      headers: {
        Accept: "application/json",
        "X-Site-Token": this.siteToken,
        "Content-Type": "application/json",
      },
      body: pythonJson(body),
    });
    return readEnvelope(answer.status, answer.text, SITE_AUTH_CODES);
  }

  /** Before 1.1.0 the JWKS was read through the envelope, unauthenticated. */
  async getPublic(path: string): Promise<Json> {
    const answer = await send(this.url(path), { headers: { Accept: "application/json" } });
    return readEnvelope(answer.status, answer.text, SITE_AUTH_CODES);
  }

  /** `fetch_spec_document` (1.1.0+): a raw JSON object, only a 200 counts. */
  async fetchSpecDocument(path: string): Promise<Json> {
    const answer = await send(this.url(path), { headers: { Accept: "application/json" } });
    let payload: unknown;
    try {
      payload = JSON.parse(answer.text);
    } catch {
      throw new SdkError("LimeError", undefined, answer.status, "Invalid JSON response");
    }
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      throw new SdkError("LimeError", undefined, answer.status, "Unexpected response shape");
    }
    if (answer.status !== 200) {
      throw new SdkError("LimeError", undefined, answer.status, "Spec document request failed");
    }
    return payload as Json;
  }

  /** `stream()`: the SSE GET, with Accept replaced by text/event-stream and no Last-Event-ID. */
  stream(path: string, signal: AbortSignal): Promise<Response> {
    return fetch(this.url(path), {
      headers: { Accept: "text/event-stream", "X-Site-Token": this.siteToken },
      signal,
    });
  }
}

/** `LimeSite.create_login_request()` → `LoginRequestResult.from_api`. */
export async function siteSdkCreateLoginRequest(client: SiteSdkClient) {
  const data = await client.post("/modules/agent-login/requests", {});
  return {
    requestId: String(data.login_request_id),
    status: String(data.status),
    expiresAt: parsePythonIsoTime(data.expires_at),
  };
}

/**
 * `LimeSite.create_binding_request(redirect_uri=)` (1.2+): `POST
 * /modules/bindings/requests` with exactly `{"redirect_uri": ...}` →
 * `BindingRequestResult.from_api`: `binding_id`, `connect_url` (used as
 * given), `status` through `str()`, `expires_at` through `fromisoformat`.
 */
export async function siteSdkCreateBindingRequest(client: SiteSdkClient, redirectUri: string) {
  const data = await client.post("/modules/bindings/requests", { redirect_uri: redirectUri });
  return {
    bindingId: String(data.binding_id),
    connectUrl: String(data.connect_url),
    status: String(data.status),
    expiresAt: parsePythonIsoTime(data.expires_at),
  };
}

export type LoginHandler = (requestId: string, passport: string | null) => void;

export type FrameKind = "keepalive" | "approved" | "expired" | "error" | "ignore";

/**
 * The site SDK's event dispatcher (1.0+; `wait_for_login` before it read the
 * same frames): one GET on `/modules/agent-login/events`, text split on "\n",
 * every line that starts with `data:` parsed on its own as a JSON object and
 * classified by `type`; `id:`, `retry:`, comments and blank lines are skipped.
 */
export class SiteSdkEventStream {
  readonly frames: Array<{ kind: FrameKind; payload: Json }> = [];
  /** What `_dispatcher.py` logs at error level for an error frame: `SSE error frame: [code] message`. */
  readonly logged: string[] = [];
  status = 0;
  contentType: string | null = null;
  private readonly controller = new AbortController();
  private readonly handlers: LoginHandler[] = [];
  private waiters: Array<() => void> = [];
  private pumping: Promise<void> = Promise.resolve();
  failure: unknown = null;

  onLogin(handler: LoginHandler): void {
    this.handlers.push(handler);
  }

  async connect(client: SiteSdkClient): Promise<this> {
    const response = await client.stream("/modules/agent-login/events", this.controller.signal);
    this.status = response.status;
    this.contentType = response.headers.get("content-type");
    if (response.status >= 400) {
      const body = await response.text();
      throw new SdkError("ApiError", "SSE_HTTP_ERROR", response.status, body.slice(0, 200));
    }
    if (response.body) this.pumping = this.pump(response.body);
    return this;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline = buffer.indexOf("\n");
        while (newline !== -1) {
          const line = buffer.slice(0, newline).replace(/\r$/, "");
          buffer = buffer.slice(newline + 1);
          newline = buffer.indexOf("\n");
          if (!line.startsWith("data:")) continue;
          const raw = line.slice(5).trimStart();
          if (raw !== "") this.dispatch(raw);
        }
      }
    } catch (error) {
      if (!this.controller.signal.aborted) this.failure = error;
    }
    this.wake();
  }

  private dispatch(raw: string): void {
    let payload: unknown;
    try {
      payload = JSON.parse(raw);
    } catch {
      this.failure = new SdkError("ApiError", "SSE_INVALID_JSON", 200, raw.slice(0, 80));
      return;
    }
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      this.failure = new SdkError("ApiError", "SSE_INVALID_FRAME", 200, raw.slice(0, 80));
      return;
    }
    const frame = payload as Json;
    const type = String(frame.type ?? "");
    const requestId = String(frame.login_request_id ?? "").trim();
    let kind: FrameKind = "ignore";
    if (type === "keepalive") kind = "keepalive";
    else if (type === "error") kind = "error";
    else if (requestId !== "" && type === "expired") kind = "expired";
    else if (requestId !== "" && type === "approved") {
      const jwt = frame.agent_passport_jwt;
      if (!jwt || String(jwt).trim() === "") {
        this.failure = new SdkError("ApiError", "SSE_APPROVED_INVALID", 200, "missing agent_passport_jwt");
        return;
      }
      kind = "approved";
    }
    this.frames.push({ kind, payload: frame });
    if (kind === "error") {
      // classify_sse_payload: str(code) defaulting to SSE_ERROR, str(message) to "SSE error frame".
      const code = frame.code === undefined ? "SSE_ERROR" : String(frame.code);
      const message = frame.message === undefined ? "SSE error frame" : String(frame.message);
      this.logged.push(`SSE error frame: [${code}] ${message}`);
    }
    if (kind === "approved" || kind === "expired") {
      const passport = kind === "approved" ? String(frame.agent_passport_jwt) : null;
      for (const handler of this.handlers) handler(requestId, passport);
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once `predicate` holds; rejects after `timeoutMs` or on a frame the SDK would refuse. */
  async waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; frames so far: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.pumping;
  }
}

/**
 * `wait_for_login(request_id)` (site SDK before 1.0): the same stream,
 * frames of other requests skipped; `expired` raises, `approved` returns a
 * `LoginResult`.
 */
export async function siteSdkWaitForLogin(client: SiteSdkClient, requestId: string, timeoutMs = 5000) {
  const stream = new SiteSdkEventStream();
  let result: { requestId: string; agentPassportJwt: string; redirectUrl: string | null } | null = null;
  let expired = false;
  stream.onLogin((id, passport) => {
    if (id !== requestId || result || expired) return;
    if (passport === null) {
      expired = true;
      return;
    }
    const frame = stream.frames.at(-1)!.payload;
    result = {
      requestId: String(frame.login_request_id),
      agentPassportJwt: passport,
      redirectUrl: frame.redirect_url ? String(frame.redirect_url) : null,
    };
  });
  await stream.connect(client);
  try {
    await stream.waitFor(() => result !== null || expired, timeoutMs);
  } finally {
    await stream.close();
  }
  if (expired) throw new SdkError("InvalidPassportError", "SITE_LOGIN_REQUEST_EXPIRED", undefined, "expired");
  return result!;
}

const SITE_JWKS_PATH = "/core/.well-known/jwks.json";

export interface SiteVerifyOptions {
  expectedRequestId?: string;
  /** Site SDK before 1.1.0 read the JWKS through the envelope (`data.keys`). */
  jwksThroughEnvelope?: boolean;
  /** Site SDK before 1.2.1 left PyJWT's `iat` check on (no leeway): `iat` must not be in the future. */
  checkIat?: boolean;
  /** Seconds since the epoch; the SDK uses `time.time()`. */
  now?: number;
  /** Shared across calls like the SDK's module-level kid cache. */
  keyCache?: Map<string, CryptoKey>;
}

function refuse(why: string): SdkError {
  return new SdkError("InvalidPassportError", undefined, undefined, why);
}

/** What `_verify_jwt` is called with: the login profile or the binding profile (`_jwks.py`). */
interface SiteJwtProfile {
  audience: string;
  maxTtlSeconds: number;
  expectedClaim?: [name: string, value: string];
}

/**
 * `_jwks._verify_jwt`, shared by `verify_passport` and
 * `verify_binding_passport`: the `kid` from the unverified header, the key
 * from the JWKS by `kid` (fetch once, refetch once on a miss), an RS256
 * signature, then the SDK's own checks with PyJWT's exp/iat/aud checks
 * turned off: `aud` exactly the profile's audience (a string), numeric
 * `exp`/`iat`, `exp` after now, `exp - iat` at most the profile's TTL, and
 * the expected claim. `sub` is renamed `agent_id` unless `agent_id` exists.
 */
async function siteSdkVerifyJwt(
  client: SiteSdkClient,
  jwt: string,
  profile: SiteJwtProfile,
  options: SiteVerifyOptions,
) {
  const cache = options.keyCache ?? new Map<string, CryptoKey>();
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jwt).kid;
  } catch (error) {
    throw refuse(`JWT header is invalid: ${String(error)}`);
  }
  if (typeof kid !== "string" || kid === "") throw refuse("JWT header missing kid");

  const refresh = async (force: boolean) => {
    if (force) cache.clear();
    const document = options.jwksThroughEnvelope
      ? await client.getPublic(SITE_JWKS_PATH)
      : await client.fetchSpecDocument(SITE_JWKS_PATH);
    const keys = document.keys;
    if (!Array.isArray(keys)) throw refuse("JWKS response missing keys array");
    for (const jwk of keys) {
      if (jwk === null || typeof jwk !== "object") continue;
      const jwkKid = (jwk as JWK).kid;
      if (typeof jwkKid !== "string" || jwkKid === "") continue;
      try {
        // RSAAlgorithm.from_jwk: an RSA key from n/e, whatever alg/use say.
        const { alg: _alg, use: _use, key_ops: _ops, ...material } = jwk as JWK;
        if (material.kty !== "RSA") continue;
        cache.set(jwkKid, (await importJWK(material, "RS256")) as CryptoKey);
      } catch {
        // The SDK logs and skips a key it cannot load.
      }
    }
  };
  if (!cache.has(kid)) {
    await refresh(false);
    if (!cache.has(kid)) await refresh(true);
  }
  const key = cache.get(kid);
  if (!key) throw refuse(`Unknown JWT kid: ${kid}`);

  let claims: Json;
  try {
    const { payload } = await compactVerify(jwt, key, { algorithms: ["RS256"] });
    claims = JSON.parse(new TextDecoder().decode(payload)) as Json;
  } catch (error) {
    throw refuse(`JWT signature verification failed: ${String(error)}`);
  }
  if (claims === null || typeof claims !== "object" || Array.isArray(claims)) {
    throw refuse("JWT payload must be an object");
  }
  const now = options.now ?? Date.now() / 1000;
  // PyJWT still applies these with verify_exp/verify_iat/verify_aud off.
  if ("nbf" in claims && !(typeof claims.nbf === "number" && claims.nbf <= now)) throw refuse("nbf");
  if ("sub" in claims && typeof claims.sub !== "string") throw refuse("sub must be a string");
  if ("jti" in claims && typeof claims.jti !== "string") throw refuse("jti must be a string");
  if (options.checkIat && "iat" in claims && !(Math.trunc(Number(claims.iat)) <= now)) {
    throw refuse("ImmatureSignatureError: iat is in the future");
  }

  if (claims.aud !== profile.audience) throw refuse(`Invalid audience: ${JSON.stringify(claims.aud)}`);
  const { exp, iat } = claims;
  if (typeof exp !== "number" || typeof iat !== "number") throw refuse("JWT missing exp or iat");
  if (exp <= now) throw refuse("JWT has expired");
  if (exp - iat > profile.maxTtlSeconds) {
    throw refuse(`JWT TTL exceeds platform maximum (${profile.maxTtlSeconds}s)`);
  }
  if (profile.expectedClaim !== undefined) {
    const [name, value] = profile.expectedClaim;
    if (String(claims[name]) !== value) throw refuse(`JWT ${name} claim does not match expected request`);
  }
  const { sub, ...rest } = claims;
  const normalized: Json = { ...rest };
  if (sub !== undefined && !("agent_id" in normalized)) normalized.agent_id = sub;
  return { valid: true as const, claims: normalized };
}

/**
 * `LimeSite.verify_passport(jwt, expected_request_id=)`: `_verify_jwt` with
 * `aud` "lime-site-login", a TTL of at most 120 s and, when given, the
 * `request_id` binding.
 */
export function siteSdkVerifyPassport(client: SiteSdkClient, jwt: string, options: SiteVerifyOptions = {}) {
  return siteSdkVerifyJwt(
    client,
    jwt,
    {
      audience: "lime-site-login",
      maxTtlSeconds: 120,
      ...(options.expectedRequestId === undefined
        ? {}
        : { expectedClaim: ["request_id", options.expectedRequestId] as [string, string] }),
    },
    options,
  );
}

/**
 * `LimeSite.verify_binding_passport(jwt)` (2.0): `_verify_jwt` with `aud`
 * "lime-binding" and a TTL of at most 60 s, then a `binding_id` that is a
 * string `.strip()` does not empty. Matching it to the pending request is
 * left to the integrator (2.0 dropped `expected_binding_id`).
 */
export async function siteSdkVerifyBindingPassport(
  client: SiteSdkClient,
  jwt: string,
  options: Omit<SiteVerifyOptions, "expectedRequestId"> = {},
) {
  const result = await siteSdkVerifyJwt(
    client,
    jwt,
    { audience: "lime-binding", maxTtlSeconds: 60 },
    options,
  );
  const bindingId = result.claims.binding_id;
  if (typeof bindingId !== "string" || bindingId.trim() === "") throw refuse("JWT missing binding_id claim");
  return result;
}

export const MCP_METADATA_PATH = "/api/v1/modules/oauth/.well-known/oauth-authorization-server";
export const MCP_JWKS_PATH = "/api/v1/core/.well-known/jwks.json";
const FORBIDDEN_MCP_CLAIMS = ["user_id", "passport_version", "request_id"];

/** lime-mcp-server-sdk's `unwrap_lime_data`, applied to the metadata and to the JWKS alike. */
function unwrapLimeData(body: Json, what: string): Json {
  if (!body.ok) throw new Error(`${what}: LIME envelope not ok`);
  const data = body.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new Error(`${what}: LIME envelope missing data object`);
  }
  return data as Json;
}

async function mcpGet(url: string, what: string): Promise<Json> {
  // The SDK's httpx.Client defaults: Accept JSON and a curl User-Agent.
  const response = await fetch(url, { headers: { Accept: "application/json", "User-Agent": "curl/8.5.0" } });
  if (response.status !== 200) throw new Error(`${what} HTTP ${response.status}`);
  const body = (await response.json()) as unknown;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new Error(`${what} response must be JSON object`);
  }
  return body as Json;
}

/** `JwksCache._fetch_jwks`: same-origin `jwks_uri` only (prefix of base), relative paths kept, empty → default. */
export async function mcpServerSdkFetchJwks(baseUrl: string, jwksUri: string): Promise<JWK[]> {
  let path: string;
  if (jwksUri.startsWith(baseUrl)) path = jwksUri.slice(baseUrl.length);
  else if (jwksUri.startsWith("http")) throw new Error("cross-origin jwks_uri fetch not supported");
  else path = jwksUri || MCP_JWKS_PATH;
  const data = unwrapLimeData(await mcpGet(`${baseUrl}${path}`, "jwks"), "jwks");
  const keys = data.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error("jwks missing keys");
  return keys as JWK[];
}

/** `JwksCache._fetch_snapshot_uncounted`: metadata (enveloped) → issuer + jwks_uri → keys. */
export async function mcpServerSdkSnapshot(baseUrl: string) {
  const metadata = unwrapLimeData(
    await mcpGet(`${baseUrl}${MCP_METADATA_PATH}`, "oauth metadata"),
    "metadata",
  );
  const issuer = String(metadata.issuer ?? "").trim();
  if (issuer === "") throw new Error("metadata missing issuer");
  const keys = await mcpServerSdkFetchJwks(baseUrl, String(metadata.jwks_uri ?? ""));
  return { issuer, keys };
}

/** `normalize_mcp_domain` (resource-server side: ports refused, not stripped). */
export function normalizeMcpDomain(raw: string): string {
  let value = raw.trim();
  if (value === "") throw new Error("domain is required");
  const lower = value.toLowerCase();
  if (lower.startsWith("https://")) value = value.slice(8);
  else if (lower.startsWith("http://")) value = value.slice(7);
  value = value.split("/", 1)[0]!.trim().toLowerCase();
  if (value === "" || value.includes("@") || value.includes(":") || value.startsWith("[")) {
    throw new Error("domain must be a valid DNS hostname");
  }
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(value)) throw new Error("domain must not be an IP address");
  const label = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
  if (value.length > 253 || !new RegExp(`^(?:${label}\\.)*${label}$`).test(value)) {
    throw new Error("domain must be a valid DNS hostname");
  }
  return value;
}

/**
 * `TokenVerifier.verify` (1.0): the key whose `kid` matches (first match),
 * PyJWT decode with RS256, the metadata's issuer, audience "mcp" (a string or
 * an array holding it) and 120 s leeway; then no LIME passport claims, a
 * non-empty `sub`, and a canonical `domain` claim equal to the pin.
 */
export async function mcpServerSdkVerify(
  token: string,
  options: { issuer: string; keys: JWK[]; expectedDomain: string; audience?: string; leewaySeconds?: number },
) {
  const kid = decodeProtectedHeader(token).kid;
  const match = options.keys.find((key) => key.kid === kid);
  if (!match) throw new Error(`no jwks key for kid=${String(kid)}`);
  const { alg: _alg, use: _use, key_ops: _ops, ...material } = match;
  const key = await importJWK(material, "RS256");
  const { payload } = await jwtVerify(token, key, {
    algorithms: ["RS256"],
    issuer: options.issuer,
    audience: options.audience ?? "mcp",
    clockTolerance: options.leewaySeconds ?? 120,
  });
  for (const forbidden of FORBIDDEN_MCP_CLAIMS) {
    if (forbidden in payload) throw new Error(`forbidden claim: ${forbidden}`);
  }
  if (typeof payload.sub !== "string" || payload.sub.trim() === "") throw new Error("missing sub claim");
  const domain = (payload as Json).domain;
  if (typeof domain !== "string" || domain.trim() === "") throw new Error("Missing domain claim");
  let normalized: string;
  try {
    normalized = normalizeMcpDomain(domain);
  } catch {
    throw new Error("Invalid domain claim");
  }
  if (normalized !== domain) throw new Error("Invalid domain claim");
  if (normalized !== normalizeMcpDomain(options.expectedDomain)) throw new Error("Domain mismatch");
  return payload;
}
