/**
 * Store conformance suites. Each takes a factory for a fresh backend, so the
 * same behaviour (above all the atomic single-use steps) is pinned for every
 * implementation: SQLite today, Redis for the short-lived stores later.
 */

import { describe, expect, test } from "bun:test";
import { type AgentRecord, type AgentStore, EMPTY_HISTORY } from "../../../server/core/agents/store.ts";
import type { KeyStore, StoredSigningKey } from "../../../server/core/keys/store.ts";
import type { AuditStore } from "../../../server/foundation/audit/store.ts";
import type { KycStore } from "../../../server/foundation/kyc/store.ts";
import type { SessionStore } from "../../../server/foundation/sessions/store.ts";
import type { SiteRecord, SiteStore } from "../../../server/foundation/sites/store.ts";
import type {
  PasswordResetRecord,
  PasswordResetStore,
} from "../../../server/foundation/users/password-reset-store.ts";
import type { EmailCodeStore, UserRecord, UserStore } from "../../../server/foundation/users/store.ts";
import type { RateLimitStore } from "../../../server/http/rate-limit-store.ts";
import type { AgentKeyRecord, AgentKeyStore } from "../../../server/modules/agent-keys/store.ts";
import type {
  AgentLoginStore,
  LoginRequestRecord,
  OutcomeEvent,
  OutcomeFanout,
} from "../../../server/modules/agent-login/store.ts";
import type { BindingRecord, BindingStore } from "../../../server/modules/bindings/store.ts";

export interface Fixture<S> {
  store: S;
  /** Creates whatever parent rows the backend needs (an owner, a site) and returns the id. */
  addOwner(): Promise<string>;
  addSite(ownerId?: string): Promise<string>;
  close(): Promise<void>;
}

export type Factory<S> = () => Promise<Fixture<S>>;

const T0 = 1_800_000_000_000;

async function using<S>(factory: Factory<S>, body: (fixture: Fixture<S>) => Promise<void>): Promise<void> {
  const fixture = await factory();
  try {
    await body(fixture);
  } finally {
    await fixture.close();
  }
}

