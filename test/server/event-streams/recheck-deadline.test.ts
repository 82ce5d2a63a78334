/**
 * A token re-check that never answers (a database connection that hangs)
 * ends the stream with an error frame once its deadline passes, instead of
 * leaving it open and silent: writes wait behind the check, so without the
 * deadline the client would hear nothing until its own watchdog gave up.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { StreamEnd } from "../../../server/modules/agent-login/event-stream.ts";
import type { AgentLoginStore } from "../../../server/modules/agent-login/store.ts";
import { siteRecord, testEventStreams } from "./fixtures.ts";

const aborts: AbortController[] = [];
afterEach(() => {
  for (const abort of aborts.splice(0)) abort.abort();
});

const SITE = siteRecord();

const emptyStore = {
  undeliveredEvents: async () => [],
  eventsAfter: async () => [],
  markDelivered: async () => {},
} as unknown as AgentLoginStore;

/** The whole body as text, once the server ends the stream. */
async function bodyText(response: Response): Promise<string> {
  return await new Response(response.body).text();
}

describe("a token re-check with a deadline", () => {
  test("a check that never answers ends the stream with INTERNAL_ERROR, and frees its place", async () => {
    const streams = testEventStreams({ store: emptyStore, maxStreamsPerSite: 1, recheckDeadlineMs: 50 });
    const abort = new AbortController();
    aborts.push(abort);
    const hangs = (): Promise<StreamEnd | null> => new Promise(() => {});
    const text = await bodyText(streams.open(SITE, null, abort.signal, hangs));
    expect(text).toContain('"type":"error","code":"INTERNAL_ERROR"');
    expect(streams.openCount()).toBe(0);
  });

  test("a check that answers in time keeps the stream open", async () => {
    const streams = testEventStreams({
      store: emptyStore,
      keepaliveMs: 10,
      maxStreamsPerSite: 1,
      recheckDeadlineMs: 1_000,
    });
    const abort = new AbortController();
    aborts.push(abort);
    let checks = 0;
    const answers = async (): Promise<StreamEnd | null> => {
      checks += 1;
      return null;
    };
    const response = streams.open(SITE, null, abort.signal, answers);
    const read = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (checks < 5) text += decoder.decode((await read.read()).value);
    expect(text).not.toContain('"type":"error"');
    expect(streams.openCount()).toBe(1);
    abort.abort();
  });
});
