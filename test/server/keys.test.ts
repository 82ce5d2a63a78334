import type { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { verifyPassport } from "@lime-ts/core/passport";
import { createApp } from "../../server/app.ts";
import { silentLogger } from "../../server/infrastructure/logger.ts";
import { openDatabase } from "../../server/infrastructure/sqlite/database.ts";
import {
  FakeClock,
  type Provisioned,
  startTestServer,
  type TestServer,
  testConfig,
} from "../../server/testing.ts";
import { api, startProvisioned, withTestServer } from "./helpers.ts";

const ADMIN = "admin-token-for-tests-0123456789abcdef";
const PUBLIC_MEMBERS = ["alg", "e", "kid", "kty", "n", "use"];

function kidOf(jwt: string): string {
  return JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString()).kid;
}

async function selfPassport(t: TestServer, agentToken: string, json: unknown = {}) {
  return api(t.url, "/api/v1/core/passports", {
    method: "POST",
    headers: { "x-agent-token": agentToken },
    json,
  });
}

describe("JWKS", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.stop();
  });

  test("one document satisfies both shapes: RFC 7517 `keys` at the top and the LIME envelope `data.keys`", async () => {
    const wellKnown = await api(t.url, "/.well-known/jwks.json");
    const lime = await api(t.url, "/api/v1/core/.well-known/jwks.json");
    for (const response of [wellKnown, lime]) {
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith("application/json");
      expect(response.body.ok).toBe(true);
      expect(response.body.data.keys).toEqual(response.body.keys);
    }
    expect(lime.body).toEqual(wellKnown.body);
    expect(wellKnown.body.keys).toHaveLength(2);
    for (const key of wellKnown.body.keys) {
      expect(Object.keys(key).sort()).toEqual(PUBLIC_MEMBERS);
      expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", e: "AQAB" });
      expect(Buffer.from(key.n, "base64url").length).toBeGreaterThanOrEqual(256);
    }
  });

  test("cacheable: Cache-Control max-age, a strong ETag, 304 on If-None-Match (single, listed, weak), 200 otherwise", async () => {
    const first = await api(t.url, "/.well-known/jwks.json");
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers.get("cache-control")).toBe(
      `public, max-age=${t.config.lifetimes.jwksMaxAgeSeconds}`,
    );
    for (const condition of [etag, `"other", ${etag}`, `W/${etag}`, "*"]) {
      const response = await fetch(`${t.url}/api/v1/core/.well-known/jwks.json`, {
        headers: { "if-none-match": condition },
      });
      expect(response.status).toBe(304);
      expect(response.headers.get("etag")).toBe(etag);
      expect(await response.text()).toBe("");
    }
    const stale = await fetch(`${t.url}/.well-known/jwks.json`, { headers: { "if-none-match": '"stale"' } });
    expect(stale.status).toBe(200);
  });
});

