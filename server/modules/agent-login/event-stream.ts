/**
 * Step 4: one Server-Sent Events stream per site connection
 * (WHATWG HTML §9.2), carrying every login outcome for that site.
 *
 * On connect the stream first replays: with `Last-Event-ID`, every live
 * outcome after that id; without it, every outcome not yet written to any
 * stream (the site was offline). It subscribes to the fan-out before reading
 * the backlog and drops duplicates by id, so an outcome arriving during the
 * replay is neither lost nor sent twice. Keepalives carry no `id:`, so they
 * never move the client's last event id.
 *
 * An outcome counts as delivered (its request APPROVED → DELIVERED, no longer
 * replayed to a reconnect without `Last-Event-ID`) only once it has been
 * handed to the socket, not when it is queued: the transport pulls the next
 * chunk only after the previous one was written (server/http/transport.ts),
 * so each pull acknowledges everything queued before it. A process killed
 * with outcomes still queued leaves them undelivered, and the next stream
 * replays them. A client that stops reading is cut once `MAX_QUEUED_CHUNKS`
 * wait, rather than holding them in memory; what it missed is replayed when it
 * reconnects.
 *
 * The site token is checked again before every write, outcome or keepalive:
 * a stream outlives the request that opened it, and a stream opened with a
 * token that was since rotated away (a leaked one, say) or of a site since
 * suspended or deleted must not go on receiving passports.
 *
 * A stream the server ends for a reason says why first, in the frame LIME's
 * site SDK logs (`_sse.py`: `{"type": "error", "code", "message"}`), as one
 * `data:` line without `id:`, so it never moves the client's Last-Event-ID:
 * SITE_TOKEN_INVALID (token rotated away, site deleted), SITE_SUSPENDED,
 * SSE_SLOW_CONSUMER, SERVER_SHUTDOWN, SERVICE_UNAVAILABLE (the database is away),
 * INTERNAL_ERROR (the re-check failed otherwise).
 * A slow consumer's frame waits behind what it has not read; its stream
 * keeps its place in the caps until the client has read to the end or gone,
 * so a client that never reads holds one capped slot and at most
 * MAX_QUEUED_CHUNKS + 1 chunks, as an open stream does.
 */

import type { Clock } from "../../clock.ts";
import { RateLimitedError } from "../../errors.ts";
import type { SiteRecord } from "../../foundation/sites/store.ts";
import type { Logger } from "../../infrastructure/logger.ts";
import { isDatabaseUnavailable } from "../../infrastructure/postgres/connection.ts";
import { createHeartbeat, type Heartbeat } from "./heartbeat.ts";
import { outcomePayload } from "./service.ts";
import { createSharedChecks, type SharedChecks } from "./shared-checks.ts";
import type { AgentLoginStore, OutcomeEvent, OutcomeFanout } from "./store.ts";

/**
 * Open streams one owner may hold across all their sites. Sites cost nothing
 * to register, so the per-site cap alone let one account hold any number of
 * connections (memory, descriptors).
 */
export const MAX_STREAMS_PER_OWNER = 256;

/**
 * Open streams in this process, whatever the accounts: the backstop. One
 * instance holds 20,000 (bench/streams.ts) at about 10–11 KiB of resident set
 * each; this leaves room above that and bounds the memory streams can take to
 * a few hundred MiB.
 */
export const MAX_STREAMS = 25_000;

export interface EventStreamDeps {
  clock: Clock;
  store: AgentLoginStore;
  fanout: OutcomeFanout;
  logger: Logger;
  keepaliveMs: number;
  maxStreamsPerSite: number;
  /** Default MAX_STREAMS_PER_OWNER. */
  maxStreamsPerOwner?: number;
  /** Default MAX_STREAMS. */
  maxStreams?: number;
  /** Default RECHECK_DEADLINE_MS. */
  recheckDeadlineMs?: number;
}

/**
 * How long a token re-check may take. Writes wait behind it, so a check that
 * never answers (a database connection that hangs) would leave the stream
 * open and silent until the client's own watchdog gave up; past the deadline
 * the stream ends with RECHECK_FAILED and the client reconnects at once.
 */
export const RECHECK_DEADLINE_MS = 10_000;

