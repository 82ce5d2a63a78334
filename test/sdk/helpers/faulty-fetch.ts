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
  const open = new Map<
    ReadableStreamDefaultController<Uint8Array>,
    ReadableStreamDefaultReader<Uint8Array>
  >();
  const counts = new Map<string, number>();
  // Bumped by dropStreams(): a stream whose request was already in flight when
  // the streams were cut is cut too, or it would slip through and stay open.
  let drops = 0;
  const faulty: FaultyFetch = {
    refuseStreams: false,
    jwksDown: false,
    counts,
    lastEventIds: [],
    count: (suffix) => [...counts].filter(([path]) => path.endsWith(suffix)).reduce((n, [, c]) => n + c, 0),
    dropStreams() {
      drops++;
      for (const [controller, upstream] of [...open]) {
        open.delete(controller);
        controller.error(new TypeError("connection reset (test)"));
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
      const dropsBefore = drops;
      const response = await fetch(input, init);
      if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream") || !response.body) {
        return response;
      }
      if (drops !== dropsBefore) {
        response.body.cancel().catch(() => {});
        throw new TypeError("connection reset (test)");
      }
      const upstream = response.body.getReader();
      let self: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          self = controller;
          open.set(controller, upstream);
        },
        async pull(controller) {
          try {
            const { done, value } = await upstream.read();
            if (!open.has(self)) return;
            if (done) {
              open.delete(self);
              controller.close();
            } else {
              controller.enqueue(value);
            }
          } catch (error) {
            if (open.delete(self)) controller.error(error);
          }
        },
        cancel(reason) {
          open.delete(self);
          // Not returned: Bun reports a rejected cancel() promise as unhandled even when the caller catches it.
          upstream.cancel(reason).catch(() => {});
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    },
  };
  return faulty;
}
