import { t } from "elysia";
import { IsoTime, JsonInteger } from "../../http/schema-types.ts";

export const LoginRequestParams = t.Object({ id: t.String({ format: "uuid" }) });

/** LIME's site SDK sends `{}`; `redirect_url` is ours, echoed in the `approved` event. */
export const CreateLoginRequestBody = t.Optional(
  t.Object({ redirect_url: t.Optional(t.String({ maxLength: 2048 })) }),
);

/** A missing nonce is MISSING_POW_NONCE (the service decides), so the field is optional here. */
export const ApproveBody = t.Optional(t.Object({ pow_nonce: t.Optional(t.String({ maxLength: 64 })) }));

export const SiteTokenHeaders = t.Object({ "x-site-token": t.Optional(t.String()) });
export const AgentTokenHeaders = t.Object({ "x-agent-token": t.Optional(t.String()) });
export const EventStreamHeaders = t.Object({
  "x-site-token": t.Optional(t.String()),
  "last-event-id": t.Optional(t.String()),
});

export const LoginStatus = t.Union([
  t.Literal("PENDING"),
  t.Literal("APPROVED"),
  t.Literal("DELIVERED"),
  t.Literal("EXPIRED"),
]);

export const CreatedLoginRequest = t.Object({
  login_request_id: t.String({ format: "uuid" }),
  site_id: t.String(),
  status: LoginStatus,
  expires_at: IsoTime,
  created_at: IsoTime,
  pow_difficulty: JsonInteger({ minimum: 1 }),
});