/** `answer`, or a rejection once `ms` have passed without one. */
function withinDeadline<T>(answer: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

/** Why the server ends a stream: the `code` and `message` of its error frame. */
export interface StreamEnd {
  code: string;
  message: string;
}

/**
 * Null while the credential the stream was opened with still holds; otherwise
 * (or on a throw) the stream ends. Streams of one site opened with the same
 * token share a check in flight (shared-checks.ts), so it must answer the same
 * for all of them: it may depend on the site and its token only.
 */
export type StreamAuthorization = () => Promise<StreamEnd | null>;

export const SLOW_CONSUMER: StreamEnd = {
  code: "SSE_SLOW_CONSUMER",
  message: "The client stopped reading; reconnect to receive what was missed.",
};
export const SHUTTING_DOWN: StreamEnd = {
  code: "SERVER_SHUTDOWN",
  message: "The server is shutting down; reconnect.",
};
const DATABASE_AWAY: StreamEnd = {
  code: "SERVICE_UNAVAILABLE",
  message: "The database is unreachable; reconnect to receive what was missed.",
};
const RECHECK_FAILED: StreamEnd = {
  code: "INTERNAL_ERROR",
  message: "The site token could not be checked again; reconnect.",
};

/** The error frame: one `data:` line, no `id:` (it must not move the client's Last-Event-ID). */
export function errorFrame(end: StreamEnd): string {
  return `data: ${JSON.stringify({ type: "error", code: end.code, message: end.message })}\n\n`;
}

export interface EventStreams {
  /**
   * A stream of `site`'s outcomes. It ends when its body is cancelled (the
   * HTTP transport does that when the client goes away) or when `signal`,
   * if given, aborts; in-process callers may use either.
   */
  open(
    site: SiteRecord,
    lastEventId: string | null,
    signal: AbortSignal | undefined,
    stillAuthorized: StreamAuthorization,
  ): Response;
  /** Ends every open stream (server shutdown), each with a SERVER_SHUTDOWN error frame. */
  closeAll(): void;
  openCount(): number;
}

/** Chunks a stream holds for a client that is not reading before it ends the stream. */
export const MAX_QUEUED_CHUNKS = 256;

/** How many written ids a stream remembers to drop duplicates and accept late lower ids. */
const WRITTEN_WINDOW = 1024;
const encoder = new TextEncoder();
// Frames every stream sends alike, encoded once: the socket only reads them.
const KEEPALIVE = encoder.encode(`data: ${JSON.stringify({ type: "keepalive" })}\n\n`);
const RECONNECT_DELAY = encoder.encode("retry: 3000\n\n");

/**
 * The `data:` of an outcome. A `revoked` event carries its revocation list
 * entry (server/modules/revocation/entry.ts); LIME's site SDK ignores a type
 * it does not know (`_sse.py`), so its sites see nothing new.
 */
function eventPayload(event: OutcomeEvent): Record<string, unknown> {
  if (event.type === "revoked") return { type: "revoked", ...event.revocation };
  return outcomePayload(event);
}

function parseLastEventId(raw: string | null): number | null {
  if (raw === null || !/^\d{1,15}$/.test(raw.trim())) return null;
  return Number(raw.trim());
}

/** The frame of an outcome, encoded once however many streams it goes to. */
function createFrameCache() {
  const frames = new WeakMap<OutcomeEvent, Uint8Array>();
  return (event: OutcomeEvent): Uint8Array => {
    let frame = frames.get(event);
    if (frame === undefined) {
      frame = encoder.encode(`id: ${event.id}\ndata: ${JSON.stringify(eventPayload(event))}\n\n`);
      frames.set(event, frame);
    }
    return frame;
  };
}

/** Event ids this process marked delivered (or is marking) that it remembers, newest last. */
const MARKED_WINDOW = 4096;

/**
 * Marks outcomes delivered once per event, not once per stream that wrote it:
 * an outcome written to a site's 250 streams is one update, not 250. An id
 * whose update failed is forgotten, so the next stream to write it tries again.
 */
function createDeliveryMarks(deps: Pick<EventStreamDeps, "store" | "logger">) {
  const marked = new Set<number>();
  return (eventId: number, now: number) => {
    if (marked.has(eventId)) return;
    marked.add(eventId);
    if (marked.size > MARKED_WINDOW) marked.delete(marked.values().next().value!);
    deps.store.markDelivered(eventId, now).catch((error: unknown) => {
      marked.delete(eventId);
      deps.logger.error("could not mark an outcome delivered", {
        event_id: eventId,
        error: String(error),
      });
    });
  };
}

/** What every stream of the process shares: its dependencies, the caps, and the work done once for all. */
interface StreamsShared {
  deps: EventStreamDeps;
  heartbeat: Heartbeat;
  checks: SharedChecks<StreamEnd | null>;
  frameOf(event: OutcomeEvent): Uint8Array;
  markDelivered(eventId: number, now: number): void;
  open: Set<SiteEventStream>;
  /** The groups with members, by `StreamGroup.key`. */
  groups: Map<string, StreamGroup>;
  /** Gives a stream's place in the per-site, per-owner and process caps back. */
  release(group: StreamGroup): void;
}

/**
 * What the streams of one site opened with one token share: the site's ids,
 * the credential re-check (shared-checks.ts runs one for all of them anyway)
 * and one fan-out subscription. A site's 250 streams hold one of these, not
 * 250 copies of the site record, its re-check closure and a subscription
 * each: at 20,000 streams that is most of what the app kept per stream.
 */
class StreamGroup {
  readonly siteId: string;
  readonly ownerId: string;
  /** The site and the hash of the token its streams were opened with. */
  readonly key: string;
  private readonly members = new Set<SiteEventStream>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly shared: StreamsShared,
    site: SiteRecord,
    private readonly stillAuthorized: StreamAuthorization,
  ) {
    // Copies of the two ids only: the record's other fields are not kept alive.
    this.siteId = site.id;
    this.ownerId = site.ownerId;
    this.key = `${site.id} ${site.tokenHash}`;
  }

  /** The re-check with its deadline: one timer per check run, however many streams join it. */
  readonly timedCheck = (): Promise<StreamEnd | null> =>
    withinDeadline(this.stillAuthorized(), this.shared.deps.recheckDeadlineMs ?? RECHECK_DEADLINE_MS);

  /** Outcomes of the site reach `stream` from now on. */
  add(stream: SiteEventStream): void {
    this.members.add(stream);
    this.unsubscribe ??= this.shared.deps.fanout.subscribe(this.siteId, this.dispatch);
  }

  remove(stream: SiteEventStream): void {
    if (!this.members.delete(stream) || this.members.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.shared.groups.get(this.key) === this) this.shared.groups.delete(this.key);
  }

  private readonly dispatch = (event: OutcomeEvent): void => {
    // A copy: a write may end its stream, which leaves the group mid-visit.
    for (const stream of [...this.members]) {
      try {
        stream.receive(event);
      } catch (error) {
        // One stream's failure must not keep the outcome from the others.
        this.shared.deps.logger.error("could not queue an outcome", {
          site_id: this.siteId,
          error: String(error),
        });
      }
    }
  };
}