export function user(overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: crypto.randomUUID(),
    email: `${crypto.randomUUID()}@example.test`,
    passwordHash: "$argon2id$stub",
    emailVerifiedAt: null,
    kycLevel: 0,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function site(ownerId: string, overrides: Partial<SiteRecord> = {}): SiteRecord {
  return {
    id: crypto.randomUUID(),
    ownerId,
    displayName: "Shop",
    origin: null,
    tokenHash: crypto.randomUUID(),
    powDifficulty: 15,
    powDifficultyMax: null,
    powSurgePerMinute: null,
    status: "ACTIVE",
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function loginRequest(
  siteId: string,
  overrides: Partial<LoginRequestRecord> = {},
): LoginRequestRecord {
  return {
    id: crypto.randomUUID(),
    siteId,
    status: "PENDING",
    powChallenge: "ab".repeat(32),
    powDifficulty: 15,
    redirectUrl: null,
    createdAt: T0,
    expiresAt: T0 + 300_000,
    approvedAgentId: null,
    approvedAt: null,
    passportJwt: null,
    passportExpiresAt: null,
    deliveredAt: null,
    challengeShownAt: null,
    ...overrides,
  };
}

function approval(id: string, now = T0 + 1000) {
  return { id, agentId: crypto.randomUUID(), passportJwt: `jwt-${id}`, passportExpiresAt: now + 60_000, now };
}

export function agentLoginStoreConformance(name: string, factory: Factory<AgentLoginStore>): void {
  describe(`AgentLoginStore conformance: ${name}`, () => {
    test("create and read back", async () => {
      await using(factory, async ({ store, addSite }) => {
        const request = loginRequest(await addSite(), { redirectUrl: "https://shop.example/x" });
        await store.create(request);
        expect(await store.findById(request.id)).toEqual(request);
        expect(await store.findById(crypto.randomUUID())).toBeNull();
      });
    });

    test("showChallenge: the first fetch raises (never lowers) and fixes the difficulty, once", async () => {
      await using(factory, async ({ store, addSite }) => {
        const siteId = await addSite();
        const raised = loginRequest(siteId, { powDifficulty: 15 });
        await store.create(raised);
        const shown = await store.showChallenge(raised.id, 17, T0 + 10);
        expect(shown).toEqual({ ...raised, powDifficulty: 17, challengeShownAt: T0 + 10 });
        expect(await store.showChallenge(raised.id, 19, T0 + 20)).toBeNull();
        expect(await store.findById(raised.id)).toEqual(shown);

        const kept = loginRequest(siteId, { powDifficulty: 18 });
        await store.create(kept);
        expect((await store.showChallenge(kept.id, 16, T0 + 10))?.powDifficulty).toBe(18);

        const approved = loginRequest(siteId);
        await store.create(approved);
        await store.approve(approval(approved.id));
        expect(await store.showChallenge(approved.id, 20, T0 + 2000)).toBeNull();
        expect(await store.showChallenge(crypto.randomUUID(), 20, T0)).toBeNull();

        const stored = loginRequest(siteId, { challengeShownAt: T0 + 5 });
        await store.create(stored);
        expect(await store.findById(stored.id)).toEqual(stored);
      });
    });

    test("showChallenge: of racing first fetches exactly one sets the difficulty", async () => {
      await using(factory, async ({ store, addSite }) => {
        const request = loginRequest(await addSite(), { powDifficulty: 15 });
        await store.create(request);
        const results = await Promise.all(
          [16, 17, 18, 19].map((d) => store.showChallenge(request.id, d, T0 + d)),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await store.findById(request.id)).toEqual(winners[0]!);
      });
    });

    test("approve is single-use: PENDING → APPROVED once, with its outcome; a second approval gets null", async () => {
      await using(factory, async ({ store, addSite }) => {
        const siteId = await addSite();
        const request = loginRequest(siteId);
        await store.create(request);
        const first = await store.approve(approval(request.id));
        expect(first?.request.status).toBe("APPROVED");
        expect(first?.request.passportJwt).toBe(`jwt-${request.id}`);
        expect(first?.event).toMatchObject({
          siteId,
          loginRequestId: request.id,
          type: "approved",
          passportJwt: `jwt-${request.id}`,
          deliveredAt: null,
        });
        expect(await store.approve(approval(request.id))).toBeNull();
        expect((await store.findById(request.id))?.approvedAgentId).toBe(first!.request.approvedAgentId);
      });
    });

    test("of many concurrent approvals exactly one wins", async () => {
      await using(factory, async ({ store, addSite }) => {
        const request = loginRequest(await addSite());
        await store.create(request);
        const results = await Promise.all(
          Array.from({ length: 25 }, () => store.approve(approval(request.id))),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(1);
        expect(await store.undeliveredEvents(request.siteId, T0)).toHaveLength(1);
      });
    });

    test("recent requests: per site newest first and bounded; per agent only what it approved", async () => {
      await using(factory, async ({ store, addSite }) => {
        const siteId = await addSite();
        const otherSite = await addSite();
        const requests = [0, 1, 2, 3].map((i) => loginRequest(siteId, { createdAt: T0 + i * 1000 }));
        for (const request of requests) await store.create(request);
        await store.create(loginRequest(otherSite));
        const recent = await store.recentForSite(siteId, 3);
        expect(recent.map((r) => r.id)).toEqual([requests[3]!.id, requests[2]!.id, requests[1]!.id]);

        const agentId = crypto.randomUUID();
        await store.approve({ ...approval(requests[0]!.id, T0 + 5000), agentId });
        await store.approve({ ...approval(requests[2]!.id, T0 + 6000), agentId });
        const approved = await store.recentForAgent(agentId, 10);
        expect(approved.map((r) => r.id)).toEqual([requests[2]!.id, requests[0]!.id]);
        expect(approved.every((r) => r.approvedAgentId === agentId)).toBe(true);
        expect(await store.recentForAgent(crypto.randomUUID(), 10)).toEqual([]);
      });
    });

    test("an overdue or unknown request cannot be approved", async () => {
      await using(factory, async ({ store, addSite }) => {
        const request = loginRequest(await addSite());
        await store.create(request);
        expect(await store.approve(approval(request.id, request.expiresAt))).toBeNull();
        expect(await store.approve(approval(crypto.randomUUID()))).toBeNull();
        expect((await store.findById(request.id))?.status).toBe("PENDING");
      });
    });

    test("expireDue moves only overdue PENDING requests, once, each with an expired outcome", async () => {
      await using(factory, async ({ store, addSite }) => {
        const siteId = await addSite();
        const overdue = loginRequest(siteId, { expiresAt: T0 + 10 });
        const fresh = loginRequest(siteId, { expiresAt: T0 + 1_000_000 });
        const approved = loginRequest(siteId, { expiresAt: T0 + 2000 });
        for (const r of [overdue, fresh, approved]) await store.create(r);
        await store.approve(approval(approved.id));
        const events = await store.expireDue(T0 + 5000, T0 + 100_000);
        expect(events.map((e: OutcomeEvent) => [e.loginRequestId, e.type])).toEqual([
          [overdue.id, "expired"],
        ]);
        expect(await store.expireDue(T0 + 5000, T0 + 100_000)).toEqual([]);
        expect((await store.findById(overdue.id))?.status).toBe("EXPIRED");
        expect((await store.findById(fresh.id))?.status).toBe("PENDING");
        expect((await store.findById(approved.id))?.status).toBe("APPROVED");
      });
    });

    test("delivery: markDelivered moves APPROVED → DELIVERED; undelivered and after-id queries see the right events", async () => {
      await using(factory, async ({ store, addSite }) => {
        const siteA = await addSite();
        const siteB = await addSite();
        const a1 = loginRequest(siteA);
        const a2 = loginRequest(siteA);
        const b1 = loginRequest(siteB);
        for (const r of [a1, a2, b1]) await store.create(r);
        const e1 = (await store.approve(approval(a1.id)))!.event;
        const e2 = (await store.approve(approval(a2.id)))!.event;
        await store.approve(approval(b1.id));
        expect(e2.id).toBeGreaterThan(e1.id);

        expect((await store.undeliveredEvents(siteA, T0)).map((e) => e.id)).toEqual([e1.id, e2.id]);
        await store.markDelivered(e1.id, T0 + 2000);
        await store.markDelivered(e1.id, T0 + 3000);
        expect((await store.findById(a1.id))?.status).toBe("DELIVERED");
        expect((await store.findById(a1.id))?.deliveredAt).toBe(T0 + 2000);
        expect((await store.undeliveredEvents(siteA, T0)).map((e) => e.id)).toEqual([e2.id]);
        expect((await store.eventsAfter(siteA, 0, T0)).map((e) => e.id)).toEqual([e1.id, e2.id]);
        expect((await store.eventsAfter(siteA, e1.id, T0)).map((e) => e.id)).toEqual([e2.id]);
        expect((await store.eventsAfter(siteA, 0, e1.expiresAt)).map((e) => e.id)).toEqual([]);
      });
    });

    test("purge drops lapsed passports and events, keeping live ones", async () => {
      await using(factory, async ({ store, addSite }) => {
        const siteId = await addSite();
        const request = loginRequest(siteId);
        await store.create(request);
        const { event } = (await store.approve(approval(request.id)))!;
        await store.purge(event.expiresAt - 1, 0);
        expect((await store.findById(request.id))?.passportJwt).toBe(`jwt-${request.id}`);
        await store.purge(event.expiresAt, 0);
        expect((await store.findById(request.id))?.passportJwt).toBeNull();
        expect(await store.eventsAfter(siteId, 0, 0)).toEqual([]);
      });
    });
  });
}

function key(kid: string, status: StoredSigningKey["status"]): StoredSigningKey {
  return {
    kid,
    status,
    publicJwk: JSON.stringify({ kty: "RSA", kid }),
    sealedPrivateJwk: new Uint8Array([1, 2, 3]),
    iv: new Uint8Array(12),
    createdAt: T0,
    activatedAt: status === "CURRENT" ? T0 : null,
    retiredAt: null,
    removeAfter: null,
  };
}

export function keyStoreConformance(name: string, factory: Factory<KeyStore>): void {
  describe(`KeyStore conformance: ${name}`, () => {
    test("bootstrap writes the first CURRENT and NEXT keys once", async () => {
      await using(factory, async ({ store }) => {
        expect(await store.bootstrap(key("a", "CURRENT"), key("b", "NEXT"))).toBe(true);
        expect(await store.bootstrap(key("c", "CURRENT"), key("d", "NEXT"))).toBe(false);
        expect((await store.list()).map((k) => [k.kid, k.status])).toEqual([
          ["a", "CURRENT"],
          ["b", "NEXT"],
        ]);
      });
    });

    test("rotate is compare-and-swap on the current kid: one rotation per observed state", async () => {
      await using(factory, async ({ store }) => {
        await store.bootstrap(key("a", "CURRENT"), key("b", "NEXT"));
        const results = await Promise.all([
          store.rotate({
            expectedCurrentKid: "a",
            retireUntil: T0 + 100,
            next: key("c", "NEXT"),
            now: T0 + 1,
          }),
          store.rotate({
            expectedCurrentKid: "a",
            retireUntil: T0 + 100,
            next: key("d", "NEXT"),
            now: T0 + 1,
          }),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const byKid = Object.fromEntries((await store.list()).map((k) => [k.kid, k]));
        expect(byKid.a?.status).toBe("RETIRED");
        expect(byKid.a?.removeAfter).toBe(T0 + 100);
        expect(byKid.b?.status).toBe("CURRENT");
        expect(byKid.b?.activatedAt).toBe(T0 + 1);
        expect(Object.values(byKid).filter((k) => k.status === "NEXT")).toHaveLength(1);
        expect(await store.deleteRemovable(T0 + 99)).toBe(0);
        expect(await store.deleteRemovable(T0 + 100)).toBe(1);
        expect((await store.list()).map((k) => k.kid)).not.toContain("a");
      });
    });

    test("sealed bytes and IV come back unchanged", async () => {
      await using(factory, async ({ store }) => {
        const current = {
          ...key("a", "CURRENT"),
          sealedPrivateJwk: new Uint8Array([0, 255, 7]),
          iv: new Uint8Array(12).fill(3),
        };
        await store.bootstrap(current, key("b", "NEXT"));
        const [stored] = await store.list();
        expect(stored!.sealedPrivateJwk).toEqual(current.sealedPrivateJwk);
        expect(stored!.iv).toEqual(current.iv);
      });
    });

    test("reseal is compare-and-swap on the sealed bytes: once per observed ciphertext, unknown kid false", async () => {
      await using(factory, async ({ store }) => {
        await store.bootstrap(key("a", "CURRENT"), key("b", "NEXT"));
        const stale = new Uint8Array([1, 2, 3]);
        const first = { sealedPrivateJwk: new Uint8Array([9, 8, 7, 6]), iv: new Uint8Array(12).fill(5) };
        expect(await store.reseal({ kid: "a", expectedCiphertext: stale, ...first })).toBe(true);
        const second = { sealedPrivateJwk: new Uint8Array([4, 4]), iv: new Uint8Array(12).fill(6) };
        expect(await store.reseal({ kid: "a", expectedCiphertext: stale, ...second })).toBe(false);
        expect(await store.reseal({ kid: "zz", expectedCiphertext: stale, ...second })).toBe(false);
        const byKid = Object.fromEntries((await store.list()).map((k) => [k.kid, k]));
        expect(byKid.a?.sealedPrivateJwk).toEqual(first.sealedPrivateJwk);
        expect(byKid.a?.iv).toEqual(first.iv);
        expect(byKid.a?.status).toBe("CURRENT");
        expect(byKid.b?.sealedPrivateJwk).toEqual(stale);
        expect(byKid.b?.iv).toEqual(new Uint8Array(12));
        expect(Object.keys(byKid).sort()).toEqual(["a", "b"]);
        // A prefix of the stored bytes is not a match.
        expect(
          await store.reseal({ kid: "a", expectedCiphertext: new Uint8Array([9, 8, 7]), ...second }),
        ).toBe(false);
        expect(await store.reseal({ kid: "a", expectedCiphertext: first.sealedPrivateJwk, ...second })).toBe(
          true,
        );
        expect((await store.list()).find((k) => k.kid === "a")?.sealedPrivateJwk).toEqual(
          second.sealedPrivateJwk,
        );
      });
    });

    test("concurrent reseals of one row with the same expected bytes: exactly one wins", async () => {
      await using(factory, async ({ store }) => {
        await store.bootstrap(key("a", "CURRENT"), key("b", "NEXT"));
        const attempts = [1, 2, 3, 4].map((n) =>
          store.reseal({
            kid: "b",
            expectedCiphertext: new Uint8Array([1, 2, 3]),
            sealedPrivateJwk: new Uint8Array([n, n, n]),
            iv: new Uint8Array(12).fill(n),
          }),
        );
        const results = await Promise.all(attempts);
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true) + 1;
        const stored = (await store.list()).find((k) => k.kid === "b")!;
        expect(stored.sealedPrivateJwk).toEqual(new Uint8Array([winner, winner, winner]));
        expect(stored.iv).toEqual(new Uint8Array(12).fill(winner));
      });
    });
  });
}

export function userStoreConformance(
  name: string,
  factory: Factory<{ users: UserStore; codes: EmailCodeStore }>,
): void {
  describe(`UserStore + EmailCodeStore conformance: ${name}`, () => {
    test("emails are unique; verification raises the KYC level to at least 1; the level can be set", async () => {
      await using(factory, async ({ store }) => {
        const alice = user({ email: "alice@example.test" });
        expect(await store.users.create(alice)).toBe(true);
        expect(await store.users.create(user({ email: "alice@example.test" }))).toBe(false);
        expect(await store.users.findByEmail("alice@example.test")).toEqual(alice);
        expect((await store.users.markEmailVerified(alice.id, T0 + 1))?.kycLevel).toBe(1);
        expect((await store.users.setKycLevel(alice.id, 2, T0 + 2))?.kycLevel).toBe(2);
        expect((await store.users.markEmailVerified(alice.id, T0 + 3))?.kycLevel).toBe(2);
        expect(await store.users.setKycLevel(crypto.randomUUID(), 2, T0)).toBeNull();
      });
    });

    test("codes: a match consumes; misses spend attempts down to exhausted; lapsed codes are expired", async () => {
      await using(factory, async ({ store }) => {
        const u = user();
        await store.users.create(u);
        expect(await store.codes.attempt(u.id, "h", T0)).toBe("absent");
        await store.codes.put({ userId: u.id, codeHash: "right", expiresAt: T0 + 1000, attemptsLeft: 2 });
        expect(await store.codes.attempt(u.id, "wrong", T0)).toBe("invalid");
        expect(await store.codes.attempt(u.id, "right", T0)).toBe("verified");
        expect(await store.codes.attempt(u.id, "right", T0)).toBe("absent");

        await store.codes.put({ userId: u.id, codeHash: "right", expiresAt: T0 + 1000, attemptsLeft: 2 });
        expect(await store.codes.attempt(u.id, "wrong", T0)).toBe("invalid");
        expect(await store.codes.attempt(u.id, "wrong", T0)).toBe("exhausted");
        expect(await store.codes.attempt(u.id, "right", T0)).toBe("exhausted");

        await store.codes.put({ userId: u.id, codeHash: "right", expiresAt: T0 + 1000, attemptsLeft: 5 });
        expect(await store.codes.attempt(u.id, "right", T0 + 1000)).toBe("expired");
      });
    });

    test("concurrent guesses cannot spend more attempts than there are", async () => {
      await using(factory, async ({ store }) => {
        const u = user();
        await store.users.create(u);
        await store.codes.put({ userId: u.id, codeHash: "right", expiresAt: T0 + 1000, attemptsLeft: 3 });
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, () => store.codes.attempt(u.id, "wrong", T0)),
        );
        expect(outcomes.filter((o) => o === "invalid")).toHaveLength(2);
        expect(outcomes.filter((o) => o === "exhausted")).toHaveLength(8);
      });
    });
  });
}

function passwordReset(userId: string, overrides: Partial<PasswordResetRecord> = {}): PasswordResetRecord {
  return {
    id: crypto.randomUUID(),
    userId,
    tokenHash: crypto.randomUUID().replaceAll("-", "").repeat(2),
    createdAt: T0,
    expiresAt: T0 + 1_800_000,
    usedAt: null,
    ...overrides,
  };
}

function session(userId: string) {
  const id = crypto.randomUUID();
  return { id, userId, tokenHash: `t-${id}`, csrfHash: `c-${id}`, createdAt: T0, expiresAt: T0 + 3_600_000 };
}

export function passwordResetStoreConformance(
  name: string,
  factory: Factory<{
    resets: PasswordResetStore;
    users: UserStore;
    codes: EmailCodeStore;
    sessions: SessionStore;
  }>,
): void {
  describe(`PasswordResetStore conformance: ${name}`, () => {
    test("redeem is single use and applies everything at once: password, verified email, KYC ≥ 1, no sessions left", async () => {
      await using(factory, async ({ store }) => {
        const owner = user();
        const bystander = user();
        await store.users.create(owner);
        await store.users.create(bystander);
        const ownSessions = [session(owner.id), session(owner.id)];
        const otherSession = session(bystander.id);
        for (const s of [...ownSessions, otherSession]) await store.sessions.create(s);
        await store.codes.put({
          userId: owner.id,
          codeHash: "pending",
          expiresAt: T0 + 1000,
          attemptsLeft: 5,
        });
        const reset = passwordReset(owner.id);
        await store.resets.issue(reset);
        expect(await store.resets.findByTokenHash(reset.tokenHash)).toEqual(reset);

        const redeemed = await store.resets.redeem({
          tokenHash: reset.tokenHash,
          passwordHash: "$argon2id$new",
          now: T0 + 10,
        });
        expect(redeemed?.reset).toEqual({ ...reset, usedAt: T0 + 10 });
        expect(redeemed?.closedSessions).toBe(2);
        expect(redeemed?.user).toMatchObject({
          id: owner.id,
          passwordHash: "$argon2id$new",
          emailVerifiedAt: T0 + 10,
          kycLevel: 1,
          updatedAt: T0 + 10,
        });
        expect(await store.users.findById(owner.id)).toEqual(redeemed!.user);
        for (const s of ownSessions) expect(await store.sessions.findByTokenHash(s.tokenHash)).toBeNull();
        expect(await store.sessions.findByTokenHash(otherSession.tokenHash)).toEqual(otherSession);
        expect(await store.codes.attempt(owner.id, "pending", T0 + 20)).toBe("absent");

        expect(
          await store.resets.redeem({
            tokenHash: reset.tokenHash,
            passwordHash: "$argon2id$again",
            now: T0 + 20,
          }),
        ).toBeNull();
        expect((await store.users.findById(owner.id))?.passwordHash).toBe("$argon2id$new");
        expect((await store.resets.findByTokenHash(reset.tokenHash))?.usedAt).toBe(T0 + 10);
      });
    });

    test("an already verified owner keeps the verification time and a higher KYC level", async () => {
      await using(factory, async ({ store }) => {
        const owner = user({ emailVerifiedAt: T0 - 5, kycLevel: 2 });
        await store.users.create(owner);
        const reset = passwordReset(owner.id);
        await store.resets.issue(reset);
        const redeemed = await store.resets.redeem({
          tokenHash: reset.tokenHash,
          passwordHash: "h",
          now: T0,
        });
        expect(redeemed?.user).toMatchObject({ emailVerifiedAt: T0 - 5, kycLevel: 2, passwordHash: "h" });
      });
    });

    test("an expired or unknown token changes nothing", async () => {
      await using(factory, async ({ store }) => {
        const owner = user();
        await store.users.create(owner);
        const live = session(owner.id);
        await store.sessions.create(live);
        const reset = passwordReset(owner.id, { expiresAt: T0 + 100 });
        await store.resets.issue(reset);
        expect(
          await store.resets.redeem({ tokenHash: reset.tokenHash, passwordHash: "h", now: T0 + 100 }),
        ).toBeNull();
        expect(await store.resets.redeem({ tokenHash: "unknown", passwordHash: "h", now: T0 })).toBeNull();
        expect(await store.users.findById(owner.id)).toEqual(owner);
        expect(await store.sessions.findByTokenHash(live.tokenHash)).toEqual(live);
        expect((await store.resets.findByTokenHash(reset.tokenHash))?.usedAt).toBeNull();
      });
    });

    test("issuing a token voids the owner's earlier open one, and only that owner's", async () => {
      await using(factory, async ({ store }) => {
        const owner = user();
        const other = user();
        await store.users.create(owner);
        await store.users.create(other);
        const older = passwordReset(owner.id);
        const othersToken = passwordReset(other.id);
        await store.resets.issue(older);
        await store.resets.issue(othersToken);
        const newer = passwordReset(owner.id, { createdAt: T0 + 1 });
        await store.resets.issue(newer);
        expect(await store.resets.findByTokenHash(older.tokenHash)).toBeNull();
        expect(
          await store.resets.redeem({ tokenHash: older.tokenHash, passwordHash: "h", now: T0 + 2 }),
        ).toBeNull();
        expect(
          await store.resets.redeem({ tokenHash: newer.tokenHash, passwordHash: "h", now: T0 + 2 }),
        ).not.toBeNull();
        expect(await store.resets.findByTokenHash(othersToken.tokenHash)).toEqual(othersToken);
        // A used token stays (until it expires) and does not block the next one.
        const next = passwordReset(owner.id, { createdAt: T0 + 3 });
        await store.resets.issue(next);
        expect((await store.resets.findByTokenHash(newer.tokenHash))?.usedAt).toBe(T0 + 2);
        expect(await store.resets.findByTokenHash(next.tokenHash)).toEqual(next);
      });
    });

    test("of many concurrent redemptions of one token exactly one wins", async () => {
      await using(factory, async ({ store }) => {
        const owner = user();
        await store.users.create(owner);
        const reset = passwordReset(owner.id);
        await store.resets.issue(reset);
        const results = await Promise.all(
          Array.from({ length: 25 }, (_, i) =>
            store.resets.redeem({ tokenHash: reset.tokenHash, passwordHash: `h${i}`, now: T0 + 1 }),
          ),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect((await store.users.findById(owner.id))?.passwordHash).toBe(winners[0]!.user.passwordHash);
      });
    });

    test("deleteExpired removes lapsed tokens, used or not, at most `limit` per call", async () => {
      await using(factory, async ({ store }) => {
        const owners = Array.from({ length: 4 }, () => user());
        for (const o of owners) await store.users.create(o);
        const lapsed = owners.slice(0, 3).map((o, i) => passwordReset(o.id, { expiresAt: T0 + i }));
        const live = passwordReset(owners[3]!.id, { expiresAt: T0 + 1000 });
        for (const r of [...lapsed, live]) await store.resets.issue(r);
        await store.resets.redeem({ tokenHash: lapsed[0]!.tokenHash, passwordHash: "h", now: T0 - 1 });
        expect(await store.resets.deleteExpired(T0 + 500, 2)).toBe(2);
        expect(await store.resets.deleteExpired(T0 + 500, 2)).toBe(1);
        expect(await store.resets.deleteExpired(T0 + 500, 2)).toBe(0);
        for (const r of lapsed) expect(await store.resets.findByTokenHash(r.tokenHash)).toBeNull();
        expect(await store.resets.findByTokenHash(live.tokenHash)).toEqual(live);
      });
    });
  });
}

export function sessionStoreConformance(name: string, factory: Factory<SessionStore>): void {
  describe(`SessionStore conformance: ${name}`, () => {
    test("sessions are found by token hash, deleted, and swept when expired", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const userId = await addOwner();
        const live = {
          id: "s1",
          userId,
          tokenHash: "h1",
          csrfHash: "c1",
          createdAt: T0,
          expiresAt: T0 + 100,
        };
        const old = { id: "s2", userId, tokenHash: "h2", csrfHash: "c2", createdAt: T0, expiresAt: T0 + 10 };
        await store.create(live);
        await store.create(old);
        expect(await store.findByTokenHash("h1")).toEqual(live);
        expect(await store.deleteExpired(T0 + 50)).toBe(1);
        expect(await store.findByTokenHash("h2")).toBeNull();
        await store.delete("s1");
        expect(await store.findByTokenHash("h1")).toBeNull();
      });
    });
  });
}

export function siteStoreConformance(name: string, factory: Factory<SiteStore>): void {
  describe(`SiteStore conformance: ${name}`, () => {
    test("owner-scoped: another owner can neither rotate, suspend, update nor delete", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const owner = await addOwner();
        const stranger = await addOwner();
        const s = site(owner);
        await store.create(s);
        expect(await store.findByTokenHash(s.tokenHash)).toEqual(s);
        expect(await store.rotateToken(s.id, stranger, "new", T0)).toBeNull();
        expect(await store.setStatus(s.id, stranger, "SUSPENDED", T0)).toBeNull();
        expect(await store.update(s.id, stranger, { powDifficulty: 1 }, T0)).toBeNull();
        expect(await store.delete(s.id, stranger)).toBe(false);
        expect(await store.findById(s.id)).toEqual(s);
      });
    });

    test("rotation replaces the hash; update changes only the given fields; origin can be cleared", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const owner = await addOwner();
        const s = site(owner, { origin: "https://a.example" });
        await store.create(s);
        await store.rotateToken(s.id, owner, "new-hash", T0 + 1);
        expect(await store.findByTokenHash(s.tokenHash)).toBeNull();
        expect((await store.findByTokenHash("new-hash"))?.id).toBe(s.id);
        const updated = await store.update(s.id, owner, { powDifficulty: 20 }, T0 + 2);
        expect(updated).toMatchObject({
          powDifficulty: 20,
          origin: "https://a.example",
          displayName: "Shop",
        });
        expect((await store.update(s.id, owner, { origin: null }, T0 + 3))?.origin).toBeNull();
        expect((await store.listByOwner(owner)).map((x) => x.id)).toEqual([s.id]);
        expect(await store.delete(s.id, owner)).toBe(true);
        expect(await store.findById(s.id)).toBeNull();
      });
    });

    // The adaptive difficulty's policy columns (docs/adaptive-difficulty.md).
    test("ceiling and surge rate are stored, changed alone, and set back to null (the default)", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const owner = await addOwner();
        const s = site(owner, { powDifficulty: 12, powDifficultyMax: 20, powSurgePerMinute: 600 });
        await store.create(s);
        expect(await store.findById(s.id)).toEqual(s);
        expect(await store.update(s.id, owner, { displayName: "Renamed" }, T0 + 1)).toMatchObject({
          powDifficulty: 12,
          powDifficultyMax: 20,
          powSurgePerMinute: 600,
        });
        expect(await store.update(s.id, owner, { powDifficultyMax: 14 }, T0 + 2)).toMatchObject({
          powDifficulty: 12,
          powDifficultyMax: 14,
          powSurgePerMinute: 600,
        });
        expect(await store.update(s.id, owner, { powSurgePerMinute: null }, T0 + 3)).toMatchObject({
          powDifficultyMax: 14,
          powSurgePerMinute: null,
        });
        expect(
          await store.update(s.id, owner, { powDifficultyMax: null, powSurgePerMinute: 45 }, T0 + 4),
        ).toMatchObject({
          powDifficultyMax: null,
          powSurgePerMinute: 45,
        });
        const defaults = site(owner);
        await store.create(defaults);
        expect(await store.findByTokenHash(defaults.tokenHash)).toMatchObject({
          powDifficultyMax: null,
          powSurgePerMinute: null,
        });
      });
    });
  });
}

