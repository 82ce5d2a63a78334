/**
 * Wraps the app's request handler, between the transport and Elysia: gives
 * every request an id (request-id.ts) and returns it in `X-Request-Id`,
 * counts it in the HTTP metrics, and writes one access-log line when its
 * response is handed to the transport.
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
 * listenHttp(observeRequests((request) => app.handle(request), { logger, metrics, enabled: true, trustProxy: false }), ...);
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

/** Statuses whose response may not have a body (Fetch: "null body status"). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** The method as a label: the transport accepts some thirty, most of which no route answers. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : "OTHER";
}

function isEventStream(response: Response): boolean {
  return response.headers.get("content-type")?.startsWith("text/event-stream") === true;
}

function init(response: Response): ResponseInit {
  return { status: response.status, statusText: response.statusText, headers: response.headers };
}

/** Sets a header, on a copy when the response's headers are immutable (`Response.redirect`). */
function withHeader(response: Response, name: string, value: string): Response {
  try {
    response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, init(response));
    copy.headers.set(name, value);
    return copy;
  }
}

interface Answered {
  response: Response;
  /** Body bytes sent; null for an event stream, which is still going. */
  bytes: number | null;
}

/**
 * The response with its id, and its size. The transport reads every body
 * but an event stream whole before writing it, so reading it here first
 * costs one copy; an event stream is passed through untouched, since its
 * source counts on being read one chunk per write (transport.ts).
 */
async function answer(response: Response, requestId: string, method: string): Promise<Answered> {
  if (response.body === null || isEventStream(response)) {
    return {
      response: withHeader(response, REQUEST_ID_HEADER, requestId),
      bytes: response.body === null ? 0 : null,
    };
  }
  const payload = new Uint8Array(await response.arrayBuffer());
  const copy = new Response(NULL_BODY_STATUSES.has(response.status) ? null : payload, init(response));
  copy.headers.set(REQUEST_ID_HEADER, requestId);
  return { response: copy, bytes: method === "HEAD" ? 0 : payload.byteLength };
}

export function observeRequests(handle: RequestHandler, options: AccessLogOptions): RequestHandler {
  const record = (
    request: Request,
    requestId: string,
    started: number,
    status: number,
    bytes: number | null,
  ) => {
    const seconds = (performance.now() - started) / 1000;
    const method = methodLabel(request.method);
    const route = routeTemplateOf(request);
    options.metrics.httpRequest({ method, route, status, seconds });
    if (!options.enabled) return;
    options.logger.info("request", {
      request_id: requestId,
      method,
      route,
      status,
      duration_ms: Math.round(seconds * 10_000) / 10,
      ...(bytes === null ? { stream: true } : { bytes }),
      client: clientAddress(request, options.trustProxy),
    });
  };
  return async (request) => {
    const started = performance.now();
    const requestId = requestIdFor(request);
    let answered: Answered;
    try {
      answered = await answer(await handle(request), requestId, request.method);
    } catch (error) {
      // The transport answers 500 for a handler that throws (transport.ts); the line still gets written.
      record(request, requestId, started, 500, 0);
      throw error;
    }
    record(request, requestId, started, answered.response.status, answered.bytes);
    return answered.response;
  };
}
