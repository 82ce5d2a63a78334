import { describe, expect, test } from "bun:test";
import { type MintedToken, TokenCache } from "../../sdk/internal/token-cache.ts";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("TokenCache", () => {
  test("concurrent callers for one key share a single mint (single flight)", async () => {
    const cache = new TokenCache<string>({ skewMs: 1000, now: () => 0 });
    const gate = deferred<MintedToken<string>>();
    let mints = 0;
    const mint = () => {
      mints++;
      return gate.promise;
    };
    const all = Promise.all([cache.get("a", mint), cache.get("a", mint), cache.get("a", mint)]);
    gate.resolve({ value: "t1", issuedAt: 0, expiresAt: 60_000 });
    expect(await all).toEqual(["t1", "t1", "t1"]);
    expect(mints).toBe(1);
  });

  test("keys are independent: one mint per key", async () => {
    const cache = new TokenCache<string>({ skewMs: 0, now: () => 0 });
    const minted: string[] = [];
    const mint = (key: string) => async () => {
      minted.push(key);
      return { value: `tok-${key}`, issuedAt: 0, expiresAt: 1000 };
    };
    expect(await cache.get("x.example", mint("x.example"))).toBe("tok-x.example");
    expect(await cache.get("y.example", mint("y.example"))).toBe("tok-y.example");
    expect(await cache.get("x.example", mint("x.example"))).toBe("tok-x.example");
    expect(minted).toEqual(["x.example", "y.example"]);
  });

  for (const { title, skewMs, lifetimeMs, renewsAt } of [
    {
      title: "renews lazily once the token is within the skew of its expiry",
      skewMs: 30_000,
      lifetimeMs: 300_000,
      renewsAt: 270_000,
    },
    {
      title: "caps the skew at half the lifetime so a short-lived token is still reused",
      skewMs: 60_000,
      lifetimeMs: 20_000,
      renewsAt: 10_000,
    },
  ]) {
    test(title, async () => {
      let now = 0;
      const cache = new TokenCache<number>({ skewMs, now: () => now });
      let serial = 0;
      const mint = async () => ({ value: ++serial, issuedAt: now, expiresAt: now + lifetimeMs });
      expect(await cache.get("k", mint)).toBe(1);
      now = renewsAt - 1;
      expect(await cache.get("k", mint)).toBe(1);
      now = renewsAt;
      expect(await cache.get("k", mint)).toBe(2);
    });
  }

  test("a failed mint is shared by the concurrent callers and not cached", async () => {
    const cache = new TokenCache<string>({ skewMs: 0, now: () => 0 });
    let mints = 0;
    const failing = async (): Promise<MintedToken<string>> => {
      mints++;
      throw new Error("issuer down");
    };
    const results = await Promise.allSettled([cache.get("k", failing), cache.get("k", failing)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(mints).toBe(1);
    expect(await cache.get("k", async () => ({ value: "ok", issuedAt: 0, expiresAt: 10 }))).toBe("ok");
  });

  test("evict forces the next call to mint", async () => {
    const cache = new TokenCache<number>({ skewMs: 0, now: () => 0 });
    let serial = 0;
    const mint = async () => ({ value: ++serial, issuedAt: 0, expiresAt: 1000 });
    await cache.get("k", mint);
    cache.evict("k");
    expect(await cache.get("k", mint)).toBe(2);
  });

  test("refuses a negative skew", () => {
    expect(() => new TokenCache({ skewMs: -1 })).toThrow(RangeError);
  });
});
