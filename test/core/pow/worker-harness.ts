// Runs workerMain on the test's own thread behind a message channel that only
// mimics the transport (async delivery, no shared objects), so the worker's
// code is exercised where coverage can see it. Real workers are tested too.
import { loadChallenge, runKernelBatch, setSimdStep } from "../../../core/pow/kernel/runner.ts";
import {
  type SpawnWorker,
  type WorkerReply,
  type WorkerRequest,
  workerMain,
} from "../../../core/pow/workers.ts";

export function inProcessSpawner(hooks: { onSpawn?: (count: number) => void } = {}) {
  let spawned = 0;
  let terminated = 0;
  const spawn: SpawnWorker = async (listeners) => {
    let handler: ((request: WorkerRequest) => void) | undefined;
    let alive = true;
    workerMain(
      {
        post: (reply: WorkerReply) => setTimeout(() => alive && listeners.message(structuredClone(reply)), 0),
        listen: (h) => {
          handler = h;
        },
      },
      loadChallenge,
      runKernelBatch,
      setSimdStep,
    );
    spawned += 1;
    hooks.onSpawn?.(spawned);
    return {
      post: (request) => setTimeout(() => alive && handler!(structuredClone(request)), 0),
      terminate: () => {
        alive = false;
        terminated += 1;
      },
    };
  };
  return { spawn, spawned: () => spawned, terminated: () => terminated };
}
