/**
 * Where `/ready` and `/metrics` are served: as routes of the public app, and
 * as the whole of the operations listener (`METRICS_PORT`), which answers
 * nothing else.
 */

import { Elysia } from "elysia";
import { DomainError } from "../errors.ts";
import { errorResponse } from "../http/error-boundary.ts";
import type { RequestHandler } from "../http/transport.ts";
import type { MetricsEndpoint } from "./metrics-endpoint.ts";
import type { Readiness } from "./readiness.ts";

export function observabilityRoutes(readiness: Readiness, metrics: MetricsEndpoint) {
  return (
    new Elysia({ name: "lime-observability" })
      .get("/ready", () => readiness.respond(), { detail: { summary: "Readiness" } })
      // Not in the API description: it does not exist on this port unless METRICS_TOKEN is set.
      .get("/metrics", ({ request }) => metrics.respond(request, "public"), { detail: { hide: true } })
  );
}

/** The operations listener's handler: `/metrics` and `/ready`, and 404 for anything else. */
export function operationsHandler(readiness: Readiness, metrics: MetricsEndpoint): RequestHandler {
  return (request) => {
    const path = new URL(request.url).pathname;
    if (request.method === "GET" || request.method === "HEAD") {
      if (path === "/metrics") return metrics.respond(request, "operations");
      if (path === "/ready") return readiness.respond();
    }
    return errorResponse(new DomainError("NOT_FOUND", "No such route."));
  };
}
