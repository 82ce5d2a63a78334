/**
 * A macrotask boundary between solver batches, so timers, I/O and abort
 * events run. `setTimeout(0)` alone is clamped to 1 ms in Node and 4 ms in
 * nested browser timers, which would cost a visible share of a 10 ms solve;
 * `setImmediate` (Node, Bun) and a MessageChannel round trip (browsers, Deno)
 * do not wait.
 */
export interface YieldScope {
  setImmediate?: (callback: () => void) => unknown;
  MessageChannel?: typeof MessageChannel;
  setTimeout: (callback: () => void, ms: number) => unknown;
}

export function createYield(scope: YieldScope): () => Promise<void> {
  const { setImmediate, MessageChannel: Channel } = scope;
  if (setImmediate) return () => new Promise((resolve) => setImmediate(resolve));
  if (Channel) {
    return () =>
      new Promise((resolve) => {
        const channel = new Channel();
        channel.port1.onmessage = () => {
          // Closing the ports lets Deno and Node exit: an open port keeps them alive.
          channel.port1.close();
          channel.port2.close();
          resolve();
        };
        channel.port2.postMessage(null);
      });
  }
  return () => new Promise((resolve) => scope.setTimeout(resolve, 0));
}

export const yieldToEventLoop = createYield(globalThis as unknown as YieldScope);