export function agent(ownerId: string, overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id: crypto.randomUUID(),
    ownerId,
    displayName: "bot",
    description: null,
    avatarUrl: null,
    tokenHash: crypto.randomUUID(),
    status: "ACTIVE",
    reputation: 0,
    history: EMPTY_HISTORY,
    createdAt: T0,
    updatedAt: T0,
    revokedAt: null,
    ...overrides,
  };
}

export function agentStoreConformance(name: string, factory: Factory<AgentStore>): void {
  describe(`AgentStore conformance: ${name}`, () => {
    test("revocation is one-way and owner-scoped; a revoked agent cannot be rotated", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const owner = await addOwner();
        const stranger = await addOwner();
        const record = agent(owner, { tokenHash: "h" });
        await store.create(record);
        expect(await store.revoke(record.id, stranger, T0)).toBeNull();
        expect((await store.rotateToken(record.id, owner, "h2", T0))?.tokenHash).toBe("h2");
        expect((await store.revoke(record.id, owner, T0 + 5))?.status).toBe("REVOKED");
        expect(await store.revoke(record.id, owner, T0 + 6)).toBeNull();
        expect(await store.rotateToken(record.id, owner, "h3", T0)).toBeNull();
        expect((await store.findByTokenHash("h2"))?.revokedAt).toBe(T0 + 5);
      });
    });
  });
}

