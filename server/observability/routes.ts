/**
 * Where `/health`, `/ready` and `/metrics` are served: as routes of the
 * public app; the operations listener (`METRICS_PORT`) answers `/ready` and
 * `/metrics` and nothing else.
 */

import { Elysia, t } from "elysia";
import { DomainError } from "../errors.ts";
import { answers, Envelope, failureResponses, PUBLIC } from "../http/contract.ts";
import { ok } from "../http/envelope.ts";
import { errorResponse } from "../http/error-boundary.ts";
import type { RequestHandler } from "../http/transport.ts";
import type { MetricsEndpoint } from "./metrics-endpoint.ts";
import type { Readiness } from "./readiness.ts";

/** `GET /health`: the process is alive. */
export const Liveness = t.Object({ status: t.Literal("ok") });

/** `GET /ready` when every required check passed (readiness.ts). */
export const ReadinessReport = t.Object({
  status: t.Union([t.Literal("ready"), t.Literal("degraded")], {
    description: "`degraded`: a check the instance can serve without (Redis) failed; it still takes traffic.",
  }),
  checks: t.Record(t.String(), t.Union([t.Literal("ok"), t.Literal("failed"), t.Literal("timed_out")]), {
    description: "Each check by name (`database`, `signing_keys`, `redis`, …) and how it went.",
  }),
  degraded: t.Array(t.String(), { description: "The optional checks that did not pass." }),
});

export function observabilityRoutes(readiness: Readiness, metrics: MetricsEndpoint) {
  return (
    new Elysia({ name: "lime-observability" })
      .get("/health", () => ok({ status: "ok" as const }), {
        response: answers(200, Liveness, []),
        detail: {
          summary: "Liveness",
          description: "The process is alive; says nothing of its dependencies (see `/ready`).",
          operationId: "getHealth",
          security: PUBLIC,
        },
      })
      // A prepared Response, which Elysia does not check: described by hand from the same models.
      .get("/ready", () => readiness.respond(), {
        detail: {
          summary: "Readiness",
          description:
            "Whether this instance can serve traffic: the database answers and a signing key is usable. " +
            "503 NOT_READY with `Retry-After: 5` and `detail.failing` (comma-separated check names) otherwise.",
          operationId: "getReadiness",
          security: PUBLIC,
          responses: {
            200: {
              description: "Ready, or degraded (an optional dependency is down)",
              content: { "application/json": { schema: Envelope(ReadinessReport) } },
            },
            ...failureResponses(["NOT_READY"]),
          },
        },
      })
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
