/** What the OAuth route groups share. */

/** Browser clients (an MCP inspector in a page) call these cross-origin; no cookie is ever read on them. */
const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, content-type, mcp-protocol-version",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-max-age": "600",
};

export function withCors(response: Response): Response {
  for (const [name, value] of Object.entries(CORS)) response.headers.set(name, value);
  return response;
}

/**
 * A group's one error handler: runs a route's work and answers what it
 * throws with `failure`, which rethrows what it does not answer, on to the
 * server's boundary (logged, 500). Elysia's `onError` cannot do this for a
 * group: the boundary's global handler runs first and answers everything.
 */
export function answeringFailures(failure: (error: unknown) => Response) {
  return async <Answer>(work: () => Promise<Answer>): Promise<Answer | Response> => {
    try {
      return await work();
    } catch (error) {
      return failure(error);
    }
  };
}

export function redirect(location: string, status: 302 | 303 = 302): Response {
  return new Response(null, { status, headers: { location, "cache-control": "no-store" } });
}
