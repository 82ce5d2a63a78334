/**
 * Regression: per-address rate limits counted each IPv6 address on its own.
 * One subscriber routinely holds a whole /64, so a single client could give
 * every request a fresh address and never be limited (and fill the table).
 * IPv6 clients now count by /64.
 */

import { describe, expect, test } from "bun:test";
import { rateLimitKey } from "../../../server/http/client-address.ts";
import { loginStatusesViaProxy } from "../helpers.ts";

describe("rate-limit keys of client addresses", () => {
  test("IPv6 addresses count by their /64 prefix, whatever their spelling", () => {
    expect(rateLimitKey("2001:db8:aa:bb:1:2:3:4")).toBe("2001:db8:aa:bb::/64");
    expect(rateLimitKey("2001:DB8:AA:BB:ffff::9")).toBe("2001:db8:aa:bb::/64");
    expect(rateLimitKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(rateLimitKey("::1")).toBe("0:0:0:0::/64");
    expect(rateLimitKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });

  test("IPv4 and IPv4-mapped addresses count as the IPv4 address; anything else as it is", () => {
    expect(rateLimitKey("192.0.2.1")).toBe("192.0.2.1");
    expect(rateLimitKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(rateLimitKey("unknown")).toBe("unknown");
  });

  test("a client cycling through addresses of its /64 stays in one bucket", async () => {
    const statuses = await loginStatusesViaProxy((i) => `2001:db8:aa:bb::${i.toString(16)}`);
    expect(statuses).toEqual([401, 401, 429]);
  });
});
