/**
 * The OAuth stores' conformance suite: what every backend must do the way the
 * SQLite store does (sqlite/oauth-store.ts). Above all the single-use steps
 * (a decision, a code redemption, a refresh rotation, an assertion id) have
 * exactly one winner, revoking a grant reaches every token under it, and
 * purging drops exactly what lapsed.
 */

import { describe, expect, test } from "bun:test";
import type { ClientMetadata } from "../../../server/modules/oauth/registration.ts";
import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  AuthorizationRequestRecord,
  GrantRecord,
  OAuthStores,
  RefreshTokenRecord,
  RegisteredClientRecord,
  ResourceRecord,
} from "../../../server/modules/oauth/store.ts";
import type { Fixture } from "./conformance.ts";

/** Agent clients name an agent, so the suite needs agents as well as owners. */
export interface OAuthFixture extends Fixture<OAuthStores> {
  addAgent(ownerId: string): Promise<string>;
}

const T0 = 1_800_000_000_000;
const DAY = 86_400_000;

async function using(
  factory: () => Promise<OAuthFixture>,
  body: (fixture: OAuthFixture) => Promise<void>,
): Promise<void> {
  const fixture = await factory();
  try {
    await body(fixture);
  } finally {
    await fixture.close();
  }
}

function metadata(overrides: Partial<ClientMetadata> = {}): ClientMetadata {
  return {
    client_name: "Tool client",
    redirect_uris: ["http://127.0.0.1:1/cb"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    scope: null,
    client_uri: null,
    logo_uri: null,
    tos_uri: null,
    policy_uri: null,
    contacts: [],
    software_id: null,
    software_version: null,
    application_type: null,
    jwks: null,
    ...overrides,
  };
}

function client(overrides: Partial<RegisteredClientRecord> = {}): RegisteredClientRecord {
  return {
    clientId: `mcp_${crypto.randomUUID()}`,
    kind: "dynamic",
    agentId: null,
    metadata: metadata(),
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function resource(ownerId: string, overrides: Partial<ResourceRecord> = {}): ResourceRecord {
  return {
    id: crypto.randomUUID(),
    resource: `https://tools.example/${crypto.randomUUID()}`,
    host: "tools.example",
    ownerId,
    displayName: "Tools",
    scopes: ["mcp:tools", "mcp:read"],
    introspectionTokenHash: crypto.randomUUID(),
    createdAt: T0,
    ...overrides,
  };
}

function authorizationRequest(
  overrides: Partial<AuthorizationRequestRecord> = {},
): AuthorizationRequestRecord {
  return {
    id: crypto.randomUUID(),
    clientId: "mcp_client",
    redirectUri: "http://127.0.0.1:1/cb",
    state: "xyz",
    codeChallenge: "c".repeat(43),
    resource: "https://tools.example/mcp",
    scopes: ["mcp:tools"],
    powChallenge: "0".repeat(64),
    powDifficulty: 8,
    agentId: null,
    sessionId: null,
    csrfHash: null,
    status: "PENDING",
    createdAt: T0,
    expiresAt: T0 + 60_000,
    ...overrides,
  };
}

function grant(overrides: Partial<GrantRecord> = {}): GrantRecord {
  return {
    id: crypto.randomUUID(),
    clientId: "mcp_client",
    subjectType: "agent",
    subjectId: "agent-1",
    resource: "https://tools.example/mcp",
    scopes: ["mcp:tools"],
    createdAt: T0,
    revokedAt: null,
    revokedReason: null,
    ...overrides,
  };
}

function code(grantId: string, overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    codeHash: crypto.randomUUID(),
    grantId,
    clientId: "mcp_client",
    redirectUri: "http://127.0.0.1:1/cb",
    codeChallenge: "c".repeat(43),
    resource: "https://tools.example/mcp",
    scopes: ["mcp:tools"],
    subjectType: "owner",
    subjectId: "owner-1",
    createdAt: T0,
    expiresAt: T0 + 60_000,
    consumedAt: null,
    ...overrides,
  };
}

function refresh(grantId: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    tokenHash: crypto.randomUUID(),
    grantId,
    status: "ACTIVE",
    createdAt: T0,
    expiresAt: T0 + 30 * DAY,
    ...overrides,
  };
}

function access(grantId: string | null, overrides: Partial<AccessTokenRecord> = {}): AccessTokenRecord {
  return {
    jti: crypto.randomUUID(),
    grantId,
    clientId: "mcp_client",
    subjectType: "agent",
    subjectId: "agent-1",
    audience: ["https://tools.example/mcp"],
    scopes: ["mcp:tools"],
    issuedAt: T0,
    expiresAt: T0 + 300_000,
    revokedAt: null,
    ...overrides,
  };
}

export function oauthStoreConformance(name: string, factory: () => Promise<OAuthFixture>): void {
  describe(`OAuth stores conformance: ${name}`, () => {
    test("clients: create and find; a client id is registered once", async () => {
      await using(factory, async ({ store }) => {
        const record = client({
          metadata: metadata({ contacts: ["ops@tools.example"], scope: "mcp:tools" }),
        });
        await store.clients.create(record);
        expect(await store.clients.find(record.clientId)).toEqual(record);
        expect(await store.clients.find("mcp_unknown")).toBeNull();
        await expect(
          store.clients.create({ ...record, metadata: metadata({ client_name: "Other" }) }),
        ).rejects.toThrow();
        expect(await store.clients.find(record.clientId)).toEqual(record);
      });
    });

    test("clients: an agent's client is created, then replaced (keys, update time) but keeps its creation time; a dynamic client of that id is left alone", async () => {
      await using(factory, async ({ store, addOwner, addAgent }) => {
        const agentId = await addAgent(await addOwner());
        const jwks = { keys: [{ kty: "OKP", crv: "Ed25519", x: "a".repeat(43) }] as JsonWebKey[] };
        const first = client({
          clientId: agentId,
          kind: "agent",
          agentId,
          metadata: metadata({ token_endpoint_auth_method: "private_key_jwt", jwks }),
        });
        await store.clients.upsertAgentClient(first);
        expect(await store.clients.find(agentId)).toEqual(first);
        const rotatedKeys = { keys: [{ kty: "OKP", crv: "Ed25519", x: "b".repeat(43) }] as JsonWebKey[] };
        await store.clients.upsertAgentClient({
          ...first,
          metadata: { ...first.metadata, jwks: rotatedKeys },
          createdAt: T0 + 500,
          updatedAt: T0 + 1000,
        });
        expect(await store.clients.find(agentId)).toEqual({
          ...first,
          metadata: { ...first.metadata, jwks: rotatedKeys },
          updatedAt: T0 + 1000,
        });

        const dynamic = client();
        await store.clients.create(dynamic);
        await store.clients.upsertAgentClient({
          ...first,
          clientId: dynamic.clientId,
          metadata: metadata({ client_name: "Hijack" }),
          updatedAt: T0 + 2000,
        });
        expect(await store.clients.find(dynamic.clientId)).toEqual(dynamic);
      });
    });

    test("resources: a URI is registered once; lookups by URI and by introspection credential", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const owner = await addOwner();
        const record = resource(owner);
        expect(await store.resources.create(record)).toBe(true);
        expect(
          await store.resources.create(
            resource(await addOwner(), { resource: record.resource, introspectionTokenHash: "other" }),
          ),
        ).toBe(false);
        expect(await store.resources.findByResource(record.resource)).toEqual(record);
        expect(await store.resources.findByResource("https://tools.example/none")).toBeNull();
        expect(await store.resources.findByIntrospectionTokenHash(record.introspectionTokenHash)).toEqual(
          record,
        );
        expect(await store.resources.findByIntrospectionTokenHash("other")).toBeNull();
      });
    });

    test("resources: by host exactly; by host name at any port; in byte order of the URI", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const owner = await addOwner();
        const at = (uri: string, host: string) => resource(owner, { resource: uri, host });
        // Byte order puts "B" before "a" and "-" before letters; a locale-aware order would not.
        const plain = [
          at("https://tools.example/a", "tools.example"),
          at("https://tools.example/B", "tools.example"),
          at("https://tools.example/a-b", "tools.example"),
        ];
        const ported = [
          at("https://tools.example:8443/mcp", "tools.example:8443"),
          at("https://tools.example:9/mcp", "tools.example:9"),
        ];
        const others = [
          at("https://tools.example.evil/mcp", "tools.example.evil"),
          at("https://tools.examplex/mcp", "tools.examplex"),
          at("https://xtools.example/mcp", "xtools.example"),
          at("https://tools.exampl/mcp", "tools.exampl"),
        ];
        const loopback = [at("http://[::1]:4212/mcp", "[::1]:4212"), at("http://[::1]/mcp", "[::1]")];
        for (const r of [...others, ...ported, ...plain, ...loopback]) {
          expect(await store.resources.create(r)).toBe(true);
        }
        const uris = (records: ResourceRecord[]) => records.map((r) => r.resource);
        expect(uris(await store.resources.listByHost("tools.example"))).toEqual([
          "https://tools.example/B",
          "https://tools.example/a",
          "https://tools.example/a-b",
        ]);
        expect(uris(await store.resources.listByHost("tools.example:8443"))).toEqual([
          "https://tools.example:8443/mcp",
        ]);
        expect(uris(await store.resources.listByHostName("tools.example"))).toEqual([
          "https://tools.example/B",
          "https://tools.example/a",
          "https://tools.example/a-b",
          "https://tools.example:8443/mcp",
          "https://tools.example:9/mcp",
        ]);
        expect(uris(await store.resources.listByHostName("[::1]"))).toEqual([
          "http://[::1]/mcp",
          "http://[::1]:4212/mcp",
        ]);
        expect(await store.resources.listByHostName("example")).toEqual([]);
        expect(await store.resources.listByHost("nowhere.example")).toEqual([]);
      });
    });

    test("resources: an owner's list, oldest first; deletion only by their owner, once", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const owner = await addOwner();
        const stranger = await addOwner();
        const late = resource(owner, { createdAt: T0 + 10 });
        const early = resource(owner, { createdAt: T0 });
        const theirs = resource(stranger);
        for (const r of [late, early, theirs]) await store.resources.create(r);
        expect((await store.resources.listByOwner(owner)).map((r) => r.id)).toEqual([early.id, late.id]);
        expect(await store.resources.listByOwner(crypto.randomUUID())).toEqual([]);

        expect(await store.resources.delete(early.id, stranger)).toBe(false);
        expect(await store.resources.findByResource(early.resource)).toEqual(early);
        expect(await store.resources.delete(early.id, owner)).toBe(true);
        expect(await store.resources.delete(early.id, owner)).toBe(false);
        expect(await store.resources.findByResource(early.resource)).toBeNull();
        expect((await store.resources.listByOwner(owner)).map((r) => r.id)).toEqual([late.id]);
        // Once deleted, the URI can be registered again.
        expect(await store.resources.create(resource(stranger, { resource: early.resource }))).toBe(true);
      });
    });

    test("authorization requests: create and read back; the first session to bind keeps the request", async () => {
      await using(factory, async ({ store }) => {
        const request = authorizationRequest({ agentId: "agent-1", state: null });
        await store.flows.createAuthorizationRequest(request);
        expect(await store.flows.findAuthorizationRequest(request.id)).toEqual(request);
        expect(await store.flows.findAuthorizationRequest(crypto.randomUUID())).toBeNull();

        expect(await store.flows.bindConsent(request.id, "s1", "h1")).toBe(true);
        // The same session reloading the page gets a new form token.
        expect(await store.flows.bindConsent(request.id, "s1", "h2")).toBe(true);
        expect(await store.flows.bindConsent(request.id, "s2", "h3")).toBe(false);
        expect(await store.flows.findAuthorizationRequest(request.id)).toEqual({
          ...request,
          sessionId: "s1",
          csrfHash: "h2",
        });
        expect(await store.flows.bindConsent(crypto.randomUUID(), "s1", "h1")).toBe(false);
        // A decided request can no longer be bound.
        await store.flows.decide(request.id, T0);
        expect(await store.flows.bindConsent(request.id, "s1", "h4")).toBe(false);
      });
    });

    test("authorization requests: of many racing sessions exactly one binds", async () => {
      await using(factory, async ({ store }) => {
        const request = authorizationRequest();
        await store.flows.createAuthorizationRequest(request);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.flows.bindConsent(request.id, `s${i}`, `h${i}`)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect((await store.flows.findAuthorizationRequest(request.id))?.sessionId).toBe(`s${winner}`);
      });
    });

    test("authorization requests: decided once, however many decisions race; never once lapsed or unknown", async () => {
      await using(factory, async ({ store }) => {
        const request = authorizationRequest({ sessionId: "s1", csrfHash: "h1" });
        await store.flows.createAuthorizationRequest(request);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.flows.decide(request.id, T0)),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toEqual([{ ...request, status: "DECIDED" }]);
        expect(await store.flows.decide(request.id, T0)).toBeNull();
        expect((await store.flows.findAuthorizationRequest(request.id))?.status).toBe("DECIDED");

        const lapsing = authorizationRequest({ expiresAt: T0 + 10 });
        await store.flows.createAuthorizationRequest(lapsing);
        expect(await store.flows.decide(lapsing.id, T0 + 10)).toBeNull();
        expect((await store.flows.findAuthorizationRequest(lapsing.id))?.status).toBe("PENDING");
        expect((await store.flows.decide(lapsing.id, T0 + 9))?.status).toBe("DECIDED");
        expect(await store.flows.decide(crypto.randomUUID(), T0)).toBeNull();
      });
    });

    test("codes: consumed once; a later use is a replay carrying the first use's time; unknown codes are null", async () => {
      await using(factory, async ({ store }) => {
        const g = grant();
        await store.tokens.createGrant(g);
        const record = code(g.id);
        await store.flows.createCode(record);
        expect(await store.flows.consumeCode(record.codeHash, T0 + 5)).toEqual({
          code: { ...record, consumedAt: T0 + 5 },
          firstUse: true,
        });
        expect(await store.flows.consumeCode(record.codeHash, T0 + 6)).toEqual({
          code: { ...record, consumedAt: T0 + 5 },
          firstUse: false,
        });
        expect(await store.flows.consumeCode("unknown", T0)).toBeNull();
      });
    });

    test("codes: of many racing redemptions exactly one is the first use, the rest are replays", async () => {
      await using(factory, async ({ store }) => {
        const g = grant();
        await store.tokens.createGrant(g);
        const record = code(g.id);
        await store.flows.createCode(record);
        const uses = await Promise.all(
          Array.from({ length: 16 }, (_, i) => store.flows.consumeCode(record.codeHash, T0 + i)),
        );
        expect(uses.filter((u) => u?.firstUse)).toHaveLength(1);
        expect(uses.filter((u) => u !== null && !u.firstUse)).toHaveLength(15);
        const first = uses.find((u) => u?.firstUse)!;
        expect(uses.every((u) => u?.code.consumedAt === first.code.consumedAt)).toBe(true);
      });
    });

    test("codes: the store leaves expiry to its caller until purge drops the code at its expiry", async () => {
      await using(factory, async ({ store }) => {
        const g = grant();
        await store.tokens.createGrant(g);
        const lapsed = code(g.id, { expiresAt: T0 + 10 });
        const used = code(g.id, { expiresAt: T0 + 20 });
        const live = code(g.id, { expiresAt: T0 + 21 });
        for (const c of [lapsed, used, live]) await store.flows.createCode(c);
        await store.flows.consumeCode(used.codeHash, T0);
        // Past its expiry but not yet purged, a code is still found and marked; the caller checks expiresAt.
        expect((await store.flows.consumeCode(lapsed.codeHash, T0 + 15))?.firstUse).toBe(true);
        await store.flows.purge(T0 + 20);
        expect(await store.flows.consumeCode(lapsed.codeHash, T0 + 20)).toBeNull();
        expect(await store.flows.consumeCode(used.codeHash, T0 + 20)).toBeNull();
        expect(await store.flows.consumeCode(live.codeHash, T0 + 20)).toEqual({
          code: { ...live, consumedAt: T0 + 20 },
          firstUse: true,
        });
      });
    });

    test("flows purge drops authorization requests at their expiry, decided or not, and keeps the rest", async () => {
      await using(factory, async ({ store }) => {
        const lapsed = authorizationRequest({ expiresAt: T0 + 10 });
        const decided = authorizationRequest({ expiresAt: T0 + 10 });
        const live = authorizationRequest({ expiresAt: T0 + 11 });
        for (const r of [lapsed, decided, live]) await store.flows.createAuthorizationRequest(r);
        await store.flows.decide(decided.id, T0);
        await store.flows.purge(T0 + 10);
        expect(await store.flows.findAuthorizationRequest(lapsed.id)).toBeNull();
        expect(await store.flows.findAuthorizationRequest(decided.id)).toBeNull();
        expect(await store.flows.findAuthorizationRequest(live.id)).toEqual(live);
      });
    });

    test("grants: create and read back; revocation reaches every refresh and access token under the grant, once", async () => {
      await using(factory, async ({ store }) => {
        const g = grant({ subjectType: "owner", subjectId: "owner-1", scopes: ["a", "b"] });
        const other = grant();
        await store.tokens.createGrant(g);
        await store.tokens.createGrant(other);
        expect(await store.tokens.findGrant(g.id)).toEqual(g);
        expect(await store.tokens.findGrant(crypto.randomUUID())).toBeNull();

        const active = refresh(g.id);
        const rotated = refresh(g.id);
        const otherRefresh = refresh(other.id);
        for (const r of [active, rotated, otherRefresh]) await store.tokens.createRefreshToken(r);
        await store.tokens.rotateRefreshToken(rotated.tokenHash);
        const live = access(g.id);
        const revokedEarlier = access(g.id);
        const otherAccess = access(other.id);
        const grantless = access(null);
        for (const a of [live, revokedEarlier, otherAccess, grantless])
          await store.tokens.recordAccessToken(a);
        await store.tokens.revokeAccessToken(revokedEarlier.jti, T0 + 1);

        await store.tokens.revokeGrant(g.id, T0 + 5, "revoked_by_client");
        expect(await store.tokens.findGrant(g.id)).toEqual({
          ...g,
          revokedAt: T0 + 5,
          revokedReason: "revoked_by_client",
        });
        expect((await store.tokens.findRefreshToken(active.tokenHash))?.status).toBe("REVOKED");
        expect((await store.tokens.findRefreshToken(rotated.tokenHash))?.status).toBe("REVOKED");
        expect((await store.tokens.findAccessToken(live.jti))?.revokedAt).toBe(T0 + 5);
        expect((await store.tokens.findAccessToken(revokedEarlier.jti))?.revokedAt).toBe(T0 + 1);
        // Nothing outside the grant moves.
        expect(await store.tokens.findGrant(other.id)).toEqual(other);
        expect(await store.tokens.findRefreshToken(otherRefresh.tokenHash)).toEqual(otherRefresh);
        expect(await store.tokens.findAccessToken(otherAccess.jti)).toEqual(otherAccess);
        expect(await store.tokens.findAccessToken(grantless.jti)).toEqual(grantless);

        // A second revocation keeps the first time and reason, and still reaches tokens added since.
        const late = refresh(g.id);
        const lateAccess = access(g.id);
        await store.tokens.createRefreshToken(late);
        await store.tokens.recordAccessToken(lateAccess);
        await store.tokens.revokeGrant(g.id, T0 + 9, "code_replayed");
        expect((await store.tokens.findGrant(g.id))?.revokedAt).toBe(T0 + 5);
        expect((await store.tokens.findGrant(g.id))?.revokedReason).toBe("revoked_by_client");
        expect((await store.tokens.findRefreshToken(late.tokenHash))?.status).toBe("REVOKED");
        expect((await store.tokens.findAccessToken(lateAccess.jti))?.revokedAt).toBe(T0 + 9);
        expect((await store.tokens.findAccessToken(live.jti))?.revokedAt).toBe(T0 + 5);
        await store.tokens.revokeGrant(crypto.randomUUID(), T0, "unknown");
      });
    });

    test("refresh tokens: create and read back; rotated once; a reuse or a revoked token is reported, not rotated", async () => {
      await using(factory, async ({ store }) => {
        const g = grant();
        await store.tokens.createGrant(g);
        const token = refresh(g.id);
        await store.tokens.createRefreshToken(token);
        expect(await store.tokens.findRefreshToken(token.tokenHash)).toEqual(token);
        expect(await store.tokens.findRefreshToken("unknown")).toBeNull();
        expect(await store.tokens.rotateRefreshToken(token.tokenHash)).toEqual({
          token: { ...token, status: "ROTATED" },
          rotated: true,
        });
        expect(await store.tokens.rotateRefreshToken(token.tokenHash)).toEqual({
          token: { ...token, status: "ROTATED" },
          rotated: false,
        });
        expect(await store.tokens.rotateRefreshToken("unknown")).toBeNull();

        const revoked = refresh(g.id);
        await store.tokens.createRefreshToken(revoked);
        await store.tokens.revokeGrant(g.id, T0, "test");
        expect(await store.tokens.rotateRefreshToken(revoked.tokenHash)).toEqual({
          token: { ...revoked, status: "REVOKED" },
          rotated: false,
        });
      });
    });

    test("refresh tokens: of many racing rotations exactly one rotates", async () => {
      await using(factory, async ({ store }) => {
        const g = grant();
        await store.tokens.createGrant(g);
        const token = refresh(g.id);
        await store.tokens.createRefreshToken(token);
        const rotations = await Promise.all(
          Array.from({ length: 16 }, () => store.tokens.rotateRefreshToken(token.tokenHash)),
        );
        expect(rotations.filter((r) => r?.rotated)).toHaveLength(1);
        expect(
          rotations.filter((r) => r !== null && !r.rotated && r.token.status === "ROTATED"),
        ).toHaveLength(15);
      });
    });

    test("access tokens: recorded and read back; revoked once, keeping the first time", async () => {
      await using(factory, async ({ store }) => {
        const g = grant();
        await store.tokens.createGrant(g);
        const token = access(g.id, {
          audience: ["https://a.example/mcp", "https://b.example/mcp"],
          scopes: [],
        });
        const clientCredentials = access(null, { subjectType: "agent", subjectId: "agent-2" });
        await store.tokens.recordAccessToken(token);
        await store.tokens.recordAccessToken(clientCredentials);
        expect(await store.tokens.findAccessToken(token.jti)).toEqual(token);
        expect(await store.tokens.findAccessToken(clientCredentials.jti)).toEqual(clientCredentials);
        expect(await store.tokens.findAccessToken("unknown")).toBeNull();
        await store.tokens.revokeAccessToken(token.jti, T0 + 3);
        await store.tokens.revokeAccessToken(token.jti, T0 + 4);
        await store.tokens.revokeAccessToken("unknown", T0 + 4);
        expect(await store.tokens.findAccessToken(token.jti)).toEqual({ ...token, revokedAt: T0 + 3 });
        expect(await store.tokens.findAccessToken(clientCredentials.jti)).toEqual(clientCredentials);
      });
    });

    test("assertion ids: usable once per client until they expire, then once again", async () => {
      await using(factory, async ({ store }) => {
        expect(await store.tokens.useAssertionId("c", "j", T0 + 1000, T0)).toBe(true);
        expect(await store.tokens.useAssertionId("c", "j", T0 + 1000, T0 + 10)).toBe(false);
        expect(await store.tokens.useAssertionId("c", "j", T0 + 5000, T0 + 999)).toBe(false);
        expect(await store.tokens.useAssertionId("other", "j", T0 + 1000, T0)).toBe(true);
        expect(await store.tokens.useAssertionId("c", "k", T0 + 1000, T0)).toBe(true);
        expect(await store.tokens.useAssertionId("c", "j", T0 + 5000, T0 + 1000)).toBe(true);
        expect(await store.tokens.useAssertionId("c", "j", T0 + 6000, T0 + 4999)).toBe(false);
      });
    });

    test("assertion ids: of many racing uses exactly one succeeds, also when a lapsed record is in the way", async () => {
      await using(factory, async ({ store }) => {
        const fresh = await Promise.all(
          Array.from({ length: 16 }, () => store.tokens.useAssertionId("c", "race", T0 + 1000, T0)),
        );
        expect(fresh.filter(Boolean)).toHaveLength(1);
        const again = await Promise.all(
          Array.from({ length: 16 }, () => store.tokens.useAssertionId("c", "race", T0 + 9000, T0 + 2000)),
        );
        expect(again.filter(Boolean)).toHaveLength(1);
      });
    });

    test("tokens purge drops lapsed access tokens, assertion ids and refresh tokens, then grants left empty for a day", async () => {
      await using(factory, async ({ store }) => {
        const now = T0 + 2 * DAY;
        const old = grant({ createdAt: T0 });
        const recent = grant({ createdAt: now - DAY + 1 });
        const dayOld = grant({ createdAt: now - DAY });
        const withRefresh = grant({ createdAt: T0 });
        const withCode = grant({ createdAt: T0 });
        const withAccess = grant({ createdAt: T0 });
        const lapsedOnly = grant({ createdAt: T0 });
        for (const g of [old, recent, dayOld, withRefresh, withCode, withAccess, lapsedOnly]) {
          await store.tokens.createGrant(g);
        }
        const liveRefresh = refresh(withRefresh.id, { expiresAt: now + 1 });
        const lapsedRefresh = refresh(lapsedOnly.id, { expiresAt: now });
        for (const r of [liveRefresh, lapsedRefresh]) await store.tokens.createRefreshToken(r);
        const liveCode = code(withCode.id, { expiresAt: now + 1 });
        await store.flows.createCode(liveCode);
        const liveAccess = access(withAccess.id, { expiresAt: now + 1 });
        const lapsedAccess = access(lapsedOnly.id, { expiresAt: now });
        const lapsedGrantless = access(null, { expiresAt: now });
        for (const a of [liveAccess, lapsedAccess, lapsedGrantless]) await store.tokens.recordAccessToken(a);
        await store.tokens.useAssertionId("c", "lapsed", now, T0);
        await store.tokens.useAssertionId("c", "live", now + 1, T0);

        await store.tokens.purge(now);
        expect(await store.tokens.findAccessToken(lapsedAccess.jti)).toBeNull();
        expect(await store.tokens.findAccessToken(lapsedGrantless.jti)).toBeNull();
        expect(await store.tokens.findAccessToken(liveAccess.jti)).toEqual(liveAccess);
        expect(await store.tokens.findRefreshToken(lapsedRefresh.tokenHash)).toBeNull();
        expect(await store.tokens.findRefreshToken(liveRefresh.tokenHash)).toEqual(liveRefresh);
        expect(await store.tokens.useAssertionId("c", "lapsed", now + 10, now)).toBe(true);
        expect(await store.tokens.useAssertionId("c", "live", now + 10, now)).toBe(false);

        expect(await store.tokens.findGrant(old.id)).toBeNull();
        expect(await store.tokens.findGrant(dayOld.id)).toBeNull();
        expect(await store.tokens.findGrant(lapsedOnly.id)).toBeNull();
        expect(await store.tokens.findGrant(recent.id)).toEqual(recent);
        expect(await store.tokens.findGrant(withRefresh.id)).toEqual(withRefresh);
        expect(await store.tokens.findGrant(withCode.id)).toEqual(withCode);
        expect(await store.tokens.findGrant(withAccess.id)).toEqual(withAccess);
        expect((await store.flows.consumeCode(liveCode.codeHash, now))?.firstUse).toBe(true);
      });
    });

    test("purge goes on until nothing lapsed is left, however much there is", async () => {
      await using(factory, async ({ store }) => {
        const now = T0 + 2 * DAY;
        const count = 2100;
        const grants = Array.from({ length: count }, () => grant());
        const keep = grant();
        await Promise.all([...grants, keep].map((g) => store.tokens.createGrant(g)));
        await store.tokens.createRefreshToken(refresh(keep.id, { expiresAt: now + 1 }));
        const tokens = grants.map((g) => access(g.id, { expiresAt: now - 1 }));
        await Promise.all(tokens.map((a) => store.tokens.recordAccessToken(a)));
        const codes = grants.map((g) => code(g.id, { expiresAt: now - 1 }));
        await Promise.all(codes.map((c) => store.flows.createCode(c)));

        await store.flows.purge(now);
        await store.tokens.purge(now);
        const left = await Promise.all([
          ...tokens.map((a) => store.tokens.findAccessToken(a.jti)),
          ...grants.map((g) => store.tokens.findGrant(g.id)),
          ...codes.map((c) => store.flows.consumeCode(c.codeHash, now)),
        ]);
        expect(left.filter((x) => x !== null)).toHaveLength(0);
        expect(await store.tokens.findGrant(keep.id)).toEqual(keep);
      });
    }, 60_000);
  });
}
