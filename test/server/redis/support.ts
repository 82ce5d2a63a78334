import type { Clock } from "../../../server/clock.ts";
import type { LogFields, Logger, LogLevel } from "../../../server/infrastructure/logger.ts";
import type { Stores } from "../../../server/infrastructure/sqlite/stores.ts";
import type { OutcomeEvent, OutcomeFanout } from "../../../server/modules/agent-login/store.ts";
import { loginRequest, site, user } from "../stores/conformance.ts";

export interface CapturingLogger extends Logger {
  entries: Array<{ level: LogLevel; message: string; fields?: LogFields }>;
}

/** Keeps what is logged, so a test can check that an outage is reported once and not per request. */
export function capturingLogger(): CapturingLogger {
  const entries: CapturingLogger["entries"] = [];
  const at = (level: LogLevel) => (message: string, fields?: LogFields) => {
    entries.push({ level, message, fields });
  };
  return { entries, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A real `approved` outcome in the store (owner, site, request, approval), as the approval step leaves it. */
export async function approvedOutcome(stores: Stores, clock: Clock): Promise<OutcomeEvent> {
  const owner = user();
  await stores.users.create(owner);
  const record = site(owner.id);
  await stores.sites.create(record);
  const now = clock.now();
  const id = crypto.randomUUID();
  await stores.agentLogin.create(
    loginRequest(record.id, {
      id,
      powDifficulty: 8,
      redirectUrl: "https://shop.example/done",
      createdAt: now,
      expiresAt: now + 300_000,
    }),
  );
  const approved = await stores.agentLogin.approve({
    id,
    agentId: crypto.randomUUID(),
    passportJwt: `eyJhbGciOiJSUzI1NiJ9.${crypto.randomUUID()}.signature`,
    passportExpiresAt: now + 60_000,
    now,
  });
  return approved!.event;
}

/**
 * Subscribes to a site and collects what arrives; `next()` waits for the next
 * outcome. The wait is generous: how fast Redis delivers on a busy machine is
 * not what these tests judge, only whether it delivers.
 */
export function collect(fanout: OutcomeFanout, siteId: string) {
  const events: OutcomeEvent[] = [];
  let wake = () => {};
  fanout.subscribe(siteId, (event) => {
    events.push(event);
    wake();
  });
  return {
    events,
    async next(timeoutMs = 15_000): Promise<OutcomeEvent> {
      const seen = events.length;
      const deadline = Date.now() + timeoutMs;
      while (events.length === seen) {
        if (Date.now() > deadline) throw new Error("no outcome arrived");
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return events[seen]!;
    },
  };
}
