/**
 * Regression: open event streams were capped per site only. Sites cost
 * nothing to register, so one account could hold any number of streams
 * (each a connection, a keepalive timer and buffers) by spreading them over
 * sites. Streams are now capped per owner and per process as well.
 */

import type { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { RateLimitedError } from "../../../server/errors.ts";
import type { SiteRecord } from "../../../server/foundation/sites/store.ts";
import { createSqliteAgentLoginStore } from "../../../server/infrastructure/sqlite/agent-login-store.ts";
import { openDatabase } from "../../../server/infrastructure/sqlite/database.ts";
import {
  type EventStreamDeps,
  type EventStreams,
  MAX_STREAMS_PER_OWNER,
} from "../../../server/modules/agent-login/event-stream.ts";
import { siteRecord, testEventStreams } from "../event-streams/fixtures.ts";

let db: Database;
let streams: EventStreams;
const aborts: AbortController[] = [];

function site(ownerId: string): SiteRecord {
  return siteRecord({ id: crypto.randomUUID(), ownerId, tokenHash: "0".repeat(64) });
}

function build(overrides: Partial<EventStreamDeps> = {}): EventStreams {
  return testEventStreams({ store: createSqliteAgentLoginStore(db), ...overrides });
}

function open(s: SiteRecord): Response {
  const abort = new AbortController();
  aborts.push(abort);
  return streams.open(s, null, abort.signal, async () => null);
}

function refusal(s: SiteRecord): unknown {
  try {
    open(s);
  } catch (error) {
    return error;
  }
  return null;
}

beforeEach(() => {
  db = openDatabase(":memory:");
});
afterEach(() => {
  streams.closeAll();
  for (const abort of aborts.splice(0)) abort.abort();
  db.close();
});

describe("event stream caps beyond one site", () => {
  test(`one owner holds at most ${MAX_STREAMS_PER_OWNER} streams however many sites they register`, () => {
    streams = build();
    const owner = crypto.randomUUID();
    for (let i = 0; i < MAX_STREAMS_PER_OWNER; i++) expect(open(site(owner)).status).toBe(200);
    expect(refusal(site(owner))).toBeInstanceOf(RateLimitedError);
    expect(open(site(crypto.randomUUID())).status).toBe(200);
  });

  test("a closed stream frees its owner's slot", () => {
    streams = build({ maxStreamsPerOwner: 2 });
    const owner = crypto.randomUUID();
    open(site(owner));
    open(site(owner));
    expect(refusal(site(owner))).toBeInstanceOf(RateLimitedError);
    aborts[0]!.abort();
    expect(open(site(owner)).status).toBe(200);
  });

  test("the process-wide cap holds across owners", () => {
    streams = build({ maxStreams: 3 });
    for (let i = 0; i < 3; i++) open(site(crypto.randomUUID()));
    expect(refusal(site(crypto.randomUUID()))).toBeInstanceOf(RateLimitedError);
    expect(streams.openCount()).toBe(3);
  });
});
