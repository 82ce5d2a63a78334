import { describe, expect, test } from "bun:test";
import { createKeySet, generateSigningKey, KeySet, type SigningKey } from "../../../core/keys/index.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../../support/slow-test.ts";
import { caught, NOW } from "../passport/fixtures.ts";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/** Keys made up front so that rotations in a test never wait on RSA generation. */
async function keys(count: number): Promise<SigningKey[]> {
  return Promise.all(Array.from({ length: count }, () => generateSigningKey()));
}

describe("KeySet rotation", () => {
  test(
    "the next key is published before it signs anything",
    async () => {
      const [current, next, later] = await keys(3);
      const set = await createKeySet({ maxTokenLifetimeSeconds: 3600, current, next });
      const kids = () => set.publishedJwks(NOW).keys.map((k) => k.kid);
      expect(set.current).toBe(current!);
      expect(kids()).toEqual([current!.kid, next!.kid]);
      await set.rotate(NOW, later);
      expect(set.current).toBe(next!); // it signs only now, and was in every JWKS above
      expect(set.next).toBe(later!);
      expect(kids()).toContain(later!.kid);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("a retired key stays published until every token it signed has expired (rotation + max lifetime + grace)", async () => {
    const [current, next, n2] = await keys(3);
    const set = await createKeySet({ maxTokenLifetimeSeconds: 3600, graceSeconds: 60, current, next });
    await set.rotate(NOW, n2);
    expect(set.retired).toEqual([{ key: current!, retiredAt: NOW, removeAt: NOW + 3660 }]);
    const published = (at: number) => set.publishedJwks(at).keys.map((k) => k.kid);
    expect(published(NOW + 3659)).toContain(current!.kid);
    expect(published(NOW + 3660)).not.toContain(current!.kid);
    expect(set.prune(NOW + 3659)).toEqual([]);
    expect(set.prune(NOW + 3660).map((r) => r.key)).toEqual([current!]);
    expect(set.retired).toEqual([]);
  });

  test("the JWKS never carries private members, whatever the keys are", async () => {
    const extractable = await generateSigningKey({ extractable: true });
    const [next, n2] = await keys(2);
    const set = await createKeySet({ maxTokenLifetimeSeconds: 60, current: extractable, next });
    await set.rotate(NOW, n2);
    for (const jwk of set.publishedJwks(NOW).keys) {
      expect(Object.keys(jwk)).toEqual(["kty", "n", "e", "kid", "alg", "use"]);
      for (const member of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(member);
    }
  });

  test(
    "generates missing keys and the next key at rotation with the given generator",
    async () => {
      const pool = await keys(3);
      let made = 0;
      const set = await createKeySet({ maxTokenLifetimeSeconds: 60, generate: async () => pool[made++]! });
      expect([set.current, set.next]).toEqual([pool[0]!, pool[1]!]);
      await set.rotate(NOW);
      expect(set.next).toBe(pool[2]!);
      expect(made).toBe(3);
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test("default generator makes 2048-bit non-extractable keys", async () => {
    const set = await createKeySet({ maxTokenLifetimeSeconds: 60 });
    await set.rotate(NOW);
    expect(set.next.privateKey.extractable).toBe(false);
    expect(new Set([set.current.kid, set.next.kid, set.retired[0]!.key.kid]).size).toBe(3);
  });

  test("restores retired keys from storage and refuses rotations back in time", async () => {
    const [old, current, next, n2] = await keys(4);
    const set = new KeySet({
      maxTokenLifetimeSeconds: 60,
      current: current!,
      next: next!,
      retired: [{ key: old!, retiredAt: NOW, removeAt: NOW + 120 }],
    });
    expect(set.publishedJwks(NOW + 119).keys.map((k) => k.kid)).toContain(old!.kid);
    expect((await caught(() => set.rotate(NOW - 1, n2))).code).toBe("KEY_INVALID_OPTION");
    await set.rotate(NOW + 1); // a restored set makes its own next key
    expect(set.current).toBe(next!);
    expect([old!.kid, current!.kid, next!.kid]).not.toContain(set.next.kid);
  });

  test("two keys with one kid are JWKS_DUPLICATE_KID, at construction and at rotation", async () => {
    const [current, next] = await keys(2);
    expect(
      (await caught(() => createKeySet({ maxTokenLifetimeSeconds: 60, current, next: current }))).code,
    ).toBe("JWKS_DUPLICATE_KID");
    const set = await createKeySet({ maxTokenLifetimeSeconds: 60, current, next });
    expect((await caught(() => set.rotate(NOW, current))).code).toBe("JWKS_DUPLICATE_KID");
    expect(set.current).toBe(current!); // a refused rotation changes nothing
    expect(set.retired).toEqual([]);
  });

  test("refuses malformed options and times with KeyError codes", async () => {
    const [current, next] = await keys(2);
    const base = { current, next };
    const bad: [unknown, string][] = [
      [null, "KEY_INVALID_OPTION"],
      [{ ...base }, "KEY_INVALID_OPTION"],
      [{ ...base, maxTokenLifetimeSeconds: -1 }, "KEY_INVALID_OPTION"],
      [{ ...base, maxTokenLifetimeSeconds: Number.NaN }, "KEY_INVALID_OPTION"],
      [{ ...base, maxTokenLifetimeSeconds: 60, graceSeconds: "5" }, "KEY_INVALID_OPTION"],
      [{ ...base, maxTokenLifetimeSeconds: 60, generate: 5 }, "KEY_INVALID_OPTION"],
      [{ ...base, maxTokenLifetimeSeconds: 60, current: {} }, "KEY_INVALID"],
      [{ ...base, maxTokenLifetimeSeconds: 60, retired: {} }, "KEY_INVALID_OPTION"],
      [{ ...base, maxTokenLifetimeSeconds: 60, retired: [null] }, "KEY_INVALID_OPTION"],
      [
        { ...base, maxTokenLifetimeSeconds: 60, retired: [{ key: current, retiredAt: "x", removeAt: 1 }] },
        "KEY_INVALID_OPTION",
      ],
    ];
    for (const [options, code] of bad)
      expect((await caught(() => createKeySet(options as never))).code).toBe(code);
    const set = await createKeySet({ maxTokenLifetimeSeconds: 60, current, next });
    expect((await caught(() => set.rotate(Date.now(), undefined))).code).toBe("KEY_INVALID_OPTION"); // milliseconds
    expect((await caught(() => set.publishedJwks(-1))).code).toBe("KEY_INVALID_OPTION");
    expect((await caught(() => set.rotate(NOW, {} as never))).code).toBe("KEY_INVALID");
  });
});
