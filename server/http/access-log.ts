/**
 * Between the transport and Elysia: gives every request an id
 * (request-id.ts) and returns it in `X-Request-Id`; then, told by the
 * transport what it sent (status and body size, which the transport knows
 * because it measures every body for `Content-Length`), counts the request in
 * the HTTP metrics and writes one access-log line. The body is never read
 * here: the transport reads it once.
 *
 * The line holds the method, the route template (never the URL: a query can
 * carry a code or a token), the status, the duration, the body size, the
 * request id and the client address; no header is logged.
 *
 * An event stream is logged and measured once, when its headers are ready
 * (`stream: true`, the duration is the time to the headers): it may stay open
 * for hours, and a line or a histogram sample held back until it closes would
 * be missing exactly when it matters (docs/decisions/operations-endpoints.md).
 * `lime_event_streams_open` shows how many are open.
 *
 * @example
 * const observed = observeRequests((request) => app.handle(request), { logger, metrics, enabled: true, trustProxy: false });
 * listenHttp(observed.handle, { ..., onAnswer: observed.answered });
 */

import type { Logger } from "../infrastructure/logger.ts";
import type { HttpMetrics } from "../observability/metrics.ts";
import { clientAddress } from "./client-address.ts";
import { REQUEST_ID_HEADER, requestIdFor } from "./request-id.ts";
import { routeTemplateOf } from "./route-template.ts";
import type { RequestHandler } from "./transport.ts";

export interface AccessLogOptions {
  logger: Logger;
  metrics: HttpMetrics;
  /** Write the log line (`ACCESS_LOG`); ids and metrics work either way. */
  enabled: boolean;
  trustProxy: boolean;
}

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The method as a label: the transport accepts some thirty, most of which no route answers. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : "OTHER";
}

/** Sets a header, on a copy when the response's headers are immutable (`Response.redirect`). */
function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    copy.headers.set(name, value);
    return copy;
  }
}

export interface ObservedRequests {
  /** The app's handler, each answer carrying its request's id. */
  handle: RequestHandler;
  /**
   * The transport's report (`TransportOptions.onAnswer`): the status and body
   * bytes it sent, or `null` bytes for an event stream, which is still going.
   */
  answered(request: Request, status: number, bytes: number | null): void;
}

export function observeRequests(handle: RequestHandler, options: AccessLogOptions): ObservedRequests {
  const pending = new WeakMap<Request, { requestId: string; started: number }>();
  const record = (request: Request, status: number, bytes: number | null) => {
    const seen = pending.get(request);
    if (seen === undefined) return;
    pending.delete(request);
    const seconds = (performance.now() - seen.started) / 1000;
    const method = methodLabel(request.method);
    const route = routeTemplateOf(request);
    options.metrics.httpRequest({ method, route, status, seconds });
    if (!options.enabled) return;
    options.logger.info("request", {
      request_id: seen.requestId,
      method,
      route,
      status,
      duration_ms: Math.round(seconds * 10_000) / 10,
      ...(bytes === null ? { stream: true } : { bytes }),
      client: clientAddress(request, options.trustProxy),
    });
  };
  return {
    async handle(request) {
      const requestId = requestIdFor(request);
      pending.set(request, { requestId, started: performance.now() });
      try {
        return withHeader(await handle(request), REQUEST_ID_HEADER, requestId);
      } catch (error) {
        // The transport answers 500 for a handler that throws (transport.ts); the line still gets written.
        record(request, 500, 0);
        throw error;
      }
    },
    answered: record,
  };
}