export function kycStoreConformance(name: string, factory: Factory<KycStore>): void {
  describe(`KycStore conformance: ${name}`, () => {
    test("one pending submission per owner; a decision closes it and allows the next", async () => {
      await using(factory, async ({ store, addOwner }) => {
        const userId = await addOwner();
        const submission = (id: string) => ({
          id,
          userId,
          requestedLevel: 2 as const,
          status: "PENDING" as const,
          createdAt: T0,
          decidedAt: null,
          decidedBy: null,
        });
        expect(await store.create(submission("k1"))).toBe(true);
        expect(await store.create(submission("k2"))).toBe(false);
        expect(await store.decidePending(userId, "REJECTED", T0 + 1, "admin")).toBe(1);
        expect(await store.create(submission("k3"))).toBe(true);
        expect((await store.listPending(10)).map((s) => s.id)).toEqual(["k3"]);
        expect((await store.listByUser(userId)).map((s) => s.status).sort()).toEqual(["PENDING", "REJECTED"]);
      });
    });
  });
}

export function auditStoreConformance(name: string, factory: Factory<AuditStore>): void {
  describe(`AuditStore conformance: ${name}`, () => {
    test("per-owner pages, newest first, with a cursor; system events listed under null", async () => {
      await using(factory, async ({ store }) => {
        const base = {
          actorType: "owner" as const,
          actorId: null,
          outcome: "success" as const,
          targetType: null,
          targetId: null,
          reason: null,
          ip: null,
        };
        for (let i = 0; i < 5; i++) {
          await store.append({
            ...base,
            id: `a${i}`,
            occurredAt: T0 + i,
            ownerId: "owner-a",
            action: `act.${i}`,
          });
        }
        await store.append({ ...base, id: "b0", occurredAt: T0, ownerId: "owner-b", action: "other" });
        await store.append({ ...base, id: "s0", occurredAt: T0, ownerId: null, action: "keys.rotated" });
        const first = await store.listByOwner("owner-a", 2, null);
        expect(first.events.map((e) => e.id)).toEqual(["a4", "a3"]);
        const second = await store.listByOwner("owner-a", 2, first.nextCursor);
        expect(second.events.map((e) => e.id)).toEqual(["a2", "a1"]);
        const last = await store.listByOwner("owner-a", 2, second.nextCursor);
        expect(last.events.map((e) => e.id)).toEqual(["a0"]);
        expect(last.nextCursor).toBeNull();
        expect((await store.listByOwner(null, 10, null)).events.map((e) => e.id)).toEqual(["s0"]);
      });
    });
  });
}

