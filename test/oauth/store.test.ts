/**
 * The OAuth stores' contract, on SQLite (`bun:sqlite` in memory is real):
 * every single-use step has exactly one winner, revocation cascades, and
 * what lapses is purged. Another backend (Redis for the short-lived parts)
 * would run these same cases.
 */

import type { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { openDatabase } from "../../server/infrastructure/sqlite/database.ts";
import { createSqliteOAuthStores } from "../../server/infrastructure/sqlite/oauth-store.ts";
import type {
  AuthorizationCodeRecord,
  AuthorizationRequestRecord,
  OAuthStores,
} from "../../server/modules/oauth/store.ts";

const NOW = 1_800_000_000_000;

function request(id: string, expiresAt = NOW + 60_000): AuthorizationRequestRecord {
  return {
    id,
    clientId: "mcp_client",
    redirectUri: "http://127.0.0.1:1/cb",
    state: null,
    codeChallenge: "c".repeat(43),
    resource: "https://tools.example/mcp",
    scopes: ["mcp:tools"],
    powChallenge: "0".repeat(64),
    powDifficulty: 8,
    agentId: null,
    sessionId: null,
    csrfHash: null,
    status: "PENDING",
    createdAt: NOW,
    expiresAt,
  };
}

function code(codeHash: string, grantId: string): AuthorizationCodeRecord {
  return {
    codeHash,
    grantId,
    clientId: "mcp_client",
    redirectUri: "http://127.0.0.1:1/cb",
    codeChallenge: "c".repeat(43),
    resource: "https://tools.example/mcp",
    scopes: [],
    subjectType: "agent",
    subjectId: "agent-1",
    createdAt: NOW,
    expiresAt: NOW + 60_000,
    consumedAt: null,
  };
}

describe("OAuth stores on SQLite", () => {
  let db: Database;
  let stores: OAuthStores;

  const grant = async (id: string) =>
    stores.tokens.createGrant({
      id,
      clientId: "mcp_client",
      subjectType: "agent",
      subjectId: "agent-1",
      resource: "https://tools.example/mcp",
      scopes: [],
      createdAt: NOW,
      revokedAt: null,
      revokedReason: null,
    });

  beforeEach(() => {
    db = openDatabase(":memory:");
    db.run(
      "INSERT INTO users (id, email, password_hash, kyc_level, created_at, updated_at) VALUES ('u1', 'o@x.test', 'h', 0, 0, 0)",
    );
    stores = createSqliteOAuthStores(db);
  });
  afterEach(() => db.close());

  test("a pending request is decided exactly once, however many decisions race; never after it lapsed", async () => {
    await stores.flows.createAuthorizationRequest(request("r1"));
    const results = await Promise.all(Array.from({ length: 20 }, () => stores.flows.decide("r1", NOW)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    await stores.flows.createAuthorizationRequest(request("r2", NOW + 10));
    expect(await stores.flows.decide("r2", NOW + 10)).toBeNull();
  });

  test("the first session to bind a request keeps it", async () => {
    await stores.flows.createAuthorizationRequest(request("r1"));
    expect(await stores.flows.bindConsent("r1", "s1", "h1")).toBe(true);
    expect(await stores.flows.bindConsent("r1", "s1", "h2")).toBe(true);
    expect(await stores.flows.bindConsent("r1", "s2", "h3")).toBe(false);
    expect((await stores.flows.findAuthorizationRequest("r1"))?.csrfHash).toBe("h2");
  });

  test("a code is consumed once; the second use is reported as a replay; unknown codes are null", async () => {
    await grant("g1");
    await stores.flows.createCode(code("c1", "g1"));
    const uses = await Promise.all(Array.from({ length: 10 }, () => stores.flows.consumeCode("c1", NOW)));
    expect(uses.filter((u) => u?.firstUse)).toHaveLength(1);
    expect(uses.filter((u) => u !== null && !u.firstUse)).toHaveLength(9);
    expect(await stores.flows.consumeCode("nope", NOW)).toBeNull();
  });

  test("a refresh token rotates once; revoking the grant revokes its refresh and access tokens", async () => {
    await grant("g1");
    await stores.tokens.createRefreshToken({
      tokenHash: "rt1",
      grantId: "g1",
      status: "ACTIVE",
      createdAt: NOW,
      expiresAt: NOW + 1000,
    });
    const rotations = await Promise.all(
      Array.from({ length: 10 }, () => stores.tokens.rotateRefreshToken("rt1")),
    );
    expect(rotations.filter((r) => r?.rotated)).toHaveLength(1);
    await stores.tokens.createRefreshToken({
      tokenHash: "rt2",
      grantId: "g1",
      status: "ACTIVE",
      createdAt: NOW,
      expiresAt: NOW + 1000,
    });
    await stores.tokens.recordAccessToken({
      jti: "j1",
      grantId: "g1",
      clientId: "mcp_client",
      subjectType: "agent",
      subjectId: "agent-1",
      audience: ["https://tools.example/mcp"],
      scopes: [],
      issuedAt: NOW,
      expiresAt: NOW + 300_000,
      revokedAt: null,
    });
    await stores.tokens.revokeGrant("g1", NOW, "test");
    expect((await stores.tokens.findGrant("g1"))?.revokedAt).toBe(NOW);
    expect((await stores.tokens.findRefreshToken("rt2"))?.status).toBe("REVOKED");
    expect((await stores.tokens.findAccessToken("j1"))?.revokedAt).toBe(NOW);
    expect((await stores.tokens.rotateRefreshToken("rt2"))?.rotated).toBe(false);
  });

  test("a client assertion id is usable once until it expires", async () => {
    expect(await stores.tokens.useAssertionId("c", "j", NOW + 1000, NOW)).toBe(true);
    expect(await stores.tokens.useAssertionId("c", "j", NOW + 1000, NOW + 10)).toBe(false);
    expect(await stores.tokens.useAssertionId("other", "j", NOW + 1000, NOW)).toBe(true);
    expect(await stores.tokens.useAssertionId("c", "j", NOW + 5000, NOW + 2000)).toBe(true);
  });

  test("resource URIs are unique; lookups by host and by introspection credential", async () => {
    const resource = {
      id: "res1",
      resource: "https://tools.example/mcp",
      host: "tools.example",
      ownerId: "u1",
      displayName: "Tools",
      scopes: ["mcp:tools"],
      introspectionTokenHash: "ih1",
      createdAt: NOW,
    };
    expect(await stores.resources.create(resource)).toBe(true);
    expect(await stores.resources.create({ ...resource, id: "res2", introspectionTokenHash: "ih2" })).toBe(
      false,
    );
    expect((await stores.resources.listByHost("tools.example")).map((r) => r.id)).toEqual(["res1"]);
    expect((await stores.resources.findByIntrospectionTokenHash("ih1"))?.scopes).toEqual(["mcp:tools"]);
    expect(await stores.resources.delete("res1", "someone-else")).toBe(false);
    expect(await stores.resources.delete("res1", "u1")).toBe(true);
  });

  test("purge drops lapsed requests, codes, access token records and assertion ids", async () => {
    await grant("g1");
    await stores.flows.createAuthorizationRequest(request("r1", NOW + 10));
    await stores.flows.createCode({ ...code("c1", "g1"), expiresAt: NOW + 10 });
    await stores.tokens.useAssertionId("c", "j", NOW + 10, NOW);
    await stores.flows.purge(NOW + 20);
    await stores.tokens.purge(NOW + 20);
    expect(await stores.flows.findAuthorizationRequest("r1")).toBeNull();
    expect(await stores.flows.consumeCode("c1", NOW + 20)).toBeNull();
    expect(await stores.tokens.useAssertionId("c", "j", NOW + 1000, NOW + 20)).toBe(true);
  });
});
