/**
 * One outcome to a site with many streams is one token re-check, one encoding
 * and one delivered-mark, whatever the number of streams (issue 13: 20,000
 * streams on one instance), and every stream still gets its frame.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createMemoryOutcomeFanout } from "../../../server/infrastructure/memory/outcome-fanout.ts";
import type { StreamEnd } from "../../../server/modules/agent-login/event-stream.ts";
import type {
  AgentLoginStore,
  OutcomeEvent,
  OutcomeFanout,
} from "../../../server/modules/agent-login/store.ts";
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

  test("streams of one site and token share one fan-out subscription, dropped with the last of them", async () => {
    const inner = createMemoryOutcomeFanout();
    let subscriptions = 0;
    const fanout: OutcomeFanout = {
      publish: inner.publish,
      subscribe(siteId, listener) {
        subscriptions += 1;
        const unsubscribe = inner.subscribe(siteId, listener);
        return () => {
          subscriptions -= 1;
          unsubscribe();
        };
      },
    };
    const { store } = countingStore();
    const streams = testEventStreams({ store, fanout, maxStreamsPerSite: 10 });
    const open = (tokenHash: string) => {
      const abort = new AbortController();
      aborts.push(abort);
      return { abort, chunks: reader(streams.open(site(tokenHash), null, abort.signal, async () => null)) };
    };
    const sameToken = [open("0".repeat(64)), open("0".repeat(64)), open("0".repeat(64))];
    const otherToken = open("1".repeat(64));
    await until(() => [...sameToken, otherToken].every((s) => s.chunks.length >= 1));
    expect(subscriptions).toBe(2);

    // One stream of the group leaves; the others still get the outcome.
    sameToken[0]!.abort.abort();
    await until(() => streams.openCount() === 3);
    expect(subscriptions).toBe(2);
    inner.publish(outcome(9));
    await until(() =>
      [sameToken[1]!, sameToken[2]!, otherToken].every((s) => s.chunks.some((c) => c.startsWith("id: 9\n"))),
    );
    expect(sameToken[0]!.chunks.some((c) => c.startsWith("id: 9\n"))).toBe(false);

    for (const stream of sameToken) stream.abort.abort();
    await until(() => streams.openCount() === 1);
    expect(subscriptions).toBe(1);
    // A stream opened after the group emptied starts a new subscription and gets what follows.
    const later = open("0".repeat(64));
    await until(() => later.chunks.length >= 1);
    expect(subscriptions).toBe(2);
    inner.publish(outcome(10));
    await until(() => later.chunks.some((c) => c.startsWith("id: 10\n")));
  });
});
