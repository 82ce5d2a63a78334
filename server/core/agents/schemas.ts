/** The bodies and answers of the agent routes: one source for the API's validation, its types, the portal's forms and the OpenAPI description. */

import { t } from "elysia";
import { IsoTime, JsonInteger, Nullable } from "../../http/schema-types.ts";

export const RegisterAgentBody = t.Object({
  display_name: t.String({ minLength: 1, maxLength: 128 }),
  description: t.Optional(t.Union([t.String({ maxLength: 1000 }), t.Null()])),
  avatar_url: t.Optional(t.Union([t.String({ maxLength: 2048 }), t.Null()])),
});

export const AgentParams = t.Object({ agent_id: t.String({ format: "uuid" }) });

export const AgentTokenHeaders = t.Object({
  "x-agent-token": t.Optional(t.String({ description: "The agent's token (`lime_agent_…`)." })),
});

export const AgentStatus = t.Union([t.Literal("ACTIVE"), t.Literal("REVOKED")]);

/** An agent's reputation score: an integer 0–100 (docs/decisions/agent-reputation.md). */
function reputationScore(description: string) {
  return t.Number({ minimum: 0, maximum: 100, multipleOf: 1, description });
}

/** What the score is made of (server/core/agents/reputation.ts `presentReputation`). */
export const AgentReputation = t.Object(
  {
    score: reputationScore("The score passports carry now, as last computed."),
    computed_at: Nullable(
      t.String({
        format: "date-time",
        description: "When `score` was computed; null before the first time.",
      }),
    ),
    successful_logins: JsonInteger({ minimum: 0 }),
    distinct_sites: JsonInteger({ minimum: 0 }),
    age_days: JsonInteger({ minimum: 0 }),
    recent_rejected_approvals: t.Number({
      minimum: 0,
      description: "Rejected approvals as the count fades (halving every 7 days), to two decimals.",
    }),
    points: t.Object(
      {
        logins: JsonInteger({ minimum: 0, maximum: 40 }),
        sites: JsonInteger({ minimum: 0, maximum: 30 }),
        age: JsonInteger({ minimum: 0, maximum: 30 }),
        rejections: t.Number({ maximum: 0, multipleOf: 1, description: "Zero or negative." }),
      },
      { description: "Each part of the score as of now; their sum, within 0–100, is the next score." },
    ),
  },
  { description: "The score and what it is made of as of now." },
);

const agentFields = {
  agent_id: t.String({ format: "uuid" }),
  owner_id: t.String({ format: "uuid" }),
  display_name: t.String(),
  description: Nullable(t.String()),
  avatar_url: Nullable(t.String({ description: "An https URL." })),
  status: AgentStatus,
  created_at: IsoTime,
  revoked_at: Nullable(IsoTime),
  agent_reputation: reputationScore("The score passports carry (equals `reputation.score`)."),
  reputation: AgentReputation,
};

/** An agent as its owner sees it (`presentAgent`). */
export const AgentView = t.Object(agentFields);

/** An agent with its token, shown once: at registration and at rotation. */
export const AgentWithToken = t.Object({
  ...agentFields,
  agent_token: t.String({
    description: "The agent's `X-Agent-Token` (`lime_agent_…`). Shown only in this answer; store it.",
  }),
});

export const AgentList = t.Object({ agents: t.Array(AgentView) });

/** `GET /api/v1/core/agents/me/profile`, field for field as LIME's agent SDK reads it. */
export const AgentProfile = t.Object({
  agent_id: t.String({ format: "uuid" }),
  owner_id: t.String({ format: "uuid" }),
  display_name: t.String(),
  avatar_url: Nullable(t.String()),
  description: Nullable(t.String()),
  owner_kyc_level: t.Union([t.Literal(0), t.Literal(1), t.Literal(2)], {
    description: "The owner's KYC level now.",
  }),
  agent_reputation: reputationScore("The score passports carry, 0–100."),
});
