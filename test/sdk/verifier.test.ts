import { describe, expect, test } from "bun:test";
import { parseMaxAge } from "../../sdk/internal/bounded-fetch.ts";
import { defaultJwksUrl, PassportVerifier } from "../../sdk/site/verifier.ts";
import { createTestIssuer, ISSUER, JWKS_URL, sign, type TestIssuer, tokenWithKid } from "./helpers/issuer.ts";

const AUDIENCE = "https://shop.test";

function clock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

function verifierFor(
  issuer: TestIssuer,
  time = clock(),
  extra: Partial<ConstructorParameters<typeof PassportVerifier>[0]> = {},
) {
  return new PassportVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: issuer.fetch,
    now: time.now,
    // These tests count the key set's fetches; the revocation list has its own (revocation-list.test.ts).
    revocation: { enabled: false },
    ...extra,
  });
}

/** An issuer with one published key, a verifier of it on a clock the test moves, and a passport that key signed. */
async function setup(options: { cacheControl?: string; verifier?: Parameters<typeof verifierFor>[2] } = {}) {
  const issuer = await createTestIssuer();
  if (options.cacheControl !== undefined) issuer.cacheControl = options.cacheControl;
  const time = clock();
  const verifier = verifierFor(issuer, time, options.verifier);
  const token = await sign(issuer.keys[0]!);
  return { issuer, time, verifier, token };
}

