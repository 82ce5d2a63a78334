/**
 * Client metadata (RFC 7591 §2) as this server accepts it, for Dynamic
 * Client Registration and for Client ID Metadata Documents alike.
 *
 * Only public clients register: `token_endpoint_auth_method` is "none"
 * (a request for `client_secret_basic`/`_post` is answered with "none",
 * as RFC 7591 §3.2.1 lets the server replace values; the client reads the
 * registered value back). Redirect URIs are https, or http on a loopback
 * host (MCP 2026-07-28 "Communication Security"); never a fragment,
 * credentials or another scheme. Grants are the authorization code and
 * refresh token only: no implicit, no password.
 *
 * @example
 * const metadata = parseClientMetadata(body, "registration"); // throws OAuthError("invalid_redirect_uri", ...)
 */

import {
  APPLICATION_TYPES,
  type ClientMetadataView,
  type GrantType,
  REGISTRABLE_AUTH_METHODS,
  REGISTRABLE_GRANT_TYPES,
  RESPONSE_TYPES,
} from "./contract.ts";
import { OAuthError } from "./errors.ts";

export interface ClientMetadata {
  client_name: string | null;
  redirect_uris: string[];
  grant_types: GrantType[];
  response_types: Array<(typeof RESPONSE_TYPES)[number]>;
  token_endpoint_auth_method: "none" | "private_key_jwt";
  scope: string | null;
  client_uri: string | null;
  logo_uri: string | null;
  tos_uri: string | null;
  policy_uri: string | null;
  contacts: string[];
  software_id: string | null;
  software_version: string | null;
  application_type: (typeof APPLICATION_TYPES)[number] | null;
  /** Public keys of an agent client (private_key_jwt); never taken from a registration request. */
  jwks: { keys: JsonWebKey[] } | null;
}

/** Metadata as `parseClientMetadata` accepts it: a public client of the authorization code flow. */
export interface PublicClientMetadata extends ClientMetadata {
  grant_types: Array<(typeof REGISTRABLE_GRANT_TYPES)[number]>;
  token_endpoint_auth_method: "none";
}

/** Largest registration request or metadata document we read (the CIMD draft suggests 5 KB for documents). */
export const MAX_METADATA_BYTES = 5 * 1024;
const MAX_REDIRECT_URIS = 10;
const MAX_URI_LENGTH = 2048;
const MAX_TEXT_LENGTH = 256;

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** A `scope` parameter as a list: space-separated tokens, duplicates dropped; throws invalid_scope. */
export function parseScope(raw: string | null | undefined): string[] | null {
  if (raw === null || raw === undefined) return null;
  if (raw.length > 2048) throw new OAuthError("invalid_scope", "The scope parameter is too long.");
  const tokens = raw.split(" ").filter((token) => token !== "");
  if (tokens.length === 0) return null;
  if (tokens.length > 32 || !tokens.every(isScopeToken)) {
    throw new OAuthError("invalid_scope", "The scope parameter is not a list of scope tokens.");
  }
  return [...new Set(tokens)];
}

/** Hosts a redirect URI may use over plain http (RFC 8252 §7.3 loopback, plus "localhost" as MCP allows). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/** Why `uri` cannot be a redirect URI, or null when it can. */
export function redirectUriProblem(uri: string): string | null {
  if (uri.length === 0 || uri.length > MAX_URI_LENGTH) return "must be 1 to 2048 characters";
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "must be an absolute URI";
  }
  if (uri.includes("#")) return "must not contain a fragment";
  if (url.username !== "" || url.password !== "") return "must not contain credentials";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return null;
  return "must use https, or http on a loopback host";
}

/**
 * Control characters, and the Unicode bidirectional formatting characters
 * (UAX #9: ALM, LRM, RLM, embeddings, overrides, isolates): in a name shown
 * on the consent page, an override would reorder the text after it, the
 * "not verified" note and the MCP server's name included.
 */
const UNSAFE_DISPLAY_CHARACTER = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Whether `text` may be shown to a person as a name (no control or bidi formatting characters). */
export function isDisplayableText(text: string): boolean {
  return !UNSAFE_DISPLAY_CHARACTER.test(text);
}

function metadataError(field: string, problem: string): OAuthError {
  return new OAuthError("invalid_client_metadata", `${field} ${problem}.`);
}

function optionalText(raw: Record<string, unknown>, field: string, max = MAX_TEXT_LENGTH): string | null {
  const value = raw[field];
  if (value === undefined || value === null) return null;
  // Control and bidi characters would let a name break out of the consent page's layout or a log line.
  if (typeof value !== "string" || value.trim() === "" || value.length > max || !isDisplayableText(value)) {
    throw metadataError(field, `must be a string of 1 to ${max} printable characters`);
  }
  return value.trim();
}

function optionalHttpsUri(raw: Record<string, unknown>, field: string): string | null {
  const value = raw[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length > MAX_URI_LENGTH)
    throw metadataError(field, "must be an https URI");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw metadataError(field, "must be an https URI");
  }
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "") {
    throw metadataError(field, "must be an https URI");
  }
  return url.href;
}

function stringList(raw: Record<string, unknown>, field: string, fallback: string[], max: number): string[] {
  const value = raw[field];
  if (value === undefined || value === null) return fallback;
  if (
    !Array.isArray(value) ||
    value.length > max ||
    !value.every((item) => typeof item === "string" && item.length > 0 && item.length <= MAX_URI_LENGTH)
  ) {
    throw metadataError(field, `must be an array of at most ${max} non-empty strings`);
  }
  return [...new Set(value as string[])];
}

export type MetadataSource = "registration" | "document";