const writeKeepalive = (stream: SiteEventStream) => stream.write(KEEPALIVE);
const NOTHING_QUEUED: Promise<void> = Promise.resolve();

/**
 * One stream: the source of its `ReadableStream`, the listener of its
 * abort signal (when it has one), and a member of the keepalive heartbeat.
 * An object with methods rather than a dozen closures: 20,000 streams each
 * holding their own copies of every callback cost memory for nothing.
 */
class SiteEventStream implements UnderlyingDefaultSource<Uint8Array>, EventListenerObject {
  // Ids at or below the client's Last-Event-ID were seen before this stream;
  // above it, the ids written here. Behind several instances outcomes can
  // arrive out of id order, so "above the highest written" would drop the
  // late lower one. The window is bounded: out-of-order arrivals are
  // milliseconds apart, and an id evicted from it raises the floor.
  private seenUpTo: number;
  /** Made on the first outcome written: most streams wait hours for one. */
  private written: Set<number> | undefined;
  private closed = false;
  /** The error frame is queued; the controller closes when the client has read up to it. */
  private draining = false;
  private released = false;
  private inGroup = false;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  // Writes run one after another behind the credential check, in arrival order.
  /** The last write queued; cleared once the queue is empty, so an idle stream holds no promise. */
  private writes: Promise<void> | undefined;
  /** Outcomes queued for the socket and not yet acknowledged by a pull (made on the first). */
  private unacknowledged: OutcomeEvent[] | undefined;
  /** While the backlog is read: outcomes that arrived meanwhile, sent after it. */
  private pending: OutcomeEvent[] | null = [];

