/** The address rate limits and audit records are keyed on. */

interface AddressSource {
  requestIP(request: Request): { address: string } | null;
}

/**
 * The peer address from the socket; with `trustProxy`, the left-most entry of
 * `X-Forwarded-For` instead (only safe behind a proxy that overwrites it).
 */
export function clientAddress(request: Request, server: AddressSource | null, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return server?.requestIP(request)?.address ?? "unknown";
}