/**
 * Validates client metadata. `registration`: an RFC 7591 request body;
 * `document`: a Client ID Metadata Document (whose `client_id` and
 * forbidden members the CIMD resolver checks first). Unknown members are
 * ignored (RFC 7591 §2).
 */
export function parseClientMetadata(raw: unknown, source: MetadataSource): PublicClientMetadata {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new OAuthError("invalid_client_metadata", "The client metadata must be a JSON object.");
  }
  const body = raw as Record<string, unknown>;
  if (JSON.stringify(body).length > MAX_METADATA_BYTES) {
    throw new OAuthError(
      "invalid_client_metadata",
      `The client metadata exceeds ${MAX_METADATA_BYTES} bytes.`,
    );
  }

  const redirectUris = body.redirect_uris;
  if (
    !Array.isArray(redirectUris) ||
    redirectUris.length === 0 ||
    redirectUris.length > MAX_REDIRECT_URIS ||
    !redirectUris.every((uri) => typeof uri === "string")
  ) {
    throw new OAuthError(
      "invalid_redirect_uri",
      `redirect_uris must be an array of 1 to ${MAX_REDIRECT_URIS} URIs.`,
    );
  }
  for (const uri of redirectUris as string[]) {
    const problem = redirectUriProblem(uri);
    if (problem !== null) throw new OAuthError("invalid_redirect_uri", `Each redirect URI ${problem}.`);
  }

  const grantTypes = stringList(body, "grant_types", ["authorization_code"], 4).map((grant) => {
    const allowed = REGISTRABLE_GRANT_TYPES.find((registrable) => registrable === grant);
    if (allowed === undefined) {
      throw metadataError("grant_types", "may hold only authorization_code and refresh_token");
    }
    return allowed;
  });
  if (!grantTypes.includes("authorization_code")) {
    throw metadataError("grant_types", "must include authorization_code");
  }
  const responseTypes = stringList(body, "response_types", [...RESPONSE_TYPES], 2);
  if (responseTypes.length !== 1 || responseTypes[0] !== RESPONSE_TYPES[0]) {
    throw metadataError("response_types", 'must be ["code"]');
  }

  const requestedMethod = body.token_endpoint_auth_method;
  if (requestedMethod !== undefined && typeof requestedMethod !== "string") {
    throw metadataError("token_endpoint_auth_method", "must be a string");
  }
  if (source === "document" && requestedMethod !== undefined && requestedMethod !== "none") {
    // CIMD §4: no shared secret can exist for a document-defined client; key-based methods are not offered here.
    throw metadataError("token_endpoint_auth_method", 'must be "none" for a metadata document client');
  }
  if (
    requestedMethod !== undefined &&
    !REGISTRABLE_AUTH_METHODS.some((method) => method === requestedMethod)
  ) {
    throw metadataError(
      "token_endpoint_auth_method",
      'is not supported; public clients register with "none"',
    );
  }
  if (body.jwks !== undefined || body.jwks_uri !== undefined) {
    throw metadataError("jwks", "is not accepted: clients registered here are public clients");
  }

  const scope = body.scope;
  if (scope !== undefined && scope !== null && typeof scope !== "string") {
    throw metadataError("scope", "must be a string");
  }
  let registeredScope: string | null = null;
  if (typeof scope === "string") {
    try {
      registeredScope = parseScope(scope)?.join(" ") ?? null;
    } catch {
      throw metadataError("scope", "must be a space-separated list of scope tokens");
    }
  }

  const applicationType = APPLICATION_TYPES.find((type) => type === body.application_type);
  if (body.application_type !== undefined && applicationType === undefined) {
    throw metadataError("application_type", 'must be "native" or "web"');
  }

  return {
    client_name: optionalText(body, "client_name", 128),
    redirect_uris: [...new Set(redirectUris as string[])],
    grant_types: grantTypes,
    response_types: [RESPONSE_TYPES[0]],
    token_endpoint_auth_method: "none",
    scope: registeredScope,
    client_uri: optionalHttpsUri(body, "client_uri"),
    logo_uri: optionalHttpsUri(body, "logo_uri"),
    tos_uri: optionalHttpsUri(body, "tos_uri"),
    policy_uri: optionalHttpsUri(body, "policy_uri"),
    contacts: stringList(body, "contacts", [], 5).map((contact) => contact.slice(0, MAX_TEXT_LENGTH)),
    software_id: optionalText(body, "software_id"),
    software_version: optionalText(body, "software_version"),
    application_type: applicationType ?? null,
    jwks: null,
  };
}

/** Present members only: RFC 7591 §3.2.1 leaves out what was not registered. */
function present<Name extends string, Value>(name: Name, value: Value | null): { [K in Name]?: Value } {
  return (value === null ? {} : { [name]: value }) as { [K in Name]?: Value };
}

/** The RFC 7591 §3.2.1 registration response members for registered metadata. */
export function presentClientMetadata(metadata: PublicClientMetadata): ClientMetadataView {
  return {
    redirect_uris: metadata.redirect_uris,
    grant_types: metadata.grant_types,
    response_types: metadata.response_types,
    token_endpoint_auth_method: metadata.token_endpoint_auth_method,
    ...present("client_name", metadata.client_name),
    ...present("scope", metadata.scope),
    ...present("client_uri", metadata.client_uri),
    ...present("logo_uri", metadata.logo_uri),
    ...present("tos_uri", metadata.tos_uri),
    ...present("policy_uri", metadata.policy_uri),
    ...present("software_id", metadata.software_id),
    ...present("software_version", metadata.software_version),
    ...present("application_type", metadata.application_type),
    ...present("contacts", metadata.contacts.length > 0 ? metadata.contacts : null),
  };
}
