/** The address rate limits and audit records are keyed on. */

interface AddressSource {
  requestIP(request: Request): { address: string } | null;
}

/**
 * The peer address from the socket; with `trustProxy`, the right-most entry
 * of `X-Forwarded-For` instead: the one our proxy appended from the peer it
 * saw. Every entry to its left came from the client and may be forged (most
 * proxies, nginx's `$proxy_add_x_forwarded_for` and cloud load balancers
 * included, append rather than overwrite); for a proxy that overwrites the
 * header, the right-most entry is its only one.
 */
export function clientAddress(request: Request, server: AddressSource | null, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return server?.requestIP(request)?.address ?? "unknown";
}
