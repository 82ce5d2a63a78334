/**
 * An `OAuthClientProvider` for the official MCP client that completes the
 * authorization code flow headlessly, as a LIME agent: where a browser app
 * would open the authorization URL, `redirectToAuthorization` follows it
 * itself, presenting the agent token and solving the proof-of-work
 * challenge the authorization endpoint hands out, and reads the code from
 * the redirect. PKCE, discovery, registration (DCR or a Client ID Metadata
 * Document), token exchange and refresh stay the SDK's.
 *
 * The agent token goes only to the LIME server named in `limeUrl`: the
 * authorization URL comes from metadata an MCP server controls, and a
 * hostile server could otherwise point it at a collector. The redirect is
 * checked too: same redirect URI, the `state` sent, and `iss` equal to the
 * issuer discovery found (RFC 9207 §2.4).
 *
 * @example
 * const provider = new AgentOAuthProvider({ limeUrl: "https://lime.example", agentToken });
 * const client = await connectWithOAuth("https://tools.example/mcp", provider);
 * await client.callTool({ name: "whoami", arguments: {} });
 */

import { solve } from "@lime-ts/core/pow";
import type { OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import { type OAuthClientProvider, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";

type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface AgentOAuthProviderOptions {
  /** The LIME server (issuer) this agent belongs to; the agent token is sent nowhere else. */
  limeUrl: string;
  agentToken: string;
  /** Registered redirect URI; never served, the agent reads the code from the Location header. */
  redirectUrl?: string;
  /** An https URL serving this client's metadata document: the client id, when the server accepts CIMD. */
  clientMetadataUrl?: string;
  clientName?: string;
  fetch?: FetchLike;
}

export class AgentAuthorizationError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = "AgentAuthorizationError";
  }
}

export class AgentOAuthProvider implements OAuthClientProvider {
  readonly clientMetadataUrl?: string;
  readonly #options: AgentOAuthProviderOptions;
  readonly #redirectUrl: string;
  readonly #fetch: FetchLike;
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier: string | undefined;
  #state: string | undefined;
  #discovery: OAuthDiscoveryState | undefined;
  #code: string | undefined;

  constructor(options: AgentOAuthProviderOptions) {
    this.#options = options;
    this.#redirectUrl = options.redirectUrl ?? "http://127.0.0.1:8976/callback";
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    if (options.clientMetadataUrl !== undefined) this.clientMetadataUrl = options.clientMetadataUrl;
  }

  get redirectUrl(): string {
    return this.#redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.#options.clientName ?? "LIME agent",
      redirect_uris: [this.#redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
    } as OAuthClientMetadata;
  }

  state(): string {
    this.#state = crypto.randomUUID();
    return this.#state;
  }

  clientInformation() {
    return this.#client;
  }

  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info;
  }

  tokens() {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }

  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    if (this.#verifier === undefined) throw new Error("no code verifier saved");
    return this.#verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.#discovery = state;
  }

  discoveryState() {
    return this.#discovery;
  }

  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery") {
    if (scope === "all" || scope === "client") this.#client = undefined;
    if (scope === "all" || scope === "tokens") this.#tokens = undefined;
    if (scope === "all" || scope === "verifier") this.#verifier = undefined;
    if (scope === "all" || scope === "discovery") this.#discovery = undefined;
  }

  /** The code the last authorization produced, once (hand it to `transport.finishAuth`). */
  takeAuthorizationCode(): string {
    const code = this.#code;
    this.#code = undefined;
    if (code === undefined) throw new Error("no authorization code is waiting");
    return code;
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    const lime = new URL(this.#options.limeUrl);
    if (authorizationUrl.origin !== lime.origin) {
      throw new AgentAuthorizationError(
        "FOREIGN_AUTHORIZATION_SERVER",
        `The MCP server delegates to ${authorizationUrl.origin}, not to this agent's LIME server.`,
      );
    }
    const headers = { "x-agent-token": this.#options.agentToken, accept: "application/json" };
    const challenge = await this.#fetch(authorizationUrl, { headers, redirect: "manual" });
    if (challenge.status >= 300 && challenge.status < 400) {
      this.#readRedirect(challenge.headers.get("location"));
      return;
    }
    const body = (await challenge.json().catch(() => null)) as Record<string, unknown> | null;
    const data = body?.ok === true ? (body.data as Record<string, unknown>) : null;
    if (data === null) throw errorFrom(body, challenge.status);
    const { nonce } = await solve(data.pow_challenge as string, data.pow_difficulty as number);
    const approval = await this.#fetch(`${authorizationUrl.origin}${authorizationUrl.pathname}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ authorization_request_id: data.authorization_request_id, pow_nonce: nonce }),
      redirect: "manual",
    });
    if (approval.status < 300 || approval.status >= 400) {
      throw errorFrom(await approval.json().catch(() => null), approval.status);
    }
    this.#readRedirect(approval.headers.get("location"));
  }

  #readRedirect(location: string | null): void {
    if (location === null)
      throw new AgentAuthorizationError("NO_REDIRECT", "The authorization endpoint did not redirect.");
    const url = new URL(location);
    const expected = new URL(this.#redirectUrl);
    if (url.origin !== expected.origin || url.pathname !== expected.pathname) {
      throw new AgentAuthorizationError(
        "WRONG_REDIRECT",
        "The authorization response went to another redirect URI.",
      );
    }
    const issuer = this.#discovery?.authorizationServerMetadata?.issuer;
    if (issuer !== undefined && url.searchParams.get("iss") !== issuer) {
      throw new AgentAuthorizationError(
        "ISSUER_MISMATCH",
        "The authorization response names another issuer (RFC 9207).",
      );
    }
    if (this.#state !== undefined && url.searchParams.get("state") !== this.#state) {
      throw new AgentAuthorizationError(
        "STATE_MISMATCH",
        "The authorization response carries another state.",
      );
    }
    const error = url.searchParams.get("error");
    if (error !== null) {
      throw new AgentAuthorizationError(error, url.searchParams.get("error_description") ?? error);
    }
    const code = url.searchParams.get("code");
    if (code === null)
      throw new AgentAuthorizationError("NO_CODE", "The authorization response carries no code.");
    this.#code = code;
  }
}

function errorFrom(body: unknown, status: number): AgentAuthorizationError {
  const record = (body ?? {}) as { error?: unknown; error_description?: unknown };
  if (typeof record.error === "object" && record.error !== null) {
    const envelope = record.error as { code?: string; message?: string };
    return new AgentAuthorizationError(envelope.code ?? "HTTP_ERROR", envelope.message ?? `HTTP ${status}`);
  }
  if (typeof record.error === "string") {
    return new AgentAuthorizationError(record.error, String(record.error_description ?? record.error));
  }
  return new AgentAuthorizationError("HTTP_ERROR", `The authorization endpoint answered HTTP ${status}.`);
}

/**
 * Connects the official MCP client to `serverUrl`, completing the OAuth flow
 * when the server asks for it (the SDK's `UnauthorizedError` →
 * `finishAuth(code)` → reconnect pattern).
 */
export async function connectWithOAuth(
  serverUrl: string,
  provider: AgentOAuthProvider,
  options: { fetch?: FetchLike } = {},
): Promise<Client> {
  const open = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {
      authProvider: provider,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    const client = new Client({ name: "lime-agent", version: "1.0.0" });
    return { client, transport };
  };
  const first = await open();
  try {
    await first.client.connect(first.transport);
    return first.client;
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    await first.transport.finishAuth(provider.takeAuthorizationCode());
  }
  const second = await open();
  await second.client.connect(second.transport);
  return second.client;
}
