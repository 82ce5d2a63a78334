/**
 * What AgentClient and SiteClient both start from: the server's base URL and
 * the client's secret token (from the options, else the environment, so a
 * deployment can configure a client without code), the transport, and the
 * HttpClient over them.
 */
import { readEnv } from "./env.ts";
import { type FetchLike, globalFetch, HttpClient } from "./http.ts";
import type { RetryPolicy } from "./retry.ts";

export interface ConnectionOptions {
  baseUrl?: string;
  /** Accept a plain `http:` base URL off loopback. Development only. */
  allowInsecureTransport?: boolean;
  fetch?: FetchLike;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
}

export interface Connection {
  token: string;
  fetch: FetchLike;
  http: HttpClient;
}

/**
 * @param client the class name the TypeErrors start with, e.g. "AgentClient"
 * @param tokenOption the option that carries the token; `tokenEnv` is read when it is absent
 * @example
 * resolveConnection("SiteClient", options, "siteToken", "LIME_SITE_TOKEN");
 */
export function resolveConnection<K extends string>(
  client: string,
  options: ConnectionOptions & { [key in K]?: string },
  tokenOption: K,
  tokenEnv: string,
): Connection {
  const baseUrl = options.baseUrl ?? readEnv("LIME_API_BASE");
  if (baseUrl === undefined) throw new TypeError(`${client}: baseUrl is required (or set LIME_API_BASE)`);
  const label = `${client}: ${options.baseUrl === undefined ? "LIME_API_BASE" : "baseUrl"}`;
  const raw: unknown = options[tokenOption] ?? readEnv(tokenEnv);
  const token = typeof raw === "string" ? raw.trim() : "";
  if (token === "") {
    throw new TypeError(`${client}: ${tokenOption} is required (or set ${tokenEnv})`);
  }
  // Checked here because fetch would refuse it later, and Node's and Deno's
  // fetch quote the refused header value (the token) in their error.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new TypeError(`${client}: ${tokenOption} must be printable ASCII without spaces (${tokenEnv})`);
  }
  const fetch = options.fetch ?? globalFetch;
  const http = new HttpClient({
    baseUrl,
    label,
    allowInsecureTransport: options.allowInsecureTransport,
    fetch,
    retry: options.retry,
    timeoutMs: options.timeoutMs,
  });
  return { token, fetch, http };
}
