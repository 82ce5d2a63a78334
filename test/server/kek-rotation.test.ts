/**
 * Rotation of the key-encryption key (docs/key-encryption.md): the KEK ring
 * that opens with the old and the new key, the re-seal operation, servers
 * that keep signing through the changeover, and the `kek:rotate` command.
 */

import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyPassport } from "@lime-ts/core/passport";
import { createApp } from "../../server/app.ts";
import { loadConfig } from "../../server/config.ts";
import type { KeyStore, StoredSigningKey } from "../../server/core/keys/store.ts";
import {
  createKeyEncryption,
  createKeyEncryptionRing,
  type KeyEncryption,
} from "../../server/infrastructure/crypto/key-encryption.ts";
import { silentLogger } from "../../server/infrastructure/logger.ts";
import { openDatabase } from "../../server/infrastructure/sqlite/database.ts";
import { createSqliteKeyStore } from "../../server/infrastructure/sqlite/keys-store.ts";
import { resealSigningKeys } from "../../server/operations/reseal-signing-keys.ts";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
  testConfig,
} from "../../server/testing.ts";
import { SLOW_TEST_TIMEOUT_MS } from "../support/slow-test.ts";
import { api } from "./helpers.ts";

const BUN = process.execPath;
const ROTATE = join(import.meta.dir, "../../server/cli/rotate-kek.ts");
const GENERATE = join(import.meta.dir, "../../server/cli/generate-kek.ts");
const ADMIN = "admin-token-for-kek-rotation-0123456789";
const T0 = 1_800_000_000_000;

const newKek = () => crypto.getRandomValues(new Uint8Array(32));
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const text = (value: string) => new TextEncoder().encode(value);

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "lime-kek-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The key store of a database file on its own connection, as another process would see it. */
async function withKeyStore(databasePath: string, body: (keys: KeyStore) => Promise<void>): Promise<void> {
  const db = openDatabase(databasePath);
  try {
    await body(createSqliteKeyStore(db));
  } finally {
    db.close();
  }
}

async function listKeys(databasePath: string): Promise<StoredSigningKey[]> {
  let keys: StoredSigningKey[] = [];
  await withKeyStore(databasePath, async (store) => {
    keys = await store.list();
  });
  return keys;
}

async function opensWith(kek: Uint8Array, record: StoredSigningKey): Promise<boolean> {
  const sealer = await createKeyEncryption(kek);
  try {
    (await sealer.open({ iv: record.iv, ciphertext: record.sealedPrivateJwk }, record.kid)).fill(0);
    return true;
  } catch {
    return false;
  }
}

/** Boots the app on the database file as a restart with these keys would, then stops it. */
async function bootOn(databasePath: string, keyEncryptionKey: Uint8Array, previous?: Uint8Array) {
  const db = openDatabase(databasePath);
  try {
    const server = await createApp({
      config: testConfig(),
      db,
      keyEncryptionKey,
      ...(previous && { previousKeyEncryptionKey: previous }),
      logger: silentLogger,
      startMaintenance: false,
    });
    await server.stop();
  } finally {
    db.close();
  }
}

function kidOf(jwt: string): string {
  return JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString()).kid;
}

async function passportFrom(t: TestServer, agentToken: string): Promise<string> {
  const issued = await api(t.url, "/api/v1/core/passports", {
    method: "POST",
    headers: { "x-agent-token": agentToken },
    json: {},
  });
  expect(issued.status).toBe(201);
  return issued.body.data.passport as string;
}

/** Verifies `jwt` against the JWKS `t` serves; resolves to the agent id. */
async function verifiesAt(t: TestServer, jwt: string): Promise<string> {
  const jwks = (await api(t.url, "/.well-known/jwks.json")).body;
  const context = await verifyPassport(jwt, jwks, { issuer: t.config.publicUrl, audience: "lime-passport" });
  return context.agentId;
}

