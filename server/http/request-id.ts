/**
 * The request id: the caller's `X-Request-Id` when it is a plain token
 * (1–128 of `A-Za-z0-9._-`), so a proxy's id follows the request into our
 * log; otherwise a fresh UUID. Anything else is replaced rather than echoed:
 * it goes into log lines and a response header, where a newline, a quote or
 * a 10 KB value would do harm.
 */

export const REQUEST_ID_HEADER = "x-request-id";

const ACCEPTED = /^[A-Za-z0-9._-]{1,128}$/;

export function requestIdFor(request: Request): string {
  const offered = request.headers.get(REQUEST_ID_HEADER);
  return offered !== null && ACCEPTED.test(offered) ? offered : crypto.randomUUID();
}
