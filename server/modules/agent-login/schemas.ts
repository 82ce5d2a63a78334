import { t } from "elysia";
import { IsoTime, JsonInteger, Nullable } from "../../http/schema-types.ts";

export const LoginRequestParams = t.Object({ id: t.String({ format: "uuid" }) });

/** LIME's site SDK sends `{}`; `redirect_url` is ours, echoed in the `approved` event. */
export const CreateLoginRequestBody = t.Optional(
  t.Object({ redirect_url: t.Optional(t.String({ maxLength: 2048 })) }),
);

/** A missing nonce is MISSING_POW_NONCE (the service decides), so the field is optional here. */
export const ApproveBody = t.Optional(t.Object({ pow_nonce: t.Optional(t.String({ maxLength: 64 })) }));

const siteToken = () => t.Optional(t.String({ description: "The site's token (`lime_site_…`)." }));
export const SiteTokenHeaders = t.Object({ "x-site-token": siteToken() });
export const ApproveHeaders = t.Object({
  "x-agent-token": t.Optional(t.String({ description: "The agent's token (`lime_agent_…`)." })),
  dpop: t.Optional(
    t.String({
      description:
        "Optional: a DPoP-format key proof (RFC 9449 §4) made with one of the agent's active keys, `htm` POST, `htu` `<PUBLIC_URL>/api/v1/modules/agent-login/requests/<id>/approve`, `nonce` the request's `pow_challenge`. With it the site's passport carries `cnf: {jkt}`; a bad proof is refused, never ignored. LIME's clients send none.",
    }),
  ),
});
export const EventStreamHeaders = t.Object({
  "x-site-token": siteToken(),
  "last-event-id": t.Optional(
    t.String({
      description:
        "The `id:` of the last outcome received: the stream first replays every live outcome after it. Without it, every outcome not yet written to any stream. Anything but a decimal integer counts as absent.",
    }),
  ),
});

export const LoginStatus = t.Union([
  t.Literal("PENDING"),
  t.Literal("APPROVED"),
  t.Literal("DELIVERED"),
  t.Literal("EXPIRED"),
]);

export const CreatedLoginRequest = t.Object({
  login_request_id: t.String({ format: "uuid" }),
  site_id: t.String({ format: "uuid" }),
  status: t.Literal("PENDING"),
  expires_at: IsoTime,
  created_at: IsoTime,
  pow_difficulty: JsonInteger({ minimum: 1 }),
});

/** Step 2: what the agent needs to solve and approve (docs/protocol-pow.md). */
export const LoginChallenge = t.Object({
  login_request_id: t.String({ format: "uuid" }),
  status: t.Literal("PENDING", { description: "Only an approvable request is answered." }),
  pow_challenge: t.String({ pattern: "^[0-9a-f]{64}$", description: "32 random bytes, lowercase hex." }),
  pow_difficulty: JsonInteger({ minimum: 1 }),
  pow_algorithm: t.Literal("sha256", {
    description:
      "A nonce (the decimal string of an integer in 0..2^64−1) is valid when SHA-256(pow_challenge + pow_nonce) starts with `pow_difficulty` zero bits.",
  }),
  expires_at: IsoTime,
  site: t.Object(
    { site_id: t.String({ format: "uuid" }), display_name: t.String() },
    { description: "The site the agent is logging in to." },
  ),
});

/** Step 3: the approval, as LIME's agent SDK reads it. */
export const ApprovedLoginRequest = t.Object({
  request_id: t.String({
    format: "uuid",
    description: "The same as `login_request_id` (LIME's agent SDK reads this one).",
  }),
  login_request_id: t.String({ format: "uuid" }),
  site_id: t.String({ format: "uuid" }),
  status: t.Literal("APPROVED"),
  expires_at: IsoTime,
  approved_agent_id: t.String({ format: "uuid", description: "The calling agent." }),
});

/** Step 5: the request as its site reads it. */
export const SiteLoginRequestView = t.Object({
  login_request_id: t.String({ format: "uuid" }),
  site_id: t.String({
    format: "uuid",
    description: "The reading site's own id (the id login passports are bound to).",
  }),
  status: LoginStatus,
  expires_at: IsoTime,
  approved_agent_id: Nullable(t.String({ format: "uuid" })),
  agent_passport_jwt: Nullable(
    t.String({
      description: "The login passport while it is valid (APPROVED or DELIVERED); null otherwise.",
    }),
  ),
  passport_expires_at: Nullable(
    t.String({ format: "date-time", description: "Null whenever the passport is." }),
  ),
  redirect_url: Nullable(t.String({ description: "As given when the request was opened." })),
});

/**
 * Step 4: the JSON of each `data:` line of the event stream. Outcomes carry
 * an `id:` line; keepalives and the error frame do not (they never move the
 * client's Last-Event-ID).
 */
export const LoginStreamEvent = t.Union(
  [
    t.Object(
      {
        type: t.Literal("approved"),
        login_request_id: t.String({ format: "uuid" }),
        agent_passport_jwt: t.String({ description: "The login passport; verify it against the JWKS." }),
        redirect_url: Nullable(t.String()),
      },
      { title: "approved", description: "An agent approved a request of this site. Has an `id:`." },
    ),
    t.Object(
      { type: t.Literal("expired"), login_request_id: t.String({ format: "uuid" }) },
      { title: "expired", description: "A request of this site expired unapproved. Has an `id:`." },
    ),
    t.Object(
      { type: t.Literal("keepalive") },
      { title: "keepalive", description: "Every `SSE_KEEPALIVE_SECONDS` (15). No `id:`." },
    ),
    t.Object(
      {
        type: t.Literal("error"),
        code: t.Union(
          [
            t.Literal("SITE_TOKEN_INVALID"),
            t.Literal("SITE_SUSPENDED"),
            t.Literal("SSE_SLOW_CONSUMER"),
            t.Literal("SERVER_SHUTDOWN"),
            t.Literal("SERVICE_UNAVAILABLE"),
            t.Literal("INTERNAL_ERROR"),
          ],
          { description: "Why the server ends the stream." },
        ),
        message: t.String(),
      },
      {
        title: "error",
        description:
          "The last frame before the server ends the stream; reconnect (what was missed is replayed). No `id:`.",
      },
    ),
  ],
  { description: "The JSON of one `data:` line." },
);