/** Starts servers on one database file and stops whichever are still running at the end. */
async function withServers(
  body: (start: (options: TestServerOptions) => Promise<TestServer>) => Promise<void>,
): Promise<void> {
  const running: TestServer[] = [];
  try {
    await body(async (options) => {
      const t = await startTestServer(options);
      const stop = t.stop.bind(t);
      running.push(t);
      t.stop = async () => {
        running.splice(running.indexOf(t), 1);
        await stop();
      };
      return t;
    });
  } finally {
    for (const t of [...running].reverse()) await t.stop();
  }
}

/** A store holding CURRENT, NEXT and RETIRED keys whose "private JWKs" are sealed under `kek`. */
async function seededStore(kek: Uint8Array): Promise<{ store: KeyStore; plaintexts: Map<string, string> }> {
  const store = createSqliteKeyStore(openDatabase(":memory:"));
  const sealer = await createKeyEncryption(kek);
  const plaintexts = new Map<string, string>();
  const record = async (kid: string, status: StoredSigningKey["status"]): Promise<StoredSigningKey> => {
    const plaintext = `{"kty":"RSA","kid":"${kid}","d":"secret-${kid}"}`;
    plaintexts.set(kid, plaintext);
    const sealed = await sealer.seal(text(plaintext), kid);
    return {
      kid,
      status,
      publicJwk: JSON.stringify({ kty: "RSA", kid }),
      sealedPrivateJwk: sealed.ciphertext,
      iv: sealed.iv,
      createdAt: T0,
      activatedAt: status === "CURRENT" ? T0 : null,
      retiredAt: null,
      removeAfter: null,
    };
  };
  await store.bootstrap(await record("k1", "CURRENT"), await record("k2", "NEXT"));
  await store.rotate({
    expectedCurrentKid: "k1",
    retireUntil: T0 + 1_000_000,
    next: await record("k3", "NEXT"),
    now: T0 + 1,
  });
  return { store, plaintexts };
}

async function openedPlaintexts(store: KeyStore, sealer: KeyEncryption): Promise<Map<string, string>> {
  const opened = new Map<string, string>();
  for (const record of await store.list()) {
    const bytes = await sealer.open({ iv: record.iv, ciphertext: record.sealedPrivateJwk }, record.kid);
    opened.set(record.kid, new TextDecoder().decode(bytes));
  }
  return opened;
}

describe("KEK ring: seal under the current key, open with the current or the previous one", () => {
  test("seals under the current KEK only; opens what either KEK sealed; refuses a third", async () => {
    const [current, previous, third] = [newKek(), newKek(), newKek()];
    const ring = await createKeyEncryptionRing(current, previous);
    const sealed = await ring.seal(text("private jwk"), "kid-1");
    expect(await (await createKeyEncryption(current)).open(sealed, "kid-1")).toEqual(text("private jwk"));
    await expect((await createKeyEncryption(previous)).open(sealed, "kid-1")).rejects.toThrow();

    const old = await (await createKeyEncryption(previous)).seal(text("older jwk"), "kid-2");
    expect(await ring.open(old, "kid-2")).toEqual(text("older jwk"));
    await expect(ring.open(old, "kid-1")).rejects.toThrow();

    const foreign = await (await createKeyEncryption(third)).seal(text("x"), "kid-3");
    await expect(ring.open(foreign, "kid-3")).rejects.toThrow();
  });

  test("without a previous KEK it opens only what the current KEK sealed", async () => {
    const [current, other] = [newKek(), newKek()];
    const ring = await createKeyEncryptionRing(current, null);
    const old = await (await createKeyEncryption(other)).seal(text("x"), "kid");
    await expect(ring.open(old, "kid")).rejects.toThrow();
    expect(await ring.open(await ring.seal(text("y"), "kid"), "kid")).toEqual(text("y"));
  });

  test("a previous KEK equal to the current one, or not 32 bytes, is a RangeError", async () => {
    const current = newKek();
    await expect(createKeyEncryptionRing(current, new Uint8Array(current))).rejects.toThrow(RangeError);
    await expect(createKeyEncryptionRing(current, new Uint8Array(16))).rejects.toThrow(RangeError);
  });
});

