/**
 * One timer for the keepalives of every event stream in the process.
 *
 * A timer per stream cost memory and a wake-up each; one timer firing for
 * every stream at once would instead send 20,000 keepalives (and their token
 * re-checks) in one burst. So members are spread over `slots` groups and the
 * timer visits one group per tick: each member beats once per period, and a
 * new member first beats between (1 - 1/slots) and 1 period after it joined,
 * never later than a timer of its own would have.
 */

/** What beats: an event stream (an object, so a stream needs no closure of its own for it). */
export interface HeartbeatMember {
  beat(): void;
}

export interface Heartbeat {
  /** Calls `member.beat()` once per period until it `leave`s. */
  join(member: HeartbeatMember): void;
  /**
   * Stops beating `member` (again is harmless). It searches the groups, at
   * most 16, rather than have `join` hand out a closure per member.
   */
  leave(member: HeartbeatMember): void;
  /** Members now (for tests). */
  size(): number;
}

/** The shortest tick: below it, periods get a single group (tests use periods of a few ms). */
const MIN_TICK_MS = 50;
const MAX_SLOTS = 16;

/** The timer functions the heartbeat uses; tests pass their own to tick by hand. */
export interface HeartbeatTimer {
  start(tick: () => void, everyMs: number): unknown;
  stop(handle: unknown): void;
}

const realTimer: HeartbeatTimer = {
  start: (tick, everyMs) => setInterval(tick, everyMs),
  stop: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

export function createHeartbeat(periodMs: number, timer: HeartbeatTimer = realTimer): Heartbeat {
  const slotCount = Math.max(1, Math.min(MAX_SLOTS, Math.floor(periodMs / MIN_TICK_MS)));
  const slots = Array.from({ length: slotCount }, () => new Set<HeartbeatMember>());
  let cursor = 0;
  let members = 0;
  let running: unknown;

  const tick = () => {
    cursor = (cursor + 1) % slotCount;
    // A copy: a beat may end its stream, which leaves the group mid-visit.
    for (const member of [...slots[cursor]!]) member.beat();
  };

  return {
    join(member) {
      // The group just visited: its next visit is a whole period away.
      if (slots.some((slot) => slot.has(member))) return;
      const slot = slots[cursor]!;
      slot.add(member);
      members += 1;
      // Running only while there are members, as the per-stream timers did: an idle process has none.
      if (members === 1) running = timer.start(tick, periodMs / slotCount);
    },
    leave(member) {
      if (!slots.some((slot) => slot.delete(member))) return;
      members -= 1;
      if (members === 0) timer.stop(running);
    },
    size: () => members,
  };
}
