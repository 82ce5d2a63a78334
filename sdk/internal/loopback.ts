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