describe("signing keys: rotation and retirement", () => {
  // The signing keys are the server's own state: each test rotates on a server and clock of its own.
  let t: TestServer;
  let p: Provisioned;
  let clock: FakeClock;
  beforeEach(async () => {
    clock = new FakeClock();
    ({ t, p } = await startProvisioned({ clock, config: { adminToken: ADMIN } }));
  });
  afterEach(async () => {
    await t.stop();
  });
  const rotate = () =>
    api(t.url, "/api/v1/admin/keys/rotate", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
    });

  test("the prepared JWKS follows each rotation: the old ETag gets the new set, the new one a 304", async () => {
    const before = await fetch(`${t.url}/.well-known/jwks.json`);
    const oldEtag = before.headers.get("etag")!;
    const oldBody = await before.text();
    // Served from the same prepared bytes while the keys do not change.
    expect(await (await fetch(`${t.url}/.well-known/jwks.json`)).text()).toBe(oldBody);
    expect((await rotate()).status).toBe(200);
    const after = await fetch(`${t.url}/.well-known/jwks.json`, { headers: { "if-none-match": oldEtag } });
    expect(after.status).toBe(200);
    const newEtag = after.headers.get("etag")!;
    expect(newEtag).not.toBe(oldEtag);
    const body = JSON.parse(await after.text());
    expect(body.keys).toHaveLength(3);
    expect(body.data.keys).toEqual(body.keys);
    const revalidated = await fetch(`${t.url}/api/v1/core/.well-known/jwks.json`, {
      headers: { "if-none-match": newEtag },
    });
    expect(revalidated.status).toBe(304);
  });

  test("passports are signed by the first published key; the second (next) key is already published", async () => {
    const jwks = (await api(t.url, "/.well-known/jwks.json")).body;
    const passport = await selfPassport(t, p.agentToken);
    expect(kidOf(passport.body.data.passport)).toBe(jwks.keys[0].kid);
  });

  test("on-demand rotation: the pre-published next key signs, the old key stays published, old passports still verify", async () => {
    const before = await api(t.url, "/.well-known/jwks.json");
    const [current, next] = before.body.keys.map((k: { kid: string }) => k.kid);
    const oldPassport = (await selfPassport(t, p.agentToken)).body.data.passport;

    const rotated = await rotate();
    expect(rotated.status).toBe(200);
    expect(rotated.body.data).toMatchObject({ retired_kid: current, current_kid: next });

    const after = await api(t.url, "/.well-known/jwks.json");
    expect(after.headers.get("etag")).not.toBe(before.headers.get("etag"));
    const kids = after.body.keys.map((k: { kid: string }) => k.kid);
    expect(kids).toHaveLength(3);
    expect(kids[0]).toBe(next);
    expect(kids).toContain(current);
    expect(kids).toContain(rotated.body.data.next_kid);

    const newPassport = (await selfPassport(t, p.agentToken)).body.data.passport;
    expect(kidOf(newPassport)).toBe(next);
    for (const token of [oldPassport, newPassport]) {
      const context = await verifyPassport(token, after.body, {
        issuer: t.config.publicUrl,
        audience: "lime-passport",
        now: Math.floor(clock.now() / 1000),
      });
      expect(context.agentId).toBe(p.agentId);
    }
    const system = await api(t.url, "/api/v1/admin/audit", { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(system.body.data.events[0]).toMatchObject({ action: "keys.rotated", reason: "on_demand" });
  });

  test("a retired key leaves the JWKS only after every token it signed has expired", async () => {
    await selfPassport(t, p.agentToken);
    const rotated = await rotate();
    expect(rotated.status).toBe(200);
    const retired = rotated.body.data.retired_kid as string;
    clock.advance(t.config.lifetimes.passportMs);
    await t.server.maintain();
    expect(
      (await api(t.url, "/.well-known/jwks.json")).body.keys.map((k: { kid: string }) => k.kid),
    ).toContain(retired);
    clock.advance(10 * 60_000);
    await t.server.maintain();
    const kids = (await api(t.url, "/.well-known/jwks.json")).body.keys.map((k: { kid: string }) => k.kid);
    expect(kids).not.toContain(retired);
    expect(kids).toHaveLength(2);
  });

  test("scheduled rotation: once the interval has passed, maintenance promotes the next key", async () => {
    const [current, next] = (await api(t.url, "/.well-known/jwks.json")).body.keys.map(
      (k: { kid: string }) => k.kid,
    );
    clock.advance(t.config.lifetimes.keyRotationMs);
    await t.server.maintain();
    const kids = (await api(t.url, "/.well-known/jwks.json")).body.keys.map((k: { kid: string }) => k.kid);
    expect(kids[0]).toBe(next);
    expect(kids).toContain(current);
    expect(kidOf((await selfPassport(t, p.agentToken)).body.data.passport)).toBe(next);
  });
});

/**
 * The database file a server left behind (stopped, closed), opened again for
 * `use` and closed after, with the key-encryption key its signing keys were
 * sealed under.
 */
async function withLeftDatabase(use: (db: Database, keyEncryptionKey: Uint8Array) => Promise<void>) {
  const first = await startTestServer();
  await first.server.stop();
  first.db.close();
  const db = openDatabase(first.databasePath);
  try {
    await use(db, first.keyEncryptionKey);
  } finally {
    db.close();
  }
}

/** Boots the app on `db` as a restart with `keyEncryptionKey` would. */
function bootOn(db: Database, keyEncryptionKey: Uint8Array) {
  return createApp({
    config: testConfig(),
    db,
    keyEncryptionKey,
    logger: silentLogger,
    startMaintenance: false,
  });
}

describe("signing keys at rest", () => {
  test("private keys are stored sealed: no private JWK member appears in the database", async () => {
    await withTestServer({}, async (t) => {
      const rows = t.db.query("SELECT public_jwk, sealed_private_jwk, iv FROM signing_keys").all() as {
        public_jwk: string;
        sealed_private_jwk: Uint8Array;
        iv: Uint8Array;
      }[];
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(Object.keys(JSON.parse(row.public_jwk)).sort()).toEqual(PUBLIC_MEMBERS);
        const sealed = Buffer.from(row.sealed_private_jwk).toString("latin1");
        // What the plaintext JWK (JSON.stringify, no spaces) must hold: members
        // with their value's opening quote and the public modulus itself.
        // Markers of five bytes or more: three-byte ones ('"d"', "RSA") turn up
        // in random ciphertext about once in a thousand runs, and did in CI.
        const { n } = JSON.parse(row.public_jwk) as { n: string };
        for (const marker of ['"d":"', '"p":"', '"q":"', '"dp":"', '"kty":"RSA"', n])
          expect(sealed).not.toContain(marker);
        expect(row.iv.length).toBe(12);
      }
    });
  });

  test("a different key-encryption key refuses to boot, naming LIME_KEY_ENCRYPTION_KEY", async () => {
    await withLeftDatabase(async (db) => {
      await expect(bootOn(db, crypto.getRandomValues(new Uint8Array(32)))).rejects.toThrow(
        /LIME_KEY_ENCRYPTION_KEY/,
      );
    });
  });

  test("a sealed key moved onto another key's row does not open (the kid is authenticated data)", async () => {
    await withLeftDatabase(async (db, keyEncryptionKey) => {
      const rows = db.query("SELECT kid, sealed_private_jwk, iv FROM signing_keys ORDER BY status").all() as {
        kid: string;
        sealed_private_jwk: Uint8Array;
        iv: Uint8Array;
      }[];
      db.query("UPDATE signing_keys SET sealed_private_jwk = ?, iv = ? WHERE kid = ?").run(
        rows[1]!.sealed_private_jwk,
        rows[1]!.iv,
        rows[0]!.kid,
      );
      await expect(bootOn(db, keyEncryptionKey)).rejects.toThrow(/does not open signing key/);
    });
  });
});

