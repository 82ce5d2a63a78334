import type { OutcomeEvent, OutcomeFanout } from "../../modules/agent-login/store.ts";

type Listener = (event: OutcomeEvent) => void;

/**
 * The listeners of this process, per site: what both fan-outs deliver to.
 * A listener that throws is reported and does not stop the others (nor the
 * approval that published the outcome).
 */
export function createSiteListeners(onListenerError: (error: unknown, event: OutcomeEvent) => void) {
  const listeners = new Map<string, Set<Listener>>();
  return {
    dispatch(event: OutcomeEvent): void {
      for (const listener of [...(listeners.get(event.siteId) ?? [])]) {
        try {
          listener(event);
        } catch (error) {
          onListenerError(error, event);
        }
      }
    },
    subscribe(siteId: string, listener: Listener): () => void {
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
    has: (siteId: string) => listeners.has(siteId),
    siteIds: () => [...listeners.keys()],
    clear: () => listeners.clear(),
  };
}

/** In-process fan-out of login outcomes to the open streams of each site. */
export function createMemoryOutcomeFanout(
  onListenerError: (error: unknown, event: OutcomeEvent) => void = () => {},
): OutcomeFanout {
  const local = createSiteListeners(onListenerError);
  return { publish: local.dispatch, subscribe: local.subscribe };
}