export function rateLimitStoreConformance(
  name: string,
  factory: () => RateLimitStore | Promise<RateLimitStore>,
): void {
  describe(`RateLimitStore conformance: ${name}`, () => {
    test("counts per key within a window and starts again in the next", async () => {
      const store = await factory();
      const window = 60_000;
      const start = T0 - (T0 % window);
      expect(await store.hit("k", window, start + 1)).toEqual({ count: 1, resetAt: start + window });
      expect((await store.hit("k", window, start + 2)).count).toBe(2);
      expect((await store.hit("other", window, start + 2)).count).toBe(1);
      expect((await store.hit("k", window, start + window)).count).toBe(1);
      const burst = await Promise.all(Array.from({ length: 10 }, () => store.hit("burst", window, start)));
      expect(burst.map((r) => r.count).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });
  });
}

/**
 * The fan-out may deliver asynchronously (a shared backend does), so the
 * suite waits for a barrier: an event on a site of its own, published after
 * the ones under test and awaited by a subscriber. Delivery of one
 * publisher's events is in order, so the barrier's arrival means the
 * earlier events have been delivered or dropped.
 */
export function outcomeFanoutConformance(
  name: string,
  factory: () => OutcomeFanout | Promise<OutcomeFanout>,
): void {
  describe(`OutcomeFanout conformance: ${name}`, () => {
    const event = (id: number, siteId: string) =>
      ({
        id,
        siteId,
        loginRequestId: "r",
        type: "expired",
        createdAt: T0,
        expiresAt: T0,
        deliveredAt: null,
        passportJwt: null,
        redirectUrl: null,
      }) as OutcomeEvent;
    let barriers = 1_000_000;
    const settle = (fanout: OutcomeFanout) =>
      new Promise<void>((resolve) => {
        const id = ++barriers;
        const stop = fanout.subscribe("barrier", (e) => {
          if (e.id !== id) return;
          stop();
          resolve();
        });
        fanout.publish(event(id, "barrier"));
      });

    test("subscribers of a site get its outcomes, and only after subscribing and until unsubscribing", async () => {
      const fanout = await factory();
      const got: number[] = [];
      const other: number[] = [];
      fanout.publish(event(1, "s1"));
      await settle(fanout);
      const stop = fanout.subscribe("s1", (e) => got.push(e.id));
      fanout.subscribe("s2", (e) => other.push(e.id));
      fanout.publish(event(2, "s1"));
      fanout.publish(event(3, "s2"));
      await settle(fanout);
      stop();
      fanout.publish(event(4, "s1"));
      await settle(fanout);
      expect(got).toEqual([2]);
      expect(other).toEqual([3]);
    });

    test("an outcome arrives whole: every field, the passport included; every subscriber of the site gets it", async () => {
      const fanout = await factory();
      const first: OutcomeEvent[] = [];
      const second: OutcomeEvent[] = [];
      fanout.subscribe("s1", (e) => first.push(e));
      fanout.subscribe("s1", (e) => second.push(e));
      const approved: OutcomeEvent = {
        ...event(7, "s1"),
        type: "approved",
        loginRequestId: crypto.randomUUID(),
        expiresAt: T0 + 60_000,
        passportJwt: "eyJ.payload.sig",
        redirectUrl: "https://shop.example/done",
      };
      fanout.publish(approved);
      await settle(fanout);
      expect(first).toEqual([approved]);
      expect(second).toEqual([approved]);
    });

    test("a listener that throws neither reaches the publisher nor stops the site's other listeners", async () => {
      const fanout = await factory();
      const got: number[] = [];
      fanout.subscribe("s1", () => {
        throw new Error("a broken stream");
      });
      fanout.subscribe("s1", (e) => got.push(e.id));
      expect(() => fanout.publish(event(8, "s1"))).not.toThrow();
      await settle(fanout);
      expect(got).toEqual([8]);
    });
  });
}

/** The binding suite also needs agents (a completed binding names one). */
export interface BindingFixture extends Fixture<BindingStore> {
  addAgent(ownerId: string): Promise<string>;
}

export function bindingRequest(siteId: string, overrides: Partial<BindingRecord> = {}): BindingRecord {
  return {
    id: crypto.randomUUID(),
    siteId,
    redirectUri: "https://shop.example/bind/callback",
    status: "PENDING",
    createdAt: T0,
    expiresAt: T0 + 600_000,
    agentId: null,
    ownerId: null,
    decidedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

export function bindingStoreConformance(name: string, factory: () => Promise<BindingFixture>): void {
  describe(`BindingStore conformance: ${name}`, () => {
    const withFixture = (body: (fixture: BindingFixture) => Promise<void>) =>
      using(factory, (fixture) => body(fixture as BindingFixture));

    /** A site, its pending binding request, and an owner with an agent to complete it. */
    async function pending(fixture: BindingFixture, overrides: Partial<BindingRecord> = {}) {
      const siteId = await fixture.addSite();
      const ownerId = await fixture.addOwner();
      const agentId = await fixture.addAgent(ownerId);
      const binding = bindingRequest(siteId, overrides);
      await fixture.store.create(binding);
      return { binding, siteId, ownerId, agentId };
    }

    test("create and read back", async () => {
      await withFixture(async (fixture) => {
        const { binding } = await pending(fixture);
        expect(await fixture.store.findById(binding.id)).toEqual(binding);
        expect(await fixture.store.findById(crypto.randomUUID())).toBeNull();
      });
    });

    test("complete is single-use: PENDING → COMPLETED once; neither a second completion nor a denial follows", async () => {
      await withFixture(async (fixture) => {
        const { binding, ownerId, agentId } = await pending(fixture);
        const done = await fixture.store.complete({ id: binding.id, agentId, ownerId, now: T0 + 1 });
        expect(done).toEqual({ ...binding, status: "COMPLETED", agentId, ownerId, decidedAt: T0 + 1 });
        expect(await fixture.store.complete({ id: binding.id, agentId, ownerId, now: T0 + 2 })).toBeNull();
        expect(await fixture.store.deny({ id: binding.id, ownerId, now: T0 + 2 })).toBeNull();
        expect(await fixture.store.findById(binding.id)).toEqual(done);
      });
    });

    test("deny is single-use too, with or without a signed-in user; a denied request cannot be completed", async () => {
      await withFixture(async (fixture) => {
        const { binding, ownerId, agentId } = await pending(fixture);
        const denied = await fixture.store.deny({ id: binding.id, ownerId: null, now: T0 + 1 });
        expect(denied).toEqual({ ...binding, status: "DENIED", decidedAt: T0 + 1 });
        expect(await fixture.store.complete({ id: binding.id, agentId, ownerId, now: T0 + 2 })).toBeNull();
        const other = await pending(fixture);
        expect(
          (await fixture.store.deny({ id: other.binding.id, ownerId: other.ownerId, now: T0 + 1 }))?.ownerId,
        ).toBe(other.ownerId);
      });
    });

    test("of many concurrent completions and denials exactly one wins", async () => {
      await withFixture(async (fixture) => {
        const { binding, ownerId, agentId } = await pending(fixture);
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            i % 2 === 0
              ? fixture.store.complete({ id: binding.id, agentId, ownerId, now: T0 + 1 })
              : fixture.store.deny({ id: binding.id, ownerId: null, now: T0 + 1 }),
          ),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await fixture.store.findById(binding.id)).toEqual(winners[0]!);
      });
    });

    test("an overdue or unknown request can be neither completed nor denied", async () => {
      await withFixture(async (fixture) => {
        const { binding, ownerId, agentId } = await pending(fixture);
        const at = binding.expiresAt;
        expect(await fixture.store.complete({ id: binding.id, agentId, ownerId, now: at })).toBeNull();
        expect(await fixture.store.deny({ id: binding.id, ownerId: null, now: at })).toBeNull();
        expect(
          await fixture.store.complete({ id: crypto.randomUUID(), agentId, ownerId, now: T0 }),
        ).toBeNull();
        expect((await fixture.store.findById(binding.id))?.status).toBe("PENDING");
      });
    });

    test("expireDue moves overdue PENDING requests only, oldest expiry first, at most `limit` per call", async () => {
      await withFixture(async (fixture) => {
        const siteId = await fixture.addSite();
        const due = [30, 10, 20].map((offset) => bindingRequest(siteId, { expiresAt: T0 + offset }));
        const fresh = bindingRequest(siteId, { expiresAt: T0 + 1_000_000 });
        for (const b of [...due, fresh]) await fixture.store.create(b);
        const denied = bindingRequest(siteId, { expiresAt: T0 + 40 });
        await fixture.store.create(denied);
        await fixture.store.deny({ id: denied.id, ownerId: null, now: T0 });

        const first = await fixture.store.expireDue(T0 + 100, 2);
        expect(first.map((b) => [b.expiresAt, b.status])).toEqual([
          [T0 + 10, "EXPIRED"],
          [T0 + 20, "EXPIRED"],
        ]);
        expect((await fixture.store.expireDue(T0 + 100, 2)).map((b) => b.expiresAt)).toEqual([T0 + 30]);
        expect(await fixture.store.expireDue(T0 + 100, 2)).toEqual([]);
        expect((await fixture.store.findById(fresh.id))?.status).toBe("PENDING");
        expect((await fixture.store.findById(denied.id))?.status).toBe("DENIED");
      });
    });

    test("revoke: only the owner who completed it, only while COMPLETED, once", async () => {
      await withFixture(async (fixture) => {
        const { binding, ownerId, agentId } = await pending(fixture);
        const stranger = await fixture.addOwner();
        expect(await fixture.store.revoke(binding.id, ownerId, T0 + 1)).toBeNull();
        await fixture.store.complete({ id: binding.id, agentId, ownerId, now: T0 + 1 });
        expect(await fixture.store.revoke(binding.id, stranger, T0 + 2)).toBeNull();
        const revoked = await fixture.store.revoke(binding.id, ownerId, T0 + 3);
        expect(revoked).toMatchObject({ status: "REVOKED", revokedAt: T0 + 3, agentId, ownerId });
        expect(await fixture.store.revoke(binding.id, ownerId, T0 + 4)).toBeNull();
        expect((await fixture.store.findById(binding.id))?.revokedAt).toBe(T0 + 3);
      });
    });

    test("listByOwner: the owner's completed and revoked bindings, newest decision first, in pages", async () => {
      await withFixture(async (fixture) => {
        const siteId = await fixture.addSite();
        const ownerId = await fixture.addOwner();
        const agentId = await fixture.addAgent(ownerId);
        const stranger = await fixture.addOwner();
        const strangerAgent = await fixture.addAgent(stranger);
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const b = bindingRequest(siteId);
          await fixture.store.create(b);
          // Two share a decision time: the id breaks the tie, so no page repeats or skips one.
          await fixture.store.complete({ id: b.id, agentId, ownerId, now: T0 + Math.min(i, 3) });
          ids.push(b.id);
        }
        await fixture.store.revoke(ids[0]!, ownerId, T0 + 10);
        const open = bindingRequest(siteId);
        const theirs = bindingRequest(siteId);
        for (const b of [open, theirs]) await fixture.store.create(b);
        await fixture.store.complete({ id: theirs.id, agentId: strangerAgent, ownerId: stranger, now: T0 });

        const seen: BindingRecord[] = [];
        let page = await fixture.store.listByOwner(ownerId, 2, null);
        seen.push(...page.bindings);
        while (page.nextCursor !== null) {
          page = await fixture.store.listByOwner(ownerId, 2, page.nextCursor);
          seen.push(...page.bindings);
        }
        expect(seen.map((b) => b.id).sort()).toEqual([...ids].sort());
        const decided = seen.map((b) => b.decidedAt!);
        expect(decided).toEqual([...decided].sort((a, b) => b - a));
        expect(seen.find((b) => b.id === ids[0])?.status).toBe("REVOKED");
        expect((await fixture.store.listByOwner(stranger, 10, null)).bindings.map((b) => b.id)).toEqual([
          theirs.id,
        ]);
      });
    });

    test("purgeFinished deletes denied and expired requests past the cutoff, at most `limit`, nothing else", async () => {
      await withFixture(async (fixture) => {
        const { binding: completed, ownerId, agentId } = await pending(fixture, { expiresAt: T0 + 10 });
        await fixture.store.complete({ id: completed.id, agentId, ownerId, now: T0 });
        const siteId = completed.siteId;
        const denied = bindingRequest(siteId, { expiresAt: T0 + 10 });
        const expired = bindingRequest(siteId, { expiresAt: T0 + 20 });
        const late = bindingRequest(siteId, { expiresAt: T0 + 500 });
        const open = bindingRequest(siteId, { expiresAt: T0 + 30 });
        for (const b of [denied, expired, late, open]) await fixture.store.create(b);
        await fixture.store.deny({ id: denied.id, ownerId: null, now: T0 });
        await fixture.store.expireDue(T0 + 25, 10);
        await fixture.store.expireDue(T0 + 600, 10);
        expect((await fixture.store.findById(open.id))?.status).toBe("EXPIRED");

        expect(await fixture.store.purgeFinished(T0 + 100, 1)).toBe(1);
        expect(await fixture.store.purgeFinished(T0 + 100, 10)).toBe(2);
        expect(await fixture.store.purgeFinished(T0 + 100, 10)).toBe(0);
        expect(await fixture.store.findById(completed.id)).not.toBeNull();
        expect(await fixture.store.findById(late.id)).not.toBeNull();
        expect(await fixture.store.findById(denied.id)).toBeNull();
      });
    });
  });
}