  constructor(
    private readonly shared: StreamsShared,
    private readonly group: StreamGroup,
    private readonly lastEventId: number | null,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.seenUpTo = lastEventId ?? 0;
  }

  /** An outcome of the site, from the group's fan-out subscription. */
  receive(event: OutcomeEvent): void {
    if (this.pending !== null) this.pending.push(event);
    else this.whenAuthorized((stream) => stream.send(event));
  }

  async start(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const { deps } = this.shared;
    this.controller = controller;
    this.shared.open.add(this);
    this.signal?.addEventListener("abort", this);
    this.group.add(this);
    this.inGroup = true;
    this.write(RECONNECT_DELAY);
    let backlog: OutcomeEvent[] = [];
    try {
      const now = deps.clock.now();
      backlog =
        this.lastEventId === null
          ? await deps.store.undeliveredEvents(this.group.siteId, now)
          : await deps.store.eventsAfter(this.group.siteId, this.lastEventId, now);
    } catch (error) {
      deps.logger.error("could not replay outcomes", { site_id: this.group.siteId, error: String(error) });
    }
    const replay = [...backlog, ...this.pending!.sort((a, b) => a.id - b.id)];
    this.pending = null;
    this.whenAuthorized(() => {
      for (const event of replay) this.send(event);
    });
    if (!this.closed) this.shared.heartbeat.join(this);
  }

  /** Everything queued before this pull has been written to the socket. */
  pull(): void {
    if (this.draining) {
      // The client read up to the error frame: done.
      this.draining = false;
      this.closeController();
      this.release();
    }
    const written = this.unacknowledged;
    if (written === undefined || written.length === 0) return;
    this.unacknowledged = [];
    const now = this.shared.deps.clock.now();
    for (const event of written) this.shared.markDelivered(event.id, now);
  }

  /** The client went away or cancelled. */
  cancel(): void {
    this.close();
  }

  /** The request was aborted (EventListenerObject). */
  handleEvent(): void {
    this.close();
  }

  /** A heartbeat: a keepalive, behind the credential check. */
  beat(): void {
    this.whenAuthorized(writeKeepalive);
  }

  /** Server shutdown: a draining stream is closed where it stands. */
  shutdown(): void {
    if (this.draining) this.close();
    else this.endWith(SHUTTING_DOWN);
  }

  write(frame: Uint8Array): boolean {
    const controller = this.controller;
    if (this.closed || !controller) return false;
    if ((controller.desiredSize ?? 0) < -MAX_QUEUED_CHUNKS) {
      this.shared.deps.logger.warn("ended an event stream whose client stopped reading", {
        site_id: this.group.siteId,
      });
      this.endWith(SLOW_CONSUMER, true);
      return false;
    }
    try {
      controller.enqueue(frame);
      return true;
    } catch {
      this.close();
      return false;
    }
  }

  private send(event: OutcomeEvent): void {
    this.written ??= new Set();
    const { written } = this;
    if (
      event.id <= this.seenUpTo ||
      written.has(event.id) ||
      event.expiresAt <= this.shared.deps.clock.now()
    ) {
      return;
    }
    if (!this.write(this.shared.frameOf(event))) return;
    written.add(event.id);
    if (written.size > WRITTEN_WINDOW) {
      const oldest = written.values().next().value!;
      written.delete(oldest);
      this.seenUpTo = Math.max(this.seenUpTo, oldest);
    }
    this.unacknowledged ??= [];
    this.unacknowledged.push(event);
  }

  /** Runs `emit` once the credential is confirmed; otherwise ends the stream, saying why. */
  private whenAuthorized(emit: (stream: SiteEventStream) => void): void {
    const ticket = this.shared.checks.ticket();
    const write: Promise<void> = (this.writes ?? NOTHING_QUEUED).then(async () => {
      try {
        await this.writeIfAuthorized(ticket, emit);
      } finally {
        // Nothing was queued behind this write: the next one starts a new queue.
        if (this.writes === write) this.writes = undefined;
      }
    });
    this.writes = write;
  }

