/**
 * Regression: with TRUST_PROXY=on the client address was the left-most
 * X-Forwarded-For entry, which the client writes itself whenever the proxy
 * appends to the header (nginx, cloud load balancers). Changing it per
 * request escaped every per-address rate limit and forged audit addresses.
 */

import { describe, expect, test } from "bun:test";
import { clientAddress, recordPeerAddress } from "../../../server/http/client-address.ts";
import { loginStatusesViaProxy } from "../helpers.ts";

function withForwardedFor(value: string | null): Request {
  const headers = new Headers();
  if (value !== null) headers.set("x-forwarded-for", value);
  const request = new Request("http://lime.test/", { headers });
  recordPeerAddress(request, "10.0.0.2");
  return request;
}

describe("client address behind a trusted proxy", () => {
  test("is the entry the proxy appended (right-most), not one the client wrote", () => {
    expect(clientAddress(withForwardedFor("198.51.100.7, 203.0.113.9"), true)).toBe("203.0.113.9");
    expect(clientAddress(withForwardedFor("203.0.113.9"), true)).toBe("203.0.113.9");
  });

  test("is the socket peer when the proxy is not trusted or sent nothing", () => {
    expect(clientAddress(withForwardedFor("198.51.100.7, 203.0.113.9"), false)).toBe("10.0.0.2");
    expect(clientAddress(withForwardedFor(null), true)).toBe("10.0.0.2");
    expect(clientAddress(withForwardedFor(" , "), true)).toBe("10.0.0.2");
  });

  test("a client rotating a forged left-most entry stays in one rate-limit bucket", async () => {
    const statuses = await loginStatusesViaProxy((i) => `198.51.100.${i}, 203.0.113.9`);
    expect(statuses).toEqual([401, 401, 429]);
  });
});
