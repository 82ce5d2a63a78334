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
import { outcomePayload } from "./service.ts";
import type { AgentLoginStore, OutcomeEvent, OutcomeFanout } from "./store.ts";

/**
 * Open streams one owner may hold across all their sites. Sites cost nothing
 * to register, so the per-site cap alone let one account hold any number of
 * connections (memory, descriptors, a keepalive timer each).
 */
export const MAX_STREAMS_PER_OWNER = 256;

/** Open streams in this process, whatever the accounts: the backstop. */
export const MAX_STREAMS = 10_000;

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
}

/** Why the server ends a stream: the `code` and `message` of its error frame. */
export interface StreamEnd {
  code: string;
  message: string;
}

/** Null while the credential the stream was opened with still holds; otherwise (or on a throw) the stream ends. */
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
  open(
    site: SiteRecord,
    lastEventId: string | null,
    signal: AbortSignal,
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
const KEEPALIVE = `data: ${JSON.stringify({ type: "keepalive" })}\n\n`;
const RECONNECT_DELAY = "retry: 3000\n\n";

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

export function createEventStreams(deps: EventStreamDeps): EventStreams {
  const encoder = new TextEncoder();
  const perSite = new Map<string, number>();
  const perOwner = new Map<string, number>();
  const closers = new Set<() => void>();
  const maxPerOwner = deps.maxStreamsPerOwner ?? MAX_STREAMS_PER_OWNER;
  const maxStreams = deps.maxStreams ?? MAX_STREAMS;
  let total = 0;
  const adjust = (counts: Map<string, number>, key: string, by: number) => {
    const value = (counts.get(key) ?? 0) + by;
    if (value <= 0) counts.delete(key);
    else counts.set(key, value);
  };

  return {
    openCount: () => closers.size,
    closeAll() {
      for (const shutdown of [...closers]) shutdown();
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

      const lastEventId = parseLastEventId(lastEventIdHeader);
      // Ids at or below the client's Last-Event-ID were seen before this stream;
      // above it, the ids written here. Behind several instances outcomes can
      // arrive out of id order, so "above the highest written" would drop the
      // late lower one. The window is bounded: out-of-order arrivals are
      // milliseconds apart, and an id evicted from it raises the floor.
      let seenUpTo = lastEventId ?? 0;
      const written = new Set<number>();
      let closed = false;
      /** The error frame is queued; the controller closes when the client has read up to it. */
      let draining = false;
      let released = false;
      let keepalive: ReturnType<typeof setInterval> | undefined;
      let unsubscribe: (() => void) | undefined;
      let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
      // Writes run one after another behind the credential check, in arrival order.
      let writes: Promise<void> = Promise.resolve();

      /** Gives the stream's place in the caps back. */
      const release = () => {
        if (released) return;
        released = true;
        closers.delete(shutdown);
        signal.removeEventListener("abort", close);
        adjust(perSite, site.id, -1);
        adjust(perOwner, site.ownerId, -1);
        total -= 1;
      };
      const closeController = () => {
        try {
          controllerRef?.close();
        } catch {
          // Already closed by the client going away.
        }
      };
      const stopWriting = () => {
        closed = true;
        clearInterval(keepalive);
        unsubscribe?.();
      };
      /** Ends the stream quietly: the client went away or cancelled. */
      const close = () => {
        if (!closed) stopWriting();
        closeController();
        release();
      };
      /**
       * Ends the stream for `reason`, telling the client first. With `untilRead`
       * (a slow consumer) the stream stays in the caps until the client has read
       * the frame; otherwise what is queued is flushed and the place freed now.
       */
      const endWith = (reason: StreamEnd, untilRead = false) => {
        if (closed) return;
        stopWriting();
        try {
          controllerRef?.enqueue(encoder.encode(errorFrame(reason)));
        } catch {
          // The client is gone; there is no one to tell.
        }
        if (untilRead) {
          draining = true;
          return;
        }
        closeController();
        release();
      };
      /** Server shutdown: a draining stream is closed where it stands. */
      const shutdown = () => {
        if (draining) close();
        else endWith(SHUTTING_DOWN);
      };

      /** Outcomes queued for the socket and not yet acknowledged by a pull. */
      let unacknowledged: OutcomeEvent[] = [];

      const write = (text: string): boolean => {
        if (closed || !controllerRef) return false;
        if ((controllerRef.desiredSize ?? 0) < -MAX_QUEUED_CHUNKS) {
          deps.logger.warn("ended an event stream whose client stopped reading", { site_id: site.id });
          endWith(SLOW_CONSUMER, true);
          return false;
        }
        try {
          controllerRef.enqueue(encoder.encode(text));
          return true;
        } catch {
          close();
          return false;
        }
      };

      /** Everything queued before this pull has been written to the socket. */
      const acknowledgeWritten = () => {
        if (draining) {
          // The client read up to the error frame: done.
          draining = false;
          closeController();
          release();
        }
        const written = unacknowledged;
        unacknowledged = [];
        const now = deps.clock.now();
        for (const event of written) {
          deps.store.markDelivered(event.id, now).catch((error: unknown) => {
            deps.logger.error("could not mark an outcome delivered", {
              event_id: event.id,
              error: String(error),
            });
          });
        }
      };

      const send = (event: OutcomeEvent) => {
        if (event.id <= seenUpTo || written.has(event.id) || event.expiresAt <= deps.clock.now()) return;
        if (!write(`id: ${event.id}\ndata: ${JSON.stringify(eventPayload(event))}\n\n`)) return;
        written.add(event.id);
        if (written.size > WRITTEN_WINDOW) {
          const oldest = written.values().next().value!;
          written.delete(oldest);
          seenUpTo = Math.max(seenUpTo, oldest);
        }
        unacknowledged.push(event);
      };

      /** Runs `emit` once the credential is confirmed; otherwise ends the stream, saying why. */
      const whenAuthorized = (emit: () => void) => {
        writes = writes.then(async () => {
          if (closed) return;
          let problem: StreamEnd | null = RECHECK_FAILED;
          try {
            problem = await stillAuthorized();
          } catch (error) {
            if (isDatabaseUnavailable(error)) {
              // Nothing new can be approved or read back meanwhile; the client reconnects once it is back.
              problem = DATABASE_AWAY;
            } else {
              deps.logger.error("could not re-check a stream's site token", {
                site_id: site.id,
                error: String(error),
              });
            }
          }
          if (problem === null) emit();
          else endWith(problem);
        });
      };

      const stream = new ReadableStream<Uint8Array>(
        {
          start: async (controller) => {
            controllerRef = controller;
            closers.add(shutdown);
            signal.addEventListener("abort", close);
            const pending: OutcomeEvent[] = [];
            let replaying = true;
            unsubscribe = deps.fanout.subscribe(site.id, (event) => {
              if (replaying) pending.push(event);
              else whenAuthorized(() => send(event));
            });
            write(RECONNECT_DELAY);
            let backlog: OutcomeEvent[] = [];
            try {
              const now = deps.clock.now();
              backlog =
                lastEventId === null
                  ? await deps.store.undeliveredEvents(site.id, now)
                  : await deps.store.eventsAfter(site.id, lastEventId, now);
            } catch (error) {
              deps.logger.error("could not replay outcomes", { site_id: site.id, error: String(error) });
            }
            replaying = false;
            const replay = [...backlog, ...pending.sort((a, b) => a.id - b.id)];
            whenAuthorized(() => {
              for (const event of replay) send(event);
            });
            keepalive = setInterval(() => whenAuthorized(() => write(KEEPALIVE)), deps.keepaliveMs);
          },
          pull: acknowledgeWritten,
          cancel: close,
        },
        // No read-ahead: a pull means the consumer took every chunk and wrote it.
        { highWaterMark: 0 },
      );

      return new Response(stream, {
        status: 200,
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
          connection: "keep-alive",
          "x-accel-buffering": "no",
          "x-content-type-options": "nosniff",
        },
      });
    },
  };
}