describe("resealSigningKeys", () => {
  test("moves CURRENT, NEXT and RETIRED keys to the new KEK with fresh IVs; a second run changes nothing", async () => {
    const [oldKek, kek] = [newKek(), newKek()];
    const { store, plaintexts } = await seededStore(oldKek);
    const before = await store.list();
    expect(before.map((k) => k.status).sort()).toEqual(["CURRENT", "NEXT", "RETIRED"]);

    const report = await resealSigningKeys({ keys: store, from: oldKek, to: kek });
    expect(report).toEqual({ resealed: 3, alreadyCurrent: 0, removed: 0, failed: [] });
    const after = await store.list();
    expect(await openedPlaintexts(store, await createKeyEncryption(kek))).toEqual(plaintexts);
    for (const record of after) {
      expect(await opensWith(oldKek, record)).toBe(false);
      const old = before.find((k) => k.kid === record.kid)!;
      expect(Buffer.from(record.iv).equals(Buffer.from(old.iv))).toBe(false);
      expect({ ...record, sealedPrivateJwk: null, iv: null }).toEqual({
        ...old,
        sealedPrivateJwk: null,
        iv: null,
      });
    }

    const again = await resealSigningKeys({ keys: store, from: oldKek, to: kek });
    expect(again).toEqual({ resealed: 0, alreadyCurrent: 3, removed: 0, failed: [] });
    expect(await store.list()).toEqual(after);
  });

  test("keys already under the new KEK are left alone; a key neither KEK opens is reported and untouched", async () => {
    const [oldKek, kek, stranger] = [newKek(), newKek(), newKek()];
    const { store } = await seededStore(oldKek);
    // k3 sealed under the new KEK (a key generated during the changeover), k2 under a KEK nobody has.
    for (const [kid, under] of [
      ["k3", kek],
      ["k2", stranger],
    ] as const) {
      const record = (await store.list()).find((k) => k.kid === kid)!;
      const sealed = await (await createKeyEncryption(under)).seal(text(`{"kid":"${kid}"}`), kid);
      expect(
        await store.reseal({
          kid,
          expectedCiphertext: record.sealedPrivateJwk,
          sealedPrivateJwk: sealed.ciphertext,
          iv: sealed.iv,
        }),
      ).toBe(true);
    }
    const strangerRow = (await store.list()).find((k) => k.kid === "k2")!;
    const report = await resealSigningKeys({
      keys: store,
      from: await createKeyEncryption(oldKek),
      to: await createKeyEncryption(kek),
    });
    expect(report).toEqual({ resealed: 1, alreadyCurrent: 1, removed: 0, failed: ["k2"] });
    expect((await store.list()).find((k) => k.kid === "k2")).toEqual(strangerRow);
  });

  test("two runs at once: every key re-sealed exactly once, none lost", async () => {
    const [oldKek, kek] = [newKek(), newKek()];
    const { store, plaintexts } = await seededStore(oldKek);
    const writes: string[] = [];
    const counting: KeyStore = {
      ...store,
      async reseal(input) {
        const swapped = await store.reseal(input);
        if (swapped) writes.push(input.kid);
        return swapped;
      },
    };
    const reports = await Promise.all([
      resealSigningKeys({ keys: counting, from: oldKek, to: kek }),
      resealSigningKeys({ keys: counting, from: oldKek, to: kek }),
    ]);
    expect(reports.every((r) => r.failed.length === 0 && r.removed === 0)).toBe(true);
    expect(reports[0]!.resealed + reports[1]!.resealed).toBe(3);
    expect(reports[0]!.alreadyCurrent + reports[1]!.alreadyCurrent).toBe(3);
    expect(writes.sort()).toEqual(["k1", "k2", "k3"]);
    expect(await openedPlaintexts(store, await createKeyEncryption(kek))).toEqual(plaintexts);
  });

  test("a re-seal racing a signing-key rotation loses no key", async () => {
    const [oldKek, kek] = [newKek(), newKek()];
    const { store } = await seededStore(oldKek);
    const ring = await createKeyEncryptionRing(kek, oldKek);
    const fresh = await ring.seal(text('{"kid":"k4"}'), "k4");
    const [report, rotated] = await Promise.all([
      resealSigningKeys({ keys: store, from: oldKek, to: kek }),
      store.rotate({
        expectedCurrentKid: "k2",
        retireUntil: T0 + 1_000_000,
        next: {
          kid: "k4",
          status: "NEXT",
          publicJwk: JSON.stringify({ kty: "RSA", kid: "k4" }),
          sealedPrivateJwk: fresh.ciphertext,
          iv: fresh.iv,
          createdAt: T0 + 2,
          activatedAt: null,
          retiredAt: null,
          removeAfter: null,
        },
        now: T0 + 2,
      }),
    ]);
    expect(rotated).toBe(true);
    expect(report.failed).toEqual([]);
    const keys = await store.list();
    expect(keys.map((k) => `${k.kid}:${k.status}`).sort()).toEqual([
      "k1:RETIRED",
      "k2:RETIRED",
      "k3:CURRENT",
      "k4:NEXT",
    ]);
    for (const record of keys) expect(await opensWith(kek, record)).toBe(true);
  });

  test("a row deleted after it lost its compare-and-swap counts as removed, not failed", async () => {
    const [oldKek, kek] = [newKek(), newKek()];
    const { store } = await seededStore(oldKek);
    const listed = await store.list();
    let lists = 0;
    const vanishing: KeyStore = {
      ...store,
      list: async () => (lists++ === 0 ? listed : listed.filter((k) => k.kid !== "k1")),
      reseal: async (input) => (input.kid === "k1" ? false : store.reseal(input)),
    };
    const report = await resealSigningKeys({ keys: vanishing, from: oldKek, to: kek });
    expect(report).toEqual({ resealed: 2, alreadyCurrent: 0, removed: 1, failed: [] });
  });

  test("the same raw KEK as old and new is refused before anything is read", async () => {
    const kek = newKek();
    const { store } = await seededStore(kek);
    await expect(resealSigningKeys({ keys: store, from: kek, to: new Uint8Array(kek) })).rejects.toThrow(
      RangeError,
    );
  });
});

