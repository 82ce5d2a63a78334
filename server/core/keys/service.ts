/**
 * The signing-key ring: one CURRENT key signs, one NEXT key is already
 * published so verifiers cache it before it signs anything, and RETIRED keys
 * stay in the JWKS until every token they signed has expired.
 *
 * Rotation (scheduled or on demand) is one atomic store operation:
 * CURRENT → RETIRED, NEXT → CURRENT, a fresh NEXT inserted. Private keys are
 * stored only sealed under the KEK (AES-256-GCM, kid as AAD) and imported as
 * non-extractable CryptoKeys; only CURRENT and NEXT are ever decrypted.
 */

import { createHash } from "node:crypto";
import {
  createJwks,
  exportPrivateJwk,
  generateSigningKey,
  importSigningKey,
  type JsonWebKeySet,
  type PublicJwk,
  type SigningKey,
} from "@lime-ts/core/keys";
import type { Clock } from "../../clock.ts";
import type { Lifetimes } from "../../config.ts";
import type { AuditRecorder } from "../../foundation/audit/service.ts";
import type { KeyEncryption } from "../../infrastructure/crypto/key-encryption.ts";
import type { Logger } from "../../infrastructure/logger.ts";
import type { KeyStore, StoredSigningKey } from "./store.ts";

/** Slack for verifiers whose clocks run behind ours when deciding a retired key is no longer needed. */
const RETIREMENT_SLACK_MS = 5 * 60_000;

export interface KeyRingDeps {
  clock: Clock;
  keys: KeyStore;
  encryption: KeyEncryption;
  logger: Logger;
  audit: AuditRecorder;
  lifetimes: Pick<Lifetimes, "keyRotationMs" | "siteLoginPassportMs" | "passportMs">;
}

export interface PublishedJwks {
  document: JsonWebKeySet;
  /** Strong validator over the document bytes (RFC 9110 §8.8.3). */
  etag: string;
}

export interface RotationResult {
  retiredKid: string;
  currentKid: string;
  nextKid: string;
}

export interface KeyRing {
  /** The key that signs right now. */
  current(): SigningKey;
  jwks(): PublishedJwks;
  /**
   * CURRENT → RETIRED, NEXT → CURRENT, a fresh NEXT. With `revokeCurrent`
   * (a suspected compromise) the old key leaves the JWKS at once instead of
   * staying until its passports expire: those passports stop verifying,
   * which is the point when the key may be in someone else's hands.
   */
  rotate(
    trigger: "scheduled" | "on_demand",
    ip?: string | null,
    options?: { revokeCurrent?: boolean },
  ): Promise<RotationResult>;
  /** Scheduled rotation when due, removal of expired retired keys, and reload of changes made elsewhere. */
  maintain(): Promise<void>;
  /**
   * Only the reload: what an instance that does not hold the maintenance
   * lease runs at each tick, so it signs with the key the fleet rotated to
   * and serves the same JWKS within one maintenance interval.
   */
  refresh(): Promise<void>;
}

async function sealKey(
  deps: KeyRingDeps,
  key: SigningKey,
  status: "CURRENT" | "NEXT",
): Promise<StoredSigningKey> {
  const now = deps.clock.now();
  const privateJwk = new TextEncoder().encode(JSON.stringify(await exportPrivateJwk(key)));
  const sealed = await deps.encryption.seal(privateJwk, key.kid);
  privateJwk.fill(0);
  return {
    kid: key.kid,
    status,
    publicJwk: JSON.stringify(key.publicJwk),
    sealedPrivateJwk: sealed.ciphertext,
    iv: sealed.iv,
    createdAt: now,
    activatedAt: status === "CURRENT" ? now : null,
    retiredAt: null,
    removeAfter: null,
  };
}

async function freshKey(deps: KeyRingDeps, status: "CURRENT" | "NEXT"): Promise<StoredSigningKey> {
  return sealKey(deps, await generateSigningKey({ extractable: true }), status);
}

async function openKey(deps: KeyRingDeps, record: StoredSigningKey): Promise<SigningKey> {
  let plaintext: Uint8Array;
  try {
    plaintext = await deps.encryption.open(
      { iv: record.iv, ciphertext: record.sealedPrivateJwk },
      record.kid,
    );
  } catch {
    throw new Error(
      `LIME_KEY_ENCRYPTION_KEY does not open signing key ${record.kid}: the key-encryption key differs from the one that sealed the stored keys`,
    );
  }
  try {
    return await importSigningKey(JSON.parse(new TextDecoder().decode(plaintext)));
  } finally {
    plaintext.fill(0);
  }
}

