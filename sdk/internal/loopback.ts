/**
 * Where a bearer credential may travel over plain http: to this machine
 * only. Off loopback, `http:` hands the agent and site tokens and the
 * passports to whoever is on the path, and lets them swap the JWKS a site
 * verifies with (and so forge any passport it accepts).
 */

/**
 * Whether a URL's hostname is this machine (RFC 6761 §6.3 `localhost`
 * names, 127.0.0.0/8, ::1): the one place a bearer credential may travel
 * over plain http, since it never leaves the host.
 */
export function isLoopback(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname.endsWith(".localhost") ||
    hostname === "[::1]" ||
    /^127(?:\.\d{1,3}){3}$/.test(hostname)
  );
}

/**
 * Refuses a URL that is neither `https:` nor plain `http:` to loopback,
 * unless `allowInsecure` is exactly `true` (the `allowInsecureTransport`
 * option, development only). A caller mistake, so a TypeError like every
 * other configuration error of the SDK; it names the setting, the scheme and
 * host, and the fix, never the whole URL (which may carry userinfo).
 *
 * @param label the setting, e.g. "SiteClient: jwksUrl"
 * @param optOut how this caller opts out, e.g. "set LIME_ALLOW_INSECURE_TRANSPORT=1"
 * @example
 * requireSecureTransport(new URL(jwksUrl), "PassportVerifier: jwksUrl", options.allowInsecureTransport);
 */
export function requireSecureTransport(
  url: URL,
  label: string,
  allowInsecure: boolean | undefined,
  optOut = "pass allowInsecureTransport: true",
): void {
  if (allowInsecure === true || url.protocol === "https:") return;
  if (url.protocol === "http:" && isLoopback(url.hostname)) return;
  throw new TypeError(
    `${label} (${url.protocol}//${url.hostname}) is neither https nor loopback: the tokens, passports ` +
      `or keys it carries could be read or replaced on the way. Use https:, or ${optOut} (development only)`,
  );
}

/**
 * `value` as a URL when it is an http(s) one, else undefined: an issuer
 * (`iss`) may be any string when the JWKS URL is given, and only a URL says
 * how anything travels.
 */
export function httpUrlOrUndefined(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}
