/**
 * Regression: once fetched, the JWKS was served stale for as long as the
 * issuer could not be reached. A key the issuer had removed (the answer to
 * a compromise, `revoke_current`) kept verifying at every site that could
 * not reach the issuer, and whoever held the key could keep them from
 * reaching it. A stale set now verifies for `maxStaleMs` past freshness
 * (default 1 h), then not until the issuer answers again.
 */
import { expect, test } from "bun:test";
import { PassportVerifier } from "@lime-ts/sdk";
import { createTestIssuer, ISSUER, sign } from "../helpers/issuer.ts";

const AUDIENCE = "https://shop.test";
const MINUTE = 60_000;

async function setup() {
  const issuer = await createTestIssuer();
  issuer.cacheControl = "max-age=300";
  let now = Date.now();
  const verifier = new PassportVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: issuer.fetch,
    now: () => now,
  });
  const compromised = issuer.keys[0]!;
  const signedAt = (ms: number) => sign(compromised, {}, Math.floor(ms / 1000));
  return {
    issuer,
    verifier,
    signedAt,
    advance(ms: number) {
      now += ms;
      return now;
    },
  };
}

test("a key removed from the JWKS stops verifying within the staleness bound while the issuer is unreachable", async () => {
  const { issuer, verifier, signedAt, advance } = await setup();
  await verifier.verify(await signedAt(Date.now()));
  // The issuer drops the key, and the site can no longer reach the issuer.
  issuer.published.clear();
  await issuer.addKey(true);
  issuer.mode = "down";

  // Inside freshness plus the bound, the cached set keeps the site working ...
  const stillServing = advance(5 * MINUTE + 59 * MINUTE);
  expect((await verifier.verify(await signedAt(stillServing))).agentId).toBe("agent-1");

  // ... past it, the stale set is not trusted any more.
  const later = advance(2 * MINUTE);
  const refused = await verifier.verify(await signedAt(later)).catch((error: unknown) => error);
  expect((refused as { code?: unknown }).code).toBe("SDK_JWKS_UNAVAILABLE");

  // When the issuer answers again, the removed key is unknown.
  issuer.mode = "up";
  const back = advance(10_000);
  const unknown = await verifier.verify(await signedAt(back)).catch((error: unknown) => error);
  expect((unknown as { code?: unknown }).code).toBe("PASSPORT_UNKNOWN_KID");
});

test("the bound is configurable, and a 304 from the issuer restores the cached set", async () => {
  const issuer = await createTestIssuer();
  issuer.cacheControl = "max-age=60";
  let now = Date.now();
  const verifier = new PassportVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: issuer.fetch,
    now: () => now,
    jwks: { maxStaleMs: 0, retryAfterFailureMs: 0 },
  });
  const key = issuer.keys[0]!;
  await verifier.verify(await sign(key, {}, Math.floor(now / 1000)));
  issuer.mode = "down";
  now += 61_000;
  const refused = await verifier.verify(await sign(key, {}, Math.floor(now / 1000))).catch((e: unknown) => e);
  expect((refused as { code?: unknown }).code).toBe("SDK_JWKS_UNAVAILABLE");
  issuer.mode = "up";
  const passport = await verifier.verify(await sign(key, {}, Math.floor(now / 1000)));
  expect(passport.agentId).toBe("agent-1");
  expect(verifier.jwks.stats.notModified).toBe(1);
});
