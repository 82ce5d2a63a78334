/**
 * Regression: the event-stream parser kept an unterminated line, and the
 * data lines of an event not yet ended by a blank line, in memory without
 * limit, rescanning the whole buffer on every chunk. A server or anything
 * on the path could grow a site's memory (and CPU, quadratically) for as
 * long as the stream stayed open, and a keepalive-free stream never ends.
 * A line or an event's data over 256 Ki characters now ends the connection
 * with SDK_INVALID_RESPONSE, and the consumer reconnects.
 */
import { describe, expect, test } from "bun:test";
import { LimeSdkError } from "@lime-ts/sdk";
import { EventStreamParser, readEventStream } from "../../../sdk/internal/sse.ts";
import { LoginEventConsumer } from "../../../sdk/site/login-events.ts";
import { until } from "../helpers/until.ts";

const TOTAL_BYTES = 2 * 1024 * 1024;

/** A stream of `piece` repeated up to TOTAL_BYTES (or forever), counting the bytes pulled. */
function repeating(piece: string, options: { endless?: boolean } = {}) {
  const bytes = new TextEncoder().encode(piece.repeat(Math.ceil(4096 / piece.length)));
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (!options.endless && pulled >= TOTAL_BYTES) {
          controller.close();
          return;
        }
        pulled += bytes.byteLength;
        controller.enqueue(bytes);
      },
    },
    { highWaterMark: 0 },
  );
  return { body, pulled: () => pulled };
}

async function drain(body: ReadableStream<Uint8Array>): Promise<unknown> {
  try {
    for await (const _ of readEventStream(body)) {
      // events are not the point: only whether the reader stops
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

describe("event stream size limits", () => {
  test("a line that never ends is refused once it passes the limit", async () => {
    const stream = repeating("x");
    const error = await drain(stream.body);
    expect(error).toBeInstanceOf(LimeSdkError);
    expect((error as LimeSdkError).code).toBe("SDK_INVALID_RESPONSE");
    expect(stream.pulled()).toBeLessThan(1024 * 1024);
  });

  test("an event whose data lines never reach a blank line is refused once its data passes the limit", async () => {
    const stream = repeating("data: 0123456789abcdef\n");
    const error = await drain(stream.body);
    expect((error as LimeSdkError).code).toBe("SDK_INVALID_RESPONSE");
    expect(stream.pulled()).toBeLessThan(1024 * 1024);
  });

  test("events and comments of ordinary size flow for as long as the stream lasts", () => {
    const parser = new EventStreamParser();
    let dispatched = 0;
    for (let i = 0; i < 10_000; i++) dispatched += parser.push(`: keepalive\ndata: ${i}\n\n`).length;
    expect(dispatched).toBe(10_000);
  });

  test("the login consumer drops an oversized stream and reconnects", async () => {
    const errors: Error[] = [];
    let opens = 0;
    const consumer = new LoginEventConsumer(
      {
        openStream: async () => {
          opens++;
          return new Response(repeating("y", { endless: true }).body, {
            headers: { "content-type": "text/event-stream" },
          });
        },
        fetchState: () => new Promise(() => {}),
        verify: () => Promise.reject(new Error("no passports here")),
        now: Date.now,
        random: () => 0,
      },
      { reconnectBaseMs: 1, reconnectMaxMs: 1, pollIntervalMs: 60_000 },
    );
    const subscription = consumer.subscribe(
      () => {},
      (error) => errors.push(error),
    );
    try {
      await until(() => opens >= 2, 10_000);
      expect((errors[0] as LimeSdkError).code).toBe("SDK_INVALID_RESPONSE");
    } finally {
      await subscription.stop();
    }
  });
});
