/**
 * What the adaptive difficulty reads (docs/adaptive-difficulty.md): each
 * site's login-request rate and each address's recent failures, as decaying
 * counters held in this process, plus which address was first shown each
 * pending challenge, so a request that expires unapproved is charged to it.
 *
 * Per instance, by design (docs/decisions/adaptive-difficulty.md): a fleet
 * behind a balancer sees each site's rate split across its instances.
 */

import { rateLimitKey } from "../../http/client-address.ts";
import { createDecayingCounters } from "./decaying-counters.ts";

/** τ of a site's load: a steady r requests a minute reads as r; a site gone quiet loses 63% a minute. */
export const SITE_LOAD_TIME_CONSTANT_MS = 60_000;

/** τ of an address's failures: one failure raises its next challenges by a bit for about nine minutes. */
export const FAILURE_TIME_CONSTANT_MS = 10 * 60_000;

export interface DifficultySignalOptions {
  /** Sites, addresses and shown challenges held at most (each); 100,000 unless told. */
  maxKeys?: number;
}

export interface DifficultySignals {
  /** Counts one login request of the site at `now`; returns the site's load with it (requests per minute). */
  loginRequested(siteId: string, now: number): number;
  /** The site's load at `now`, without counting anything. */
  siteLoad(siteId: string, now: number): number;
  /** Counts one failure (a refused nonce, a shown challenge left to expire) against the address. */
  failed(address: string, now: number): void;
  /** The address's decayed failure count at `now`. */
  failures(address: string, now: number): number;
  /** Notes the address a request's challenge was first shown to, until the request is approved or expires. */
  challengeShown(requestId: string, address: string, now: number, expiresAt: number): void;
  /** The address the request's challenge was first shown to (by this instance), forgetting it; null if none. */
  takeShownTo(requestId: string): string | null;
}

/**
 * The key an address is counted under: the rate limits' (an IPv6 address by
 * its /64), so an attacker cannot escape its failures by walking its prefix.
 * null for a request that did not come through the transport.
 */
export function addressSubject(address: string): string | null {
  return address === "unknown" ? null : rateLimitKey(address);
}

export function createDifficultySignals(options: DifficultySignalOptions = {}): DifficultySignals {
  const maxKeys = options.maxKeys ?? 100_000;
  const loads = createDecayingCounters(SITE_LOAD_TIME_CONSTANT_MS, maxKeys);
  const failures = createDecayingCounters(FAILURE_TIME_CONSTANT_MS, maxKeys);
  const shown = new Map<string, { address: string; expiresAt: number }>();
  // A τ of one minute makes the decayed count a rate per minute.
  const perMinute = 60_000 / SITE_LOAD_TIME_CONSTANT_MS;

  const forgetOverdue = (now: number) => {
    for (const [id, entry] of shown) if (entry.expiresAt <= now) shown.delete(id);
  };

  return {
    loginRequested: (siteId, now) => loads.add(`site:${siteId}`, now) * perMinute,
    siteLoad: (siteId, now) => loads.read(`site:${siteId}`, now) * perMinute,
    failed(address, now) {
      const subject = addressSubject(address);
      if (subject !== null) failures.add(subject, now);
    },
    failures(address, now) {
      const subject = addressSubject(address);
      return subject === null ? 0 : failures.read(subject, now);
    },
    challengeShown(requestId, address, now, expiresAt) {
      if (addressSubject(address) === null) return;
      if (shown.size >= maxKeys) {
        // Entries past their expiry that no sweep here took (another instance expired them) go first.
        forgetOverdue(now);
        // Then the oldest, down to 90%: a sweep is O(n), so it must buy n/10 cheap inserts, not one.
        let excess = shown.size - Math.floor(maxKeys * 0.9);
        for (const id of shown.keys()) {
          if (excess-- <= 0) break;
          shown.delete(id);
        }
      }
      shown.set(requestId, { address, expiresAt });
    },
    takeShownTo(requestId) {
      const entry = shown.get(requestId);
      if (!entry) return null;
      shown.delete(requestId);
      return entry.address;
    },
  };
}