describe("rotating the KEK under running servers", () => {
  test(
    "A → (B, previous A) → re-seal → B alone: the same kid keeps signing and every passport verifies; A alone is refused",
    async () => {
      await withTempDir(async (dir) => {
        const databasePath = join(dir, "lime.sqlite");
        const [kekA, kekB] = [newKek(), newKek()];
        await withServers(async (start) => {
          const first = await start({ databasePath, keyEncryptionKey: kekA });
          const p = await first.provision();
          const before = await passportFrom(first, p.agentToken);
          const kid = kidOf(before);
          expect(await verifiesAt(first, before)).toBe(p.agentId);

          // B alone cannot open the keys yet: the previous KEK is what makes the changeover work.
          await expect(bootOn(databasePath, kekB)).rejects.toThrow(/LIME_KEY_ENCRYPTION_KEY does not open/);

          // The rolling deploy: an instance with B (and A as previous) serves beside the old one.
          const second = await start({
            databasePath,
            keyEncryptionKey: kekB,
            extra: { previousKeyEncryptionKey: kekA },
          });
          const during = await passportFrom(second, p.agentToken);
          expect(kidOf(during)).toBe(kid);
          expect(await verifiesAt(second, during)).toBe(p.agentId);
          expect(await verifiesAt(first, during)).toBe(p.agentId);
          expect(await verifiesAt(second, before)).toBe(p.agentId);
          await first.stop();

          // `npm run kek:rotate`'s operation, from its own connection, while `second` serves.
          await withKeyStore(databasePath, async (keys) => {
            expect(await resealSigningKeys({ keys, from: kekA, to: kekB })).toEqual({
              resealed: 2,
              alreadyCurrent: 0,
              removed: 0,
              failed: [],
            });
          });
          await second.server.maintain();
          expect(await verifiesAt(second, await passportFrom(second, p.agentToken))).toBe(p.agentId);
          for (const record of await listKeys(databasePath)) {
            expect(await opensWith(kekB, record)).toBe(true);
            expect(await opensWith(kekA, record)).toBe(false);
          }
          await second.stop();

          // _PREVIOUS removed: B alone opens the same keys; no signing-key rotation happened.
          const third = await start({ databasePath, keyEncryptionKey: kekB });
          const after = await passportFrom(third, p.agentToken);
          expect(kidOf(after)).toBe(kid);
          expect(await verifiesAt(third, after)).toBe(p.agentId);
          expect(await verifiesAt(third, before)).toBe(p.agentId);
          await third.stop();
        });
        // The retired KEK no longer opens anything, and says so.
        await expect(bootOn(databasePath, kekA)).rejects.toThrow(
          /LIME_KEY_ENCRYPTION_KEY does not open signing key/,
        );
      });
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "signing keys generated during the changeover are sealed under the new KEK",
    async () => {
      await withTempDir(async (dir) => {
        const databasePath = join(dir, "lime.sqlite");
        const [kekA, kekB] = [newKek(), newKek()];
        await withServers(async (start) => {
          const first = await start({ databasePath, keyEncryptionKey: kekA });
          await first.stop();
          const second = await start({
            databasePath,
            keyEncryptionKey: kekB,
            extra: { previousKeyEncryptionKey: kekA },
            config: { adminToken: ADMIN },
          });
          const rotation = await second.rotateKeys();
          const byKid = new Map((await listKeys(databasePath)).map((k) => [k.kid, k]));
          const fresh = byKid.get(rotation.next_kid)!;
          expect(await opensWith(kekB, fresh)).toBe(true);
          expect(await opensWith(kekA, fresh)).toBe(false);
          expect(await opensWith(kekA, byKid.get(rotation.current_kid)!)).toBe(true);
          await second.stop();
          await withKeyStore(databasePath, async (keys) => {
            expect(await resealSigningKeys({ keys, from: kekA, to: kekB })).toEqual({
              resealed: 2,
              alreadyCurrent: 1,
              removed: 0,
              failed: [],
            });
          });
        });
        await bootOn(databasePath, kekB);
      });
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});

function commandEnv(databasePath: string, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    LIME_LOG_LEVEL: "error",
    DATABASE_PATH: databasePath,
    ...extra,
  };
}

async function run(script: string, env: Record<string, string>) {
  const child = Bun.spawn([BUN, script], { env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

/** A database file whose two signing keys are sealed under `kek`. */
async function leftDatabase(dir: string, kek: Uint8Array): Promise<string> {
  const databasePath = join(dir, "lime.sqlite");
  await bootOn(databasePath, kek);
  expect(await listKeys(databasePath)).toHaveLength(2);
  return databasePath;
}

describe("npm run kek:rotate (server/cli/rotate-kek.ts)", () => {
  test(
    "re-seals under LIME_KEY_ENCRYPTION_KEY, reports the counts, exits 0; a second run finds nothing to do",
    async () => {
      await withTempDir(async (dir) => {
        const [kekA, kekB] = [newKek(), newKek()];
        const databasePath = await leftDatabase(dir, kekA);
        const env = commandEnv(databasePath, {
          LIME_KEY_ENCRYPTION_KEY: b64url(kekB),
          LIME_KEY_ENCRYPTION_KEY_PREVIOUS: b64url(kekA),
        });
        const first = await run(ROTATE, env);
        expect(first.stderr).toBe("");
        expect(first.code).toBe(0);
        expect(first.stdout).toContain(
          "2 re-sealed, 0 already under the new key, 0 removed meanwhile, 0 failed",
        );
        expect(first.stdout).toContain("Remove LIME_KEY_ENCRYPTION_KEY_PREVIOUS");
        expect(first.stdout).not.toContain(b64url(kekA));
        expect(first.stdout).not.toContain(b64url(kekB));
        for (const record of await listKeys(databasePath)) expect(await opensWith(kekB, record)).toBe(true);

        const second = await run(ROTATE, env);
        expect(second.code).toBe(0);
        expect(second.stdout).toContain("0 re-sealed, 2 already under the new key");
        await bootOn(databasePath, kekB);
      });
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "without LIME_KEY_ENCRYPTION_KEY_PREVIOUS it exits 1 naming the variable and touches nothing",
    async () => {
      await withTempDir(async (dir) => {
        const [kekA, kekB] = [newKek(), newKek()];
        const databasePath = await leftDatabase(dir, kekA);
        const before = await listKeys(databasePath);
        const result = await run(ROTATE, commandEnv(databasePath, { LIME_KEY_ENCRYPTION_KEY: b64url(kekB) }));
        expect(result.code).toBe(1);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain("LIME_KEY_ENCRYPTION_KEY_PREVIOUS");
        expect(result.stderr).toContain("docs/key-encryption.md");
        expect(await listKeys(databasePath)).toEqual(before);

        const none = await run(ROTATE, commandEnv(databasePath, {}));
        expect(none.code).toBe(1);
        expect(none.stderr).toContain("needs both LIME_KEY_ENCRYPTION_KEY");
      });
    },
    SLOW_TEST_TIMEOUT_MS,
  );

  test(
    "an invalid previous key, a previous key that opens nothing, or an empty store: exit 1 with the reason",
    async () => {
      await withTempDir(async (dir) => {
        const [kekA, kekB, stranger] = [newKek(), newKek(), newKek()];
        const databasePath = await leftDatabase(dir, kekA);
        const same = await run(
          ROTATE,
          commandEnv(databasePath, {
            LIME_KEY_ENCRYPTION_KEY: b64url(kekB),
            LIME_KEY_ENCRYPTION_KEY_PREVIOUS: b64url(kekB),
          }),
        );
        expect(same.code).toBe(1);
        expect(same.stderr).toContain(
          "LIME_KEY_ENCRYPTION_KEY_PREVIOUS: must differ from LIME_KEY_ENCRYPTION_KEY",
        );

        const wrong = await run(
          ROTATE,
          commandEnv(databasePath, {
            LIME_KEY_ENCRYPTION_KEY: b64url(kekB),
            LIME_KEY_ENCRYPTION_KEY_PREVIOUS: b64url(stranger),
          }),
        );
        expect(wrong.code).toBe(1);
        expect(wrong.stdout).toContain(
          "0 re-sealed, 0 already under the new key, 0 removed meanwhile, 2 failed",
        );
        expect(wrong.stderr).toContain("2 signing key(s) not re-sealed");
        for (const record of await listKeys(databasePath)) expect(await opensWith(kekA, record)).toBe(true);

        const empty = await run(
          ROTATE,
          commandEnv(join(dir, "elsewhere", "lime.sqlite"), {
            LIME_KEY_ENCRYPTION_KEY: b64url(kekB),
            LIME_KEY_ENCRYPTION_KEY_PREVIOUS: b64url(kekA),
          }),
        );
        expect(empty.code).toBe(1);
        expect(empty.stderr).toContain("the store holds no signing keys");
        expect(empty.stderr).toContain("DATABASE_PATH");
      });
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});

describe("npm run kek:generate (server/cli/generate-kek.ts)", () => {
  test(
    "prints a fresh 32-byte key in the format LIME_KEY_ENCRYPTION_KEY accepts, and only that",
    async () => {
      const [a, b] = await Promise.all([
        run(GENERATE, commandEnv(":memory:", {})),
        run(GENERATE, commandEnv(":memory:", {})),
      ]);
      for (const result of [a, b]) {
        expect(result.code).toBe(0);
        expect(result.stderr).toBe("");
        expect(result.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
      }
      expect(a.stdout).not.toBe(b.stdout);
      const config = loadConfig({
        LIME_KEY_ENCRYPTION_KEY: a.stdout,
        LIME_KEY_ENCRYPTION_KEY_PREVIOUS: b.stdout,
      });
      expect(config.keyEncryptionKey).toHaveLength(32);
      expect(config.previousKeyEncryptionKey).toHaveLength(32);
    },
    SLOW_TEST_TIMEOUT_MS,
  );
});