export interface AgentKeyFixture extends Fixture<AgentKeyStore> {
  /** An agent of `ownerId` (the keys' parent row); returns its id. */
  addAgent(ownerId: string): Promise<string>;
}

let keyCounter = 0;

/** A key record with a unique stand-in thumbprint (the store never computes one). */
export function agentKey(
  agentId: string,
  ownerId: string,
  overrides: Partial<AgentKeyRecord> = {},
): AgentKeyRecord {
  keyCounter += 1;
  const kid = `${String(keyCounter).padStart(4, "0")}${crypto.randomUUID().replaceAll("-", "")}`.slice(0, 43);
  return {
    kid: kid.padEnd(43, "A"),
    agentId,
    ownerId,
    alg: "ed25519",
    jwk: { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
    label: null,
    createdAt: T0,
    revokedAt: null,
    directorySignature: null,
    ...overrides,
  };
}

const MAX_ACTIVE = 5;

export function agentKeyStoreConformance(name: string, factory: () => Promise<AgentKeyFixture>): void {
  const withKeys = async (
    body: (fixture: AgentKeyFixture & { owner: string; agentId: string }) => Promise<void>,
  ) => {
    const fixture = await factory();
    try {
      const owner = await fixture.addOwner();
      const agentId = await fixture.addAgent(owner);
      await body({ ...fixture, owner, agentId });
    } finally {
      await fixture.close();
    }
  };

  describe(`AgentKeyStore conformance: ${name}`, () => {
    test("register and read back, the JWK as registered; an unknown kid is null", async () => {
      await withKeys(async ({ store, owner, agentId }) => {
        const ec = agentKey(agentId, owner, {
          alg: "ecdsa-p256-sha256",
          jwk: { kty: "EC", crv: "P-256", x: "x".repeat(43), y: "y".repeat(43) },
          label: "laptop",
        });
        expect(await store.register(ec, MAX_ACTIVE)).toBe("registered");
        expect(await store.findByKid(ec.kid)).toEqual(ec);
        expect(await store.findByKid("Z".repeat(43))).toBeNull();
      });
    });

    test("a kid is registered once, ever: again by the same agent, by another, after revocation: exists", async () => {
      await withKeys(async ({ store, owner, agentId, addAgent }) => {
        const key = agentKey(agentId, owner);
        expect(await store.register(key, MAX_ACTIVE)).toBe("registered");
        expect(await store.register({ ...key, label: "again" }, MAX_ACTIVE)).toBe("exists");
        const other = await addAgent(owner);
        expect(await store.register({ ...key, agentId: other }, MAX_ACTIVE)).toBe("exists");
        await store.revoke(key.kid, agentId, T0 + 1);
        expect(await store.register(key, MAX_ACTIVE)).toBe("exists");
        expect((await store.findByKid(key.kid))?.agentId).toBe(agentId);
      });
    });

    test("at most maxActive keys not revoked per agent; revoking one makes room; a known kid is exists even at the limit", async () => {
      await withKeys(async ({ store, owner, agentId, addAgent }) => {
        const keys = Array.from({ length: MAX_ACTIVE }, (_, i) =>
          agentKey(agentId, owner, { createdAt: T0 + i }),
        );
        for (const key of keys) expect(await store.register(key, MAX_ACTIVE)).toBe("registered");
        expect(await store.register(agentKey(agentId, owner), MAX_ACTIVE)).toBe("limit");
        expect(await store.register(keys[0]!, MAX_ACTIVE)).toBe("exists");
        // Another agent's keys do not count.
        const other = await addAgent(owner);
        expect(await store.register(agentKey(other, owner), MAX_ACTIVE)).toBe("registered");
        await store.revoke(keys[2]!.kid, agentId, T0 + 10);
        expect(await store.register(agentKey(agentId, owner), MAX_ACTIVE)).toBe("registered");
        expect(await store.listActive(agentId)).toHaveLength(MAX_ACTIVE);
      });
    });

    test("concurrent registrations for one agent never pass the limit", async () => {
      await withKeys(async ({ store, owner, agentId }) => {
        const outcomes = await Promise.all(
          Array.from({ length: 12 }, () => store.register(agentKey(agentId, owner), MAX_ACTIVE)),
        );
        expect(outcomes.filter((o) => o === "registered")).toHaveLength(MAX_ACTIVE);
        expect(outcomes.filter((o) => o === "limit")).toHaveLength(12 - MAX_ACTIVE);
        expect(await store.listActive(agentId)).toHaveLength(MAX_ACTIVE);
      });
    });

    test("listActive: the agent's keys not revoked, oldest first; listByAgent: active first, then revoked, newest first, bounded", async () => {
      await withKeys(async ({ store, owner, agentId, addAgent }) => {
        const [a, b, c, d] = [0, 1, 2, 3].map((i) => agentKey(agentId, owner, { createdAt: T0 + i * 1000 }));
        for (const key of [c!, a!, d!, b!]) await store.register(key, MAX_ACTIVE);
        await store.register(agentKey(await addAgent(owner), owner), MAX_ACTIVE);
        await store.revoke(b!.kid, agentId, T0 + 10_000);
        await store.revoke(d!.kid, agentId, T0 + 11_000);
        expect((await store.listActive(agentId)).map((k) => k.kid)).toEqual([a!.kid, c!.kid]);
        expect((await store.listByAgent(agentId, 10)).map((k) => k.kid)).toEqual([
          c!.kid,
          a!.kid,
          d!.kid,
          b!.kid,
        ]);
        expect((await store.listByAgent(agentId, 3)).map((k) => k.kid)).toEqual([c!.kid, a!.kid, d!.kid]);
        expect(await store.listByAgent(crypto.randomUUID(), 10)).toEqual([]);
      });
    });

    test("revoke is one-way and scoped to the agent", async () => {
      await withKeys(async ({ store, owner, agentId, addAgent }) => {
        const key = agentKey(agentId, owner);
        await store.register(key, MAX_ACTIVE);
        expect(await store.revoke(key.kid, await addAgent(owner), T0 + 1)).toBeNull();
        expect(await store.revoke(key.kid, agentId, T0 + 2)).toEqual({ ...key, revokedAt: T0 + 2 });
        expect(await store.revoke(key.kid, agentId, T0 + 3)).toBeNull();
        expect((await store.findByKid(key.kid))?.revokedAt).toBe(T0 + 2);
      });
    });

    test("setDirectorySignature replaces an active key's signature; never a revoked or another agent's key", async () => {
      await withKeys(async ({ store, owner, agentId, addAgent }) => {
        const key = agentKey(agentId, owner);
        await store.register(key, MAX_ACTIVE);
        const first = {
          signatureInput: '("@authority";req);created=1',
          signature: ":AAAA:",
          expiresAt: T0 + 1000,
        };
        const second = {
          signatureInput: '("@authority";req);created=2',
          signature: ":BBBB:",
          expiresAt: T0 + 2000,
        };
        expect(await store.setDirectorySignature(key.kid, agentId, first)).toBe(true);
        expect(await store.setDirectorySignature(key.kid, agentId, second)).toBe(true);
        expect((await store.findByKid(key.kid))?.directorySignature).toEqual(second);
        expect(await store.setDirectorySignature(key.kid, await addAgent(owner), first)).toBe(false);
        await store.revoke(key.kid, agentId, T0 + 5);
        expect(await store.setDirectorySignature(key.kid, agentId, first)).toBe(false);
        expect((await store.findByKid(key.kid))?.directorySignature).toEqual(second);
      });
    });
  });
}
