import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { EventStreamParser, readEventStream, type ServerSentEvent } from "../../sdk/internal/sse.ts";

function parseAll(chunks: string[]): { events: ServerSentEvent[]; parser: EventStreamParser } {
  const parser = new EventStreamParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  return { events, parser };
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

describe("EventStreamParser (WHATWG HTML §9.2.6)", () => {
  test("dispatches data on a blank line and joins several data lines with LF", () => {
    const { events } = parseAll(['data: {"a":1}\n\n', "data: one\ndata: two\n\n"]);
    expect(events).toEqual([
      { type: "message", data: '{"a":1}', lastEventId: "" },
      { type: "message", data: "one\ntwo", lastEventId: "" },
    ]);
  });

  test("accepts CRLF, LF and CR line endings, including a CR split from its LF across chunks", () => {
    const { events } = parseAll(["data: a\r", "", "\n\r\n", "data: b\r\rdata: c\n\n"]);
    expect(events.map((e) => e.data)).toEqual(["a", "b", "c"]);
  });

  test("ignores comments, strips one space after the colon only, and takes a field without colon as empty", () => {
    const { events } = parseAll([": keepalive\n", "data:  two spaces\n\n", "data\n\n"]);
    expect(events.map((e) => e.data)).toEqual([" two spaces", ""]);
  });

  test("the last event id persists across events and is updated even by an event without data", () => {
    const { events, parser } = parseAll(["id: 7\ndata: x\n\n", "data: y\n\n", "id: 9\n\n"]);
    expect(events.map((e) => e.lastEventId)).toEqual(["7", "7"]);
    expect(parser.lastEventId).toBe("9");
  });

  test("an id containing NUL is ignored; an empty id resets the last id", () => {
    const { parser } = parseAll(["id: 5\n\n", "id: a\u0000b\n\n"]);
    expect(parser.lastEventId).toBe("5");
    parser.push("id\n\n");
    expect(parser.lastEventId).toBe("");
  });

  test("event sets the type; retry accepts ASCII digits only", () => {
    const { events, parser } = parseAll(["event: login\nretry: 1500\ndata: z\n\n", "retry: 2s\n\n"]);
    expect(events[0]?.type).toBe("login");
    expect(parser.retryMs).toBe(1500);
  });

  test("drops a leading BOM once, and discards an unterminated event at end of stream", async () => {
    const encoder = new TextEncoder();
    const body = streamOf([encoder.encode("\uFEFFdata: first\n\n"), encoder.encode("data: cut off")]);
    const events: ServerSentEvent[] = [];
    for await (const event of readEventStream(body)) events.push(event);
    expect(events.map((e) => e.data)).toEqual(["first"]);
  });

  test("decodes UTF-8 split inside a multi-byte character", async () => {
    const bytes = new TextEncoder().encode("data: 名前\n\n");
    const body = streamOf([bytes.slice(0, 8), bytes.slice(8)]);
    const events: ServerSentEvent[] = [];
    for await (const event of readEventStream(body)) events.push(event);
    expect(events[0]?.data).toBe("名前");
  });

  test("onChunk sees every chunk once parsed, keepalive comments and retry lines included", async () => {
    const encoder = new TextEncoder();
    const body = streamOf([": keepalive\n", "retry: 700\n", "data: x\n\n"].map((t) => encoder.encode(t)));
    const parser = new EventStreamParser();
    const seen: (number | undefined)[] = [];
    const events: string[] = [];
    for await (const event of readEventStream(body, { parser, onChunk: () => seen.push(parser.retryMs) })) {
      events.push(`${event.data} after ${seen.length} chunks`);
    }
    expect(seen).toEqual([undefined, 700, 700]);
    expect(events).toEqual(["x after 3 chunks"]);
  });

  test("aborting the signal cancels the body and ends the iteration", async () => {
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("data: first\n\n"));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const controller = new AbortController();
    const events: string[] = [];
    for await (const event of readEventStream(body, { signal: controller.signal })) {
      events.push(event.data);
      controller.abort(new Error("site closed"));
    }
    expect(events).toEqual(["first"]);
    expect((cancelled as Error).message).toBe("site closed");
  });

  test("property: any chunking of a stream yields the same events as feeding it whole", () => {
    const line = fc.constantFrom(
      "data: a",
      'data: {"x":2}',
      "id: 3",
      ": c",
      "event: e",
      "",
      "data",
      "retry: 10",
    );
    const ending = fc.constantFrom("\n", "\r\n", "\r");
    const doc = fc
      .array(fc.tuple(line, ending), { maxLength: 30 })
      .map((parts) => parts.map(([l, e]) => l + e).join(""));
    fc.assert(
      fc.property(doc, fc.array(fc.nat(), { maxLength: 10 }), (text, cuts) => {
        const whole = parseAll([text]);
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let start = 0;
        for (const p of points) {
          chunks.push(text.slice(start, p));
          start = p;
        }
        chunks.push(text.slice(start));
        const split = parseAll(chunks);
        expect(split.events).toEqual(whole.events);
        expect(split.parser.lastEventId).toBe(whole.parser.lastEventId);
      }),
    );
  });
});
