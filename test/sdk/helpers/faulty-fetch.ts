/**
 * A transport wrapper for fault tests: real fetch to the real server, with
 * switches to cut open event streams, refuse new ones, take the JWKS
 * endpoint down, and count requests per path. Only the transport is
 * tampered with; the server and all crypto are real.
 */
export interface FaultyFetch {
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** Errors every event stream open right now (as a reset connection would). */
  dropStreams(): void;
  /** While true, the events endpoint answers 503 without reaching the server. */
  refuseStreams: boolean;
  /** While true, JWKS requests fail as if the issuer were unreachable. */
  jwksDown: boolean;
  /** Requests seen per path. */
  counts: Map<string, number>;
  /** `Last-Event-ID` sent with each event-stream request (undefined when absent). */
  lastEventIds: (string | undefined)[];
  count(pathSuffix: string): number;
}

export function faultyFetch(): FaultyFetch {
  // Upstream readers of the event streams handed out and not yet finished.
  const live = new Set<ReadableStreamDefaultReader<Uint8Array>>();
  const counts = new Map<string, number>();
  // Bumped by dropStreams(). Each stream remembers the count it was born
  // under and errors at its next read once it changed, so a stream is cut
  // whether its reader was waiting, not yet started, or still in flight.
  let drops = 0;
  const reset = () => new TypeError("connection reset (test)");
  const faulty: FaultyFetch = {
    refuseStreams: false,
    jwksDown: false,
    counts,
    lastEventIds: [],
    count: (suffix) => [...counts].filter(([path]) => path.endsWith(suffix)).reduce((n, [, c]) => n + c, 0),
    dropStreams() {
      drops++;
      for (const upstream of [...live]) {
        live.delete(upstream);
        upstream.cancel().catch(() => {});
      }
    },
    async fetch(input, init) {
      const url = new URL(input instanceof Request ? input.url : String(input));
      counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
      if (faulty.jwksDown && url.pathname.endsWith("/.well-known/jwks.json")) {
        throw new TypeError("connection refused (test)");
      }
      if (url.pathname.endsWith("/agent-login/events")) {
        const headers = new Headers(input instanceof Request ? input.headers : init?.headers);
        faulty.lastEventIds.push(headers.get("last-event-id") ?? undefined);
      }
      if (url.pathname.endsWith("/agent-login/events") && faulty.refuseStreams) {
        return Response.json(
          { ok: false, error: { code: "UNAVAILABLE", message: "test", detail: {} } },
          { status: 503 },
        );
      }
      const born = drops;
      const response = await fetch(input, init);
      if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream") || !response.body) {
        return response;
      }
      if (drops !== born) {
        response.body.cancel().catch(() => {});
        throw reset();
      }
      const upstream = response.body.getReader();
      live.add(upstream);
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { done, value } = drops === born ? await upstream.read() : { done: true, value: undefined };
            if (drops !== born) {
              controller.error(reset());
            } else if (done) {
              controller.close();
            } else {
              controller.enqueue(value);
              return;
            }
          } catch (error) {
            controller.error(drops !== born ? reset() : error);
          }
          live.delete(upstream);
        },
        cancel(reason) {
          live.delete(upstream);
          // Not returned: Bun reports a rejected cancel() promise as unhandled even when the caller catches it.
          upstream.cancel(reason).catch(() => {});
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    },
  };
  return faulty;
}
