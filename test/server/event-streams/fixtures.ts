/** What tests that drive `createEventStreams` directly share: a site, and the streams with test defaults. */
import type { SiteRecord } from "../../../server/foundation/sites/store.ts";
import { silentLogger } from "../../../server/infrastructure/logger.ts";
import { createMemoryOutcomeFanout } from "../../../server/infrastructure/memory/outcome-fanout.ts";
import {
  createEventStreams,
  type EventStreamDeps,
  type EventStreams,
} from "../../../server/modules/agent-login/event-stream.ts";

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

/** Event streams on `store`, with a real clock, an in-memory fan-out, no log and a keepalive a minute apart. */
export function testEventStreams(
  deps: Pick<EventStreamDeps, "store"> & Partial<EventStreamDeps>,
): EventStreams {
  return createEventStreams({
    clock: { now: () => Date.now() },
    fanout: createMemoryOutcomeFanout(),
    logger: silentLogger,
    keepaliveMs: 60_000,
    maxStreamsPerSite: 8,
    ...deps,
  });
}