describe("self-service passports", () => {
  let t: TestServer;
  let p: Provisioned;
  beforeAll(async () => {
    ({ t, p } = await startProvisioned());
  });
  afterAll(async () => {
    await t.stop();
  });

  test("default audience lime-passport, the configured lifetime, verifiable with the served JWKS", async () => {
    const issued = await selfPassport(t, p.agentToken);
    expect(issued.status).toBe(201);
    expect(issued.body.data.audience).toBe("lime-passport");
    const jwks = (await api(t.url, "/.well-known/jwks.json")).body;
    const context = await verifyPassport(issued.body.data.passport, jwks, {
      issuer: t.config.publicUrl,
      audience: "lime-passport",
    });
    expect(context).toMatchObject({
      agentId: p.agentId,
      ownerId: p.ownerId,
      ownerKycLevel: 1,
      agentName: "Test agent",
    });
    expect((context.expiresAt - context.issuedAt) * 1000).toBe(t.config.lifetimes.passportMs);
    expect(context.requestId).toBeUndefined();
  });

  test("a chosen audience is honoured; lime-site-login and other lime- names are AUDIENCE_RESERVED", async () => {
    const issued = await selfPassport(t, p.agentToken, { audience: "https://shop.example" });
    expect(issued.body.data.audience).toBe("https://shop.example");
    for (const audience of ["lime-site-login", "LIME-site-login", "lime-mcp"]) {
      const refused = await selfPassport(t, p.agentToken, { audience });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe("AUDIENCE_RESERVED");
    }
  });

  test("without a valid agent token: MISSING_AGENT_TOKEN / INVALID_AGENT_TOKEN", async () => {
    const missing = await api(t.url, "/api/v1/core/passports", { method: "POST", json: {} });
    expect(missing.body.error.code).toBe("MISSING_AGENT_TOKEN");
    expect((await selfPassport(t, `lime_agent_${"C".repeat(43)}`)).body.error.code).toBe(
      "INVALID_AGENT_TOKEN",
    );
  });
});