function etagOf(document: JsonWebKeySet): string {
  return `"${createHash("sha256").update(JSON.stringify(document)).digest("base64url")}"`;
}

export async function openKeyRing(deps: KeyRingDeps): Promise<KeyRing> {
  let records: StoredSigningKey[] = await deps.keys.list();
  if (!records.some((r) => r.status === "CURRENT")) {
    const [current, next] = await Promise.all([freshKey(deps, "CURRENT"), freshKey(deps, "NEXT")]);
    if (await deps.keys.bootstrap(current, next)) {
      deps.logger.info("generated the first signing keys", { current: current.kid, next: next.kid });
    }
    records = await deps.keys.list();
  }

  let fingerprint = "";
  let currentKey: SigningKey | null = null;
  let currentRecord: StoredSigningKey | null = null;
  let published: PublishedJwks = { document: { keys: [] }, etag: '""' };
  const opened = new Map<string, SigningKey>();

  async function load(list: StoredSigningKey[]): Promise<void> {
    const now = deps.clock.now();
    const live = list.filter((r) => r.status !== "RETIRED" || (r.removeAfter ?? 0) > now);
    const print = live.map((r) => `${r.kid}:${r.status}`).join(",");
    if (print === fingerprint) return;
    const current = live.find((r) => r.status === "CURRENT");
    if (!current) throw new Error("key store holds no CURRENT signing key");
    const next = live.find((r) => r.status === "NEXT");
    for (const record of [current, next]) {
      if (record && !opened.has(record.kid)) opened.set(record.kid, await openKey(deps, record));
    }
    for (const kid of opened.keys()) if (kid !== current.kid && kid !== next?.kid) opened.delete(kid);
    const order = { CURRENT: 0, NEXT: 1, RETIRED: 2 } as const;
    const jwks = [...live]
      .sort((a, b) => order[a.status] - order[b.status] || b.createdAt - a.createdAt)
      .map((r) => JSON.parse(r.publicJwk) as PublicJwk);
    const document = createJwks(jwks);
    currentKey = opened.get(current.kid)!;
    currentRecord = current;
    published = { document, etag: etagOf(document) };
    fingerprint = print;
  }

  await load(records);

  const ring: KeyRing = {
    current: () => currentKey!,
    jwks: () => published,
    async rotate(trigger, ip = null, options = {}) {
      const now = deps.clock.now();
      const expected = currentRecord!;
      const retireUntil = options.revokeCurrent
        ? now
        : now + Math.max(deps.lifetimes.siteLoginPassportMs, deps.lifetimes.passportMs) + RETIREMENT_SLACK_MS;
      const next = await freshKey(deps, "NEXT");
      if (!(await deps.keys.rotate({ expectedCurrentKid: expected.kid, retireUntil, next, now }))) {
        // Another instance rotated first; adopt its result instead of rotating twice.
        await load(await deps.keys.list());
      } else {
        await load(await deps.keys.list());
        await deps.audit({
          ownerId: null,
          actorType: trigger === "on_demand" ? "admin" : "system",
          action: "keys.rotated",
          targetType: "signing_key",
          targetId: currentRecord!.kid,
          reason: options.revokeCurrent ? `${trigger}_revoking:${expected.kid}` : trigger,
          ip,
        });
        deps.logger.info("rotated signing keys", {
          trigger,
          revoked: options.revokeCurrent === true,
          retired: expected.kid,
          current: currentRecord!.kid,
        });
      }
      const nextRecord = (await deps.keys.list()).find((r) => r.status === "NEXT");
      return { retiredKid: expected.kid, currentKid: currentRecord!.kid, nextKid: nextRecord?.kid ?? "" };
    },
    async maintain() {
      const now = deps.clock.now();
      const activatedAt = currentRecord!.activatedAt ?? currentRecord!.createdAt;
      if (now >= activatedAt + deps.lifetimes.keyRotationMs) await ring.rotate("scheduled");
      await deps.keys.deleteRemovable(now);
      await load(await deps.keys.list());
    },
    async refresh() {
      await load(await deps.keys.list());
    },
  };
  return ring;
}