/** Lets a background refresh started by the previous call finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("PassportVerifier over a cached JWKS", () => {
  test("fetches the key set once; later verifications make no network call", async () => {
    const { issuer, verifier, token } = await setup();
    for (let i = 0; i < 50; i++) {
      const passport = await verifier.verify(token);
      expect(passport.agentId).toBe("agent-1");
    }
    expect(issuer.requests).toHaveLength(1);
    expect(issuer.requests[0]?.url).toBe(JWKS_URL);
  });

  test("Cache-Control max-age sets freshness; a stale set is revalidated with If-None-Match and 304 keeps it", async () => {
    const { issuer, time, verifier, token } = await setup({ cacheControl: "max-age=60" });
    await verifier.verify(token);
    time.advance(59_000);
    await verifier.verify(token);
    expect(issuer.requests).toHaveLength(1);
    time.advance(2_000);
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
    await settle();
    expect(issuer.requests).toHaveLength(2);
    expect(issuer.requests[1]?.ifNoneMatch).toBe(issuer.etag());
    expect(verifier.jwks.stats.notModified).toBe(1);
    expect(verifier.jwks.fresh).toBe(true);
  });

  test("no-store cannot turn verification into a fetch per passport: freshness is floored", async () => {
    const { issuer, verifier, token } = await setup({ cacheControl: "no-store" });
    for (let i = 0; i < 20; i++) await verifier.verify(token);
    expect(issuer.requests).toHaveLength(1);
  });

  test("keeps verifying from cache while the issuer is down, and retries it at most once per failure backoff", async () => {
    const { issuer, time, verifier, token } = await setup({ cacheControl: "max-age=60" });
    await verifier.verify(token);
    issuer.mode = "down";
    time.advance(120_000);
    for (let i = 0; i < 30; i++) {
      expect((await verifier.verify(token)).agentId).toBe("agent-1");
      await settle();
    }
    expect(issuer.requests).toHaveLength(2);
    expect(verifier.jwks.stats.failures).toBe(1);
    time.advance(5_000);
    await verifier.verify(token);
    await settle();
    expect(issuer.requests).toHaveLength(3);
  });

  test("cold start with the issuer down is SDK_JWKS_UNAVAILABLE, without hammering the issuer", async () => {
    const { issuer, time, verifier, token } = await setup();
    issuer.mode = "down";
    for (let i = 0; i < 10; i++) {
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: "SDK_JWKS_UNAVAILABLE" });
    }
    expect(issuer.requests).toHaveLength(1);
    issuer.mode = "up";
    time.advance(5_000);
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
  });

  test("a flood of unknown kids reaches the issuer at most once per cooldown", async () => {
    const { issuer, time, verifier, token } = await setup({ verifier: { jwks: { cooldownMs: 30_000 } } });
    await verifier.verify(token);
    time.advance(30_000);
    const flood = Array.from({ length: 500 }, () => tokenWithKid(crypto.randomUUID()));
    const results = await Promise.allSettled(flood.map((t) => verifier.verify(t)));
    expect(results.every((r) => r.status === "rejected" && r.reason.code === "PASSPORT_UNKNOWN_KID")).toBe(
      true,
    );
    for (const t of flood.slice(0, 100)) await verifier.verify(t).catch(() => {});
    // One initial fetch plus one refetch for the whole flood.
    expect(issuer.requests).toHaveLength(2);
    expect(verifier.jwks.stats.kidMissRefetches).toBe(1);
    expect(verifier.jwks.stats.kidMissesSuppressed).toBeGreaterThanOrEqual(100);
    time.advance(30_000);
    await verifier.verify(tokenWithKid("another")).catch(() => {});
    expect(issuer.requests).toHaveLength(3);
  });

  test("a key published after the first fetch is picked up by one refetch on its unknown kid", async () => {
    const { issuer, time, verifier, token: first } = await setup();
    await verifier.verify(first);
    const rotated = await issuer.addKey(true);
    const token = await sign(rotated);
    // Within the cooldown the unknown kid is refused without a fetch ...
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: "PASSPORT_UNKNOWN_KID" });
    expect(issuer.requests).toHaveLength(1);
    // ... after it, one refetch finds the new key.
    time.advance(30_000);
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
    expect(issuer.requests).toHaveLength(2);
  });

  test("a refresh answered with a refused document keeps the good key set", async () => {
    const { issuer, time, verifier, token } = await setup({ cacheControl: "max-age=30" });
    await verifier.verify(token);
    issuer.mode = "garbage";
    time.advance(31_000);
    await verifier.verify(token);
    await settle();
    expect(verifier.jwks.stats.failures).toBe(1);
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
  });

  test("a JWKS URL that redirects is not followed", async () => {
    const { issuer, verifier, token } = await setup();
    issuer.mode = "redirect";
    await expect(verifier.verify(token)).rejects.toMatchObject({
      code: "SDK_JWKS_UNAVAILABLE",
    });
    expect(issuer.requests).toHaveLength(1);
  });

  test("checks the issuer: a passport from another issuer with a known key is refused", async () => {
    const { issuer, verifier } = await setup();
    const token = await sign(issuer.keys[0]!, { iss: "https://evil.test" });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: "PASSPORT_WRONG_ISSUER" });
  });

  test("checks audience, request_id and site_id", async () => {
    const { issuer, verifier } = await setup();
    const key = issuer.keys[0]!;
    await expect(verifier.verify(await sign(key, { aud: "https://other.test" }))).rejects.toMatchObject({
      code: "PASSPORT_WRONG_AUDIENCE",
    });
    const now = Math.floor(Date.now() / 1000);
    const login = await sign(
      key,
      { aud: "lime-site-login", request_id: "r1", site_id: "s1", exp: now + 120 },
      now,
    );
    const opts = { audience: "lime-site-login" };
    expect((await verifier.verify(login, { ...opts, requestId: "r1", siteId: "s1" })).requestId).toBe("r1");
    await expect(verifier.verify(login, { ...opts, requestId: "r2", siteId: "s1" })).rejects.toMatchObject({
      code: "PASSPORT_WRONG_REQUEST",
    });
    await expect(verifier.verify(login, { ...opts, requestId: "r1", siteId: "s2" })).rejects.toMatchObject({
      code: "PASSPORT_WRONG_SITE",
    });
  });

  test("clock skew inside the tolerance is accepted, beyond it refused", async () => {
    const { issuer, time, verifier } = await setup({ verifier: { clockToleranceSec: 30 } });
    const nowSec = Math.floor(time.now() / 1000);
    const token = await sign(issuer.keys[0]!, { iat: nowSec, exp: nowSec + 60 }, nowSec);
    // Verifier clock 20 s behind the issuer: iat is in its future, within tolerance.
    time.advance(-20_000);
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
    time.advance(-20_000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: "PASSPORT_NOT_YET_VALID" });
    // Verifier clock ahead: 20 s past exp is within tolerance, 40 s is not.
    time.advance(40_000 + 80_000);
    expect((await verifier.verify(token)).agentId).toBe("agent-1");
    time.advance(20_000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: "PASSPORT_EXPIRED" });
  });

  test("needs an audience, from the options or the call", async () => {
    const issuer = await createTestIssuer();
    const verifier = new PassportVerifier({ issuer: ISSUER, fetch: issuer.fetch });
    await expect(verifier.verify(await sign(issuer.keys[0]!))).rejects.toBeInstanceOf(TypeError);
    expect(() => new PassportVerifier({ issuer: "" })).toThrow(TypeError);
  });
});

describe("JWKS cache headers", () => {
  test("parseMaxAge reads max-age, treats no-store/no-cache as 0, ignores the rest", () => {
    expect(parseMaxAge("public, max-age=300")).toBe(300);
    expect(parseMaxAge('max-age="120"')).toBe(120);
    expect(parseMaxAge("no-store")).toBe(0);
    expect(parseMaxAge("private, no-cache, max-age=60")).toBe(0);
    expect(parseMaxAge("public")).toBeUndefined();
    expect(parseMaxAge("max-age=-5")).toBeUndefined();
    expect(parseMaxAge(null)).toBeUndefined();
  });

  test("Age is subtracted from max-age (RFC 9111 §4.2.3)", async () => {
    const issuer = await createTestIssuer();
    issuer.cacheControl = "max-age=100";
    const time = clock();
    const base = issuer.fetch;
    issuer.fetch = async (input, init) => {
      const response = await base(input, init);
      const headers = new Headers(response.headers);
      headers.set("age", "50");
      return new Response(response.body, { status: response.status, headers });
    };
    const verifier = verifierFor(issuer, time);
    await verifier.verify(await sign(issuer.keys[0]!));
    time.advance(49_000);
    expect(verifier.jwks.fresh).toBe(true);
    time.advance(2_000);
    expect(verifier.jwks.fresh).toBe(false);
  });

  test("the default JWKS URL keeps the issuer's path", () => {
    expect(defaultJwksUrl("https://lime.example")).toBe("https://lime.example/.well-known/jwks.json");
    expect(defaultJwksUrl("https://lime.example/id/")).toBe("https://lime.example/id/.well-known/jwks.json");
  });
});
