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
  fetch?: FetchLike;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
}

/** The client's token: the option that carries it, its value as given, and the variable read when it is absent. */
export interface TokenSource {
  option: string;
  value: string | undefined;
  env: string;
}

export interface Connection {
  token: string;
  fetch: FetchLike;
  http: HttpClient;
}

/**
 * @param client the class name the TypeErrors start with, e.g. "AgentClient"
 * @example
 * resolveConnection("SiteClient", options, { option: "siteToken", value: options.siteToken, env: "LIME_SITE_TOKEN" });
 */
export function resolveConnection(
  client: string,
  options: ConnectionOptions,
  token: TokenSource,
): Connection {
  const baseUrl = options.baseUrl ?? readEnv("LIME_API_BASE");
  if (baseUrl === undefined) throw new TypeError(`${client}: baseUrl is required (or set LIME_API_BASE)`);
  const value = token.value ?? readEnv(token.env);
  if (typeof value !== "string" || value.trim() === "") {
    throw new TypeError(`${client}: ${token.option} is required (or set ${token.env})`);
  }
  const fetch = options.fetch ?? globalFetch;
  const http = new HttpClient({ baseUrl, fetch, retry: options.retry, timeoutMs: options.timeoutMs });
  return { token: value.trim(), fetch, http };
}
