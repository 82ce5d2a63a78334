/** The address rate limits and audit records are keyed on. */

/** Socket peers of the requests in flight, recorded by the transport (server/http/transport.ts). */
const peers = new WeakMap<Request, string>();

/** Called by the transport once per request, before the app sees it. */
export function recordPeerAddress(request: Request, address: string): void {
  peers.set(request, address);
}

/**
 * The peer address from the socket; with `trustProxy`, the right-most entry
 * of `X-Forwarded-For` instead: the one our proxy appended from the peer it
 * saw. Every entry to its left came from the client and may be forged (most
 * proxies, nginx's `$proxy_add_x_forwarded_for` and cloud load balancers
 * included, append rather than overwrite); for a proxy that overwrites the
 * header, the right-most entry is its only one. A request that did not come
 * through the transport (`app.handle` in a test) is "unknown".
 */
export function clientAddress(request: Request, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return peers.get(request) ?? "unknown";
}

/** The eight 16-bit groups of an IPv6 address, as hex without leading zeros; null when it is not one. */
function ipv6Groups(address: string): string[] | null {
  // Every IPv6 address has a colon: an IPv4 peer (most of them) skips the URL parser and the error it
  // throws, once per rate-limited request (docs/decisions/server-cpu-profile.md).
  if (!address.includes(":")) return null;
  const zone = address.indexOf("%");
  let host: string;
  try {
    host = new URL(`http://[${zone === -1 ? address : address.slice(0, zone)}]/`).hostname;
  } catch {
    return null;
  }
  // The URL serializer writes the canonical form: lower case, hex only, one "::" at most.
  const [head = "", tail] = host.slice(1, -1).split("::");
  const left = head === "" ? [] : head.split(":");
  if (tail === undefined) return left;
  const right = tail === "" ? [] : tail.split(":");
  return [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
}

/**
 * The key per-address rate limits count under: an IPv4 address as it is, an
 * IPv6 address by its /64 prefix. A subscriber is routinely handed a whole
 * /64, so counting single IPv6 addresses gave one client 2^64 buckets.
 * An IPv4-mapped address (`::ffff:192.0.2.1`) counts as its IPv4 address.
 * Audit records keep the full address.
 */
export function rateLimitKey(address: string): string {
  const groups = ipv6Groups(address);
  if (groups === null) return address;
  if (groups.slice(0, 5).every((group) => group === "0") && groups[5] === "ffff") {
    const high = Number.parseInt(groups[6]!, 16);
    const low = Number.parseInt(groups[7]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return `${groups.slice(0, 4).join(":")}::/64`;
}
