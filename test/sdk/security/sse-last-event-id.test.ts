/**
 * Regression: the consumer resent any `id:` it had seen as `Last-Event-ID`.
 * An id that cannot be a header value (a character above U+00FF) made every
 * reconnect throw inside fetch before a byte was sent, and an id of a few
 * hundred KiB drew a 431 on every attempt: one such event stalled the
 * site's stream for good (it only polled the requests it knew). Ids that
 * are not short printable ASCII are now ignored; the last good one is sent.
 */
import { expect, test } from "bun:test";
import { SiteClient } from "@lime-ts/sdk";
import { until } from "../helpers/until.ts";

function eventStream(text: string, close: boolean): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      if (close) controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

for (const [label, badId] of [
  ["a character above U+00FF", "\u20ac8"],
  ["200 KB long", "9".repeat(200_000)],
] as const) {
  test(`an id that cannot be sent back as Last-Event-ID (${label}) does not stall reconnection`, async () => {
    const sent: (string | null)[] = [];
    const keepalive = `data: ${JSON.stringify({ type: "keepalive" })}\n\n`;
    const site = new SiteClient({
      baseUrl: "https://lime.test",
      siteToken: "lime_site_test",
      siteId: "site-1",
      events: { reconnectBaseMs: 1, reconnectMaxMs: 2, pollIntervalMs: 60_000 },
      fetch: async (input, init) => {
        // What every fetch does first; it throws on a header value that is not a ByteString.
        const request = new Request(input, init);
        sent.push(request.headers.get("last-event-id"));
        if (sent.length === 1) return eventStream(`id: 7\n${keepalive}id: ${badId}\n${keepalive}`, true);
        return eventStream(keepalive, false);
      },
    });
    const subscription = site.onLogin(() => {});
    try {
      await until(() => sent.length >= 2);
      expect(sent).toEqual([null, "7"]);
    } finally {
      await subscription.stop();
    }
  });
}
