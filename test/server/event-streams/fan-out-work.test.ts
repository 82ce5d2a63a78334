/**
 * One outcome to a site with many streams is one token re-check, one encoding
 * and one delivered-mark, whatever the number of streams (issue 13: 20,000
 * streams on one instance), and every stream still gets its frame.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createMemoryOutcomeFanout } from "../../../server/infrastructure/memory/outcome-fanout.ts";
import type { StreamEnd } from "../../../server/modules/agent-login/event-stream.ts";
import type { AgentLoginStore, OutcomeEvent } from "../../../server/modules/agent-login/store.ts";
import { siteRecord, testEventStreams } from "./fixtures.ts";

const STREAMS = 50;
const aborts: AbortController[] = [];

afterEach(() => {
  for (const abort of aborts.splice(0)) abort.abort();
});

const site = (tokenHash?: string) => siteRecord(tokenHash ? { tokenHash } : {});

function outcome(id: number): OutcomeEvent {
  return {
    id,
    siteId: "site-1",
    loginRequestId: `request-${id}`,
    type: "approved",
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    deliveredAt: null,
    passportJwt: "header.payload.signature",
    redirectUrl: null,
  };
}

/** A store with no backlog that counts delivered-marks per event. */
function countingStore() {
  const marks = new Map<number, number>();
  const store = {
    undeliveredEvents: async () => [],
    eventsAfter: async () => [],
    markDelivered: async (eventId: number) => {
      marks.set(eventId, (marks.get(eventId) ?? 0) + 1);
    },
  } as unknown as AgentLoginStore;
  return { store, marks };
}

/** Reads chunks as they come, so every write is pulled (acknowledged) at once. */
function reader(response: Response) {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const read = response.body!.getReader();
  void (async () => {
    for (;;) {
      const { value, done } = await read.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      chunks.push(decoder.decode(value));
    }
  })();
  return chunks;
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await Bun.sleep(2);
}

describe("an outcome fanned out to many streams of one site", () => {
  test("is checked once, encoded once and marked delivered once, and reaches every stream", async () => {
    const fanout = createMemoryOutcomeFanout();
    const { store, marks } = countingStore();
    const streams = testEventStreams({ store, fanout, maxStreamsPerSite: STREAMS });
    let checks = 0;
    const stillAuthorized = async (): Promise<StreamEnd | null> => {
      checks += 1;
      await Bun.sleep(1);
      return null;
    };
    const readers = Array.from({ length: STREAMS }, () => {
      const abort = new AbortController();
      aborts.push(abort);
      return reader(streams.open(site(), null, abort.signal, stillAuthorized));
    });
    await until(() => readers.every((chunks) => chunks.length >= 1));
    // Each stream's replay (empty) is behind a check of its own queue; wait for those to settle.
    await Bun.sleep(20);
    const checksBefore = checks;

    fanout.publish(outcome(7));
    const frame = `id: 7\ndata: ${JSON.stringify({
      type: "approved",
      login_request_id: "request-7",
      agent_passport_jwt: "header.payload.signature",
      redirect_url: null,
    })}\n\n`;
    await until(() => readers.every((chunks) => chunks.includes(frame)));
    await until(() => marks.has(7));
    expect(checks - checksBefore).toBe(1);
    expect(marks.get(7)).toBe(1);
    expect(streams.openCount()).toBe(STREAMS);
  });

  test("streams opened with another token of the site are checked on their own", async () => {
    const fanout = createMemoryOutcomeFanout();
    const { store } = countingStore();
    const streams = testEventStreams({ store, fanout, maxStreamsPerSite: 2 });
    const rotated: StreamEnd = { code: "SITE_TOKEN_INVALID", message: "The site token is no longer valid." };
    let checksOld = 0;
    const open = (tokenHash: string, check: () => Promise<StreamEnd | null>) => {
      const abort = new AbortController();
      aborts.push(abort);
      return reader(streams.open(site(tokenHash), null, abort.signal, check));
    };
    let revoked = false;
    const old = open("0".repeat(64), async () => {
      checksOld += 1;
      return revoked ? rotated : null;
    });
    const current = open("1".repeat(64), async () => null);
    await until(() => old.length >= 1 && current.length >= 1);
    await Bun.sleep(20);
    revoked = true;
    fanout.publish(outcome(8));
    await until(() => current.some((chunk) => chunk.startsWith("id: 8\n")));
    await until(() => old.some((chunk) => chunk.includes("SITE_TOKEN_INVALID")));
    expect(old.some((chunk) => chunk.startsWith("id: 8\n"))).toBe(false);
    expect(checksOld).toBeGreaterThan(0);
  });
});