  private async writeIfAuthorized(ticket: number, emit: (stream: SiteEventStream) => void): Promise<void> {
    if (this.closed) return;
    let problem: StreamEnd | null = RECHECK_FAILED;
    try {
      problem = await this.shared.checks.run(this.group.key, ticket, this.group.timedCheck);
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        // Nothing new can be approved or read back meanwhile; the client reconnects once it is back.
        problem = DATABASE_AWAY;
      } else {
        this.shared.deps.logger.error("could not re-check a stream's site token", {
          site_id: this.group.siteId,
          error: String(error),
        });
      }
    }
    if (problem === null) emit(this);
    else this.endWith(problem);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.shared.open.delete(this);
    this.signal?.removeEventListener("abort", this);
    this.shared.release(this.group);
  }

  private closeController(): void {
    try {
      this.controller?.close();
    } catch {
      // Already closed by the client going away.
    }
  }

  private stopWriting(): void {
    this.closed = true;
    this.shared.heartbeat.leave(this);
    if (this.inGroup) this.group.remove(this);
    this.inGroup = false;
  }

  /** Ends the stream quietly: the client went away or cancelled. */
  private close(): void {
    if (!this.closed) this.stopWriting();
    this.closeController();
    this.release();
  }

  /**
   * Ends the stream for `reason`, telling the client first. With `untilRead`
   * (a slow consumer) the stream stays in the caps until the client has read
   * the frame; otherwise what is queued is flushed and the place freed now.
   */
  private endWith(reason: StreamEnd, untilRead = false): void {
    if (this.closed) return;
    this.stopWriting();
    try {
      this.controller?.enqueue(encoder.encode(errorFrame(reason)));
    } catch {
      // The client is gone; there is no one to tell.
    }
    if (untilRead) {
      this.draining = true;
      return;
    }
    this.closeController();
    this.release();
  }
}

const STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  connection: "keep-alive",
  "x-accel-buffering": "no",
  "x-content-type-options": "nosniff",
};

export function createEventStreams(deps: EventStreamDeps): EventStreams {
  const perSite = new Map<string, number>();
  const perOwner = new Map<string, number>();
  const maxPerOwner = deps.maxStreamsPerOwner ?? MAX_STREAMS_PER_OWNER;
  const maxStreams = deps.maxStreams ?? MAX_STREAMS;
  let total = 0;
  const adjust = (counts: Map<string, number>, key: string, by: number) => {
    const value = (counts.get(key) ?? 0) + by;
    if (value <= 0) counts.delete(key);
    else counts.set(key, value);
  };
  const shared: StreamsShared = {
    deps,
    heartbeat: createHeartbeat(deps.keepaliveMs),
    checks: createSharedChecks<StreamEnd | null>(),
    frameOf: createFrameCache(),
    markDelivered: createDeliveryMarks(deps),
    open: new Set(),
    groups: new Map(),
    release(group) {
      adjust(perSite, group.siteId, -1);
      adjust(perOwner, group.ownerId, -1);
      total -= 1;
    },
  };

  return {
    openCount: () => shared.open.size,
    closeAll() {
      for (const stream of [...shared.open]) stream.shutdown();
    },
    open(site, lastEventIdHeader, signal, stillAuthorized) {
      if ((perSite.get(site.id) ?? 0) >= deps.maxStreamsPerSite) {
        throw new RateLimitedError(5, "Too many open event streams for this site.");
      }
      if ((perOwner.get(site.ownerId) ?? 0) >= maxPerOwner) {
        throw new RateLimitedError(5, "Too many open event streams for this owner's sites.");
      }
      if (total >= maxStreams) {
        throw new RateLimitedError(5, "Too many open event streams; retry later.");
      }
      adjust(perSite, site.id, 1);
      adjust(perOwner, site.ownerId, 1);
      total += 1;
      let group = shared.groups.get(`${site.id} ${site.tokenHash}`);
      if (group === undefined) {
        group = new StreamGroup(shared, site, stillAuthorized);
        shared.groups.set(group.key, group);
      }
      const source = new SiteEventStream(shared, group, parseLastEventId(lastEventIdHeader), signal);
      // No read-ahead: a pull means the consumer took every chunk and wrote it.
      const stream = new ReadableStream<Uint8Array>(source, { highWaterMark: 0 });
      return new Response(stream, { status: 200, headers: STREAM_HEADERS });
    },
  };
}
