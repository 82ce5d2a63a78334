/** A site as the event streams see it, for tests that drive `createEventStreams` directly. */
import type { SiteRecord } from "../../../server/foundation/sites/store.ts";

export function siteRecord(overrides: Partial<SiteRecord> = {}): SiteRecord {
  return {
    id: "site-1",
    ownerId: "owner-1",
    displayName: "shop",
    origin: null,
    tokenHash: "a".repeat(64),
    powDifficulty: 8,
    powDifficultyMax: null,
    powSurgePerMinute: null,
    status: "ACTIVE",
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
}
