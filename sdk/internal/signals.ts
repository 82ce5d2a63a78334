/**
 * AbortSignal plumbing that behaves the same in every runtime we target.
 * `AbortSignal.any` is missing from older Safari and early Node 20 minors,
 * so combination is done by hand; listeners are removed on cleanup so a
 * long-lived caller signal does not accumulate one listener per request.
 */
import { LimeSdkError } from "../errors.ts";

export interface LinkedSignal {
  signal: AbortSignal;
  /** Detaches from the parents and clears the timer; call it in `finally`. */
  dispose(): void;
}

/** A signal that aborts when any parent aborts or after `timeoutMs` (if given). */
export function linkSignals(parents: (AbortSignal | undefined)[], timeoutMs?: number): LinkedSignal {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = () => controller.abort(parent.reason);
    parent.addEventListener("abort", onAbort, { once: true });
    cleanups.push(() => parent.removeEventListener("abort", onAbort));
  }
  if (timeoutMs !== undefined && !controller.signal.aborted) {
    const timer = setTimeout(
      () => controller.abort(new LimeSdkError("SDK_TIMEOUT", `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    cleanups.push(() => clearTimeout(timer));
  }
  return {
    signal: controller.signal,
    dispose() {
      for (const cleanup of cleanups.splice(0)) cleanup();
    },
  };
}

/** The typed error for an aborted signal: the reason if it is already ours, else SDK_ABORTED. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof LimeSdkError) return reason;
  return new LimeSdkError("SDK_ABORTED", "the operation was aborted", { cause: reason });
}

/** Resolves after `ms`, or rejects with the abort error as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
