import type { OutcomeEvent, OutcomeFanout } from "../../modules/agent-login/store.ts";

/** In-process fan-out of login outcomes to the open streams of each site. */
export function createMemoryOutcomeFanout(): OutcomeFanout {
  const listeners = new Map<string, Set<(event: OutcomeEvent) => void>>();
  return {
    publish(event) {
      const set = listeners.get(event.siteId);
      if (!set) return;
      for (const listener of [...set]) listener(event);
    },
    subscribe(siteId, listener) {
      let set = listeners.get(siteId);
      if (!set) {
        set = new Set();
        listeners.set(siteId, set);
      }
      set.add(listener);
      return () => {
        const current = listeners.get(siteId);
        if (!current) return;
        current.delete(listener);
        if (current.size === 0) listeners.delete(siteId);
      };
    },
  };
}
