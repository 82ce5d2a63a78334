/**
 * A `text/event-stream` parser over any `ReadableStream<Uint8Array>`,
 * following the WHATWG HTML "Server-sent events" interpretation rules
 * (§9.2.6): lines end in CRLF, LF or CR (a CR at the end of one chunk may
 * pair with an LF at the start of the next); a leading BOM is dropped; `:`
 * starts a comment; one space after the colon is stripped; `data` lines are
 * joined with LF; `id` containing NUL is ignored and the last id persists
 * across events; `retry` takes ASCII digits only; an event with no data is
 * not dispatched; an unterminated event at end of stream is discarded.
 *
 * We parse by hand rather than use `EventSource` because `EventSource`
 * cannot send headers (the site token travels in `X-Site-Token`) and does
 * not exist in Node or Workers.
 *
 * The spec sets no limits; a stream is endless by design, so we do: a line
 * or an event's data longer than `maxEventChars` (256 Ki characters, far
 * above a passport's 64 KiB bound) makes `push` throw SDK_INVALID_RESPONSE
 * and the caller drops the connection. Each chunk is scanned once, so a
 * line sent a byte at a time costs linear, not quadratic, time.
 */
import { LimeSdkError } from "../errors.ts";

export const MAX_EVENT_CHARS = 256 * 1024;

export interface ServerSentEvent {
  /** `event:` field, "message" when absent. */
  type: string;
  data: string;
  /** The last event id seen so far on this stream ("" if none). */
  lastEventId: string;
}

export class EventStreamParser {
  lastEventId = "";
  /** Reconnection delay the server asked for with `retry:`, if any. */
  retryMs: number | undefined;
  #buffer = "";
  #skippedBom = false;
  #pendingCr = false;
  #data: string[] = [];
  #dataChars = 0;
  #type = "";
  #idBuffer: string | undefined;
  readonly #maxEventChars: number;

  constructor(options: { maxEventChars?: number } = {}) {
    this.#maxEventChars = options.maxEventChars ?? MAX_EVENT_CHARS;
  }

  /** Feeds decoded text; returns the events completed by it. Throws SDK_INVALID_RESPONSE past the size limit. */
  push(text: string): ServerSentEvent[] {
    if (text === "") return [];
    let chunk = text;
    if (!this.#skippedBom) {
      this.#skippedBom = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.#pendingCr && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.#pendingCr = false;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      const line = this.#buffer + chunk.slice(start, i);
      this.#buffer = "";
      if (c === 0x0d) {
        if (i + 1 === chunk.length) this.#pendingCr = true;
        else if (chunk.charCodeAt(i + 1) === 0x0a) i++;
      }
      start = i + 1;
      this.#limit(line.length);
      const event = this.#line(line);
      if (event) events.push(event);
    }
    this.#buffer += chunk.slice(start);
    this.#limit(this.#buffer.length);
    return events;
  }

  #limit(chars: number): void {
    if (chars > this.#maxEventChars) {
      throw new LimeSdkError(
        "SDK_INVALID_RESPONSE",
        `an event stream line or event is longer than ${this.#maxEventChars} characters`,
      );
    }
  }

  #line(line: string): ServerSentEvent | undefined {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.#type = value;
        break;
      case "data":
        this.#dataChars += value.length + 1;
        this.#limit(this.#dataChars);
        this.#data.push(value);
        break;
      case "id":
        if (!value.includes("\u0000")) this.#idBuffer = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
    return undefined;
  }

  #dispatch(): ServerSentEvent | undefined {
    if (this.#idBuffer !== undefined) this.lastEventId = this.#idBuffer;
    this.#idBuffer = undefined;
    const data = this.#data;
    const type = this.#type;
    this.#data = [];
    this.#dataChars = 0;
    this.#type = "";
    if (data.length === 0) return undefined;
    return { type: type === "" ? "message" : type, data: data.join("\n"), lastEventId: this.lastEventId };
  }
}

export interface ReadEventStreamOptions {
  /** Pass one to read `lastEventId` and `retryMs` while iterating. */
  parser?: EventStreamParser;
  /** Aborting cancels the body, which ends the iteration. */
  signal?: AbortSignal;
  /**
   * Called for every chunk once it is parsed, before its events are yielded,
   * including chunks that complete no event (a comment keepalive, a `retry:`):
   * proof that the connection is alive.
   */
  onChunk?: () => void;
}

/** Yields the events of a stream until it ends or the caller stops iterating. */
export async function* readEventStream(
  body: ReadableStream<Uint8Array>,
  options: ReadEventStreamOptions = {},
): AsyncGenerator<ServerSentEvent> {
  const { parser = new EventStreamParser(), signal, onChunk } = options;
  const reader = body.getReader();
  const onAbort = () => reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  const decoder = new TextDecoder("utf-8");
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const events = parser.push(decoder.decode(value, { stream: true }));
      onChunk?.();
      yield* events;
    }
    yield* parser.push(decoder.decode());
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Also reached when the consumer stops early: cancelling closes the connection.
    reader.cancel().catch(() => {});
  }
}
