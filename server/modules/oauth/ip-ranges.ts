/**
 * Which IP addresses an outbound fetch on a client's behalf may reach.
 *
 * A Client ID Metadata Document URL is chosen by whoever starts an
 * authorization request, so fetching it is a server-side request forgery
 * vector (CIMD draft §8.6). Only globally routable unicast addresses pass:
 * the IANA special-purpose registries (RFC 6890 and its updates) for IPv4
 * and IPv6 are refused, and IPv6 forms that embed an IPv4 address
 * (IPv4-mapped, NAT64, 6to4) are judged by the embedded address.
 */

type Range = readonly [network: bigint, prefix: number];

function v4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function v6(text: string): bigint | null {
  let address = text.toLowerCase();
  const zone = address.indexOf("%");
  if (zone !== -1) address = address.slice(0, zone);
  if (address.includes(".")) {
    // An embedded dotted quad (::ffff:1.2.3.4) becomes its two hex groups.
    const lastColon = address.lastIndexOf(":");
    const embedded = v4(address.slice(lastColon + 1));
    if (embedded === null) return null;
    address = `${address.slice(0, lastColon + 1)}${(embedded >> 16n).toString(16)}:${(embedded & 0xffffn).toString(16)}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) =>
    part === ""
      ? []
      : part.split(":").map((group) => (/^[0-9a-f]{1,4}$/.test(group) ? BigInt(`0x${group}`) : -1n));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const known = head.length + rest.length;
  if (head.includes(-1n) || rest.includes(-1n)) return null;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const groups = [...head, ...new Array<bigint>(8 - known).fill(0n), ...rest];
  return groups.reduce((acc, group) => (acc << 16n) | group, 0n);
}

function inRange(value: bigint, bits: number, [network, prefix]: Range): boolean {
  const shift = BigInt(bits - prefix);
  return value >> shift === network >> shift;
}

const range = (parse: (t: string) => bigint | null, cidr: string): Range => {
  const [address, prefix] = cidr.split("/");
  return [parse(address!)!, Number(prefix)];
};

/** IANA IPv4 Special-Purpose Address Registry, plus multicast and the reserved 240/4. */
const BLOCKED_V4: readonly Range[] = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.31.196.0/24",
  "192.52.193.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "192.175.48.0/24",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
].map((cidr) => range(v4, cidr));

/** IANA IPv6 Special-Purpose Address Registry (the embedding prefixes are handled apart). */
const BLOCKED_V6: readonly Range[] = [
  "::/128",
  "::1/128",
  "100::/64",
  "2001::/23",
  "2001:db8::/32",
  "3fff::/20",
  "5f00::/16",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
  "ff00::/8",
].map((cidr) => range(v6, cidr));

const V4_MAPPED = range(v6, "::ffff:0:0/96");
const V4_COMPATIBLE = range(v6, "::/96");
const NAT64 = range(v6, "64:ff9b::/96");
const NAT64_LOCAL = range(v6, "64:ff9b:1::/48");
const SIX_TO_FOUR = range(v6, "2002::/16");
const LOOPBACK_V4 = range(v4, "127.0.0.0/8");
const LOOPBACK_V6 = range(v6, "::1/128");

export type AddressClass = "public" | "loopback" | "private" | "invalid";

function classifyV4(value: bigint): AddressClass {
  if (inRange(value, 32, LOOPBACK_V4)) return "loopback";
  return BLOCKED_V4.some((r) => inRange(value, 32, r)) ? "private" : "public";
}

/** Classifies an IP address literal (IPv4 dotted quad or IPv6, brackets allowed). */
export function classifyAddress(address: string): AddressClass {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const four = v4(bare);
  if (four !== null) return classifyV4(four);
  const six = v6(bare);
  if (six === null) return "invalid";
  if (inRange(six, 128, LOOPBACK_V6)) return "loopback";
  if (inRange(six, 128, V4_MAPPED) || inRange(six, 128, NAT64) || inRange(six, 128, V4_COMPATIBLE)) {
    // ::/96 also holds :: and ::1, caught by the blocked list when the embedded value is tiny.
    if (six <= 1n) return six === 1n ? "loopback" : "private";
    return classifyV4(six & 0xffffffffn);
  }
  if (inRange(six, 128, SIX_TO_FOUR)) return classifyV4((six >> 80n) & 0xffffffffn);
  if (inRange(six, 128, NAT64_LOCAL)) return "private";
  return BLOCKED_V6.some((r) => inRange(six, 128, r)) ? "private" : "public";
}
