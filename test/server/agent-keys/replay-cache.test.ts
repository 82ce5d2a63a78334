/**
 * The key proofs' jti cache: single use within the proof's window, forgotten
 * after it, bounded, and failing closed when full (a live jti is never
 * forgotten to make room, which would let its replay through).
 */

import { describe, expect, test } from "bun:test";
import { createKeyProof, generateAgentKey } from "@lime-ts/core/http-signatures";
import { DomainError, RateLimitedError } from "../../../server/errors.ts";
import { checkKeyProof } from "../../../server/modules/agent-keys/proof.ts";
import { createProofReplayCache } from "../../../server/modules/agent-keys/replay-cache.ts";
import { FakeClock } from "../../../server/testing.ts";

const T0 = 1_800_000_000_000;
const HTU = "https://lime.example/api/v1/core/agents/me/keys";

describe("the proof replay cache", () => {
  test("a jti is fresh once, replayed until it lapses, then forgotten; another key's same jti is its own", () => {
    const cache = createProofReplayCache(10);
    expect(cache.sight("k1", "j", T0 + 61_000, T0)).toBe("fresh");
    expect(cache.sight("k1", "j", T0 + 61_000, T0 + 60_000)).toBe("replayed");
    expect(cache.sight("k2", "j", T0 + 61_000, T0)).toBe("fresh");
    expect(cache.size(T0 + 61_000)).toBe(0);
    expect(cache.sight("k1", "j", T0 + 122_000, T0 + 61_000)).toBe("fresh");
  });

  test("bounded: full of live entries it refuses new ones, and takes them again once entries lapse", () => {
    const cache = createProofReplayCache(3);
    for (const jti of ["a", "b", "c"])
      expect(cache.sight("k", jti, T0 + 1000 + jti.charCodeAt(0), T0)).toBe("fresh");
    expect(cache.sight("k", "d", T0 + 5000, T0)).toBe("full");
    // A live one is still known: nothing was evicted to make room.
    expect(cache.sight("k", "a", T0 + 5000, T0 + 10)).toBe("replayed");
    expect(cache.sight("k", "d", T0 + 5000, T0 + 2000)).toBe("fresh");
    expect(cache.size(T0 + 2000)).toBe(1);
  });

  test("checkKeyProof: a replay is KEY_PROOF_REPLAYED, a full cache 429 RATE_LIMIT_EXCEEDED with Retry-After", async () => {
    const clock = new FakeClock(T0);
    const key = await generateAgentKey();
    const proof = () => createKeyProof(key, { htm: "POST", htu: HTU, iat: T0 / 1000 });
    const deps = { clock, replay: createProofReplayCache(1) };
    const first = await proof();
    expect((await checkKeyProof(deps, first, { htm: "POST", htu: HTU })).kid).toBe(key.kid);
    const replayed = await checkKeyProof(deps, first, { htm: "POST", htu: HTU }).catch((e) => e);
    expect(replayed).toBeInstanceOf(DomainError);
    expect(replayed.code).toBe("KEY_PROOF_REPLAYED");
    const full = await checkKeyProof(deps, await proof(), { htm: "POST", htu: HTU }).catch((e) => e);
    expect(full).toBeInstanceOf(RateLimitedError);
    expect(full.retryAfterSeconds).toBe(60);
    clock.advance(61_000);
    // Its iat is now 61 s old: the proof itself is refused, and the lapsed jti no longer fills the cache.
    const stale = await checkKeyProof(deps, first, { htm: "POST", htu: HTU }).catch((e) => e);
    expect(stale.code).toBe("KEY_PROOF_INVALID");
    expect(deps.replay.size(clock.now())).toBe(0);
  });
});
