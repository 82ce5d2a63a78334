/**
 * Splitting one search across Web Workers (Bun, Deno, browsers) or Node's
 * worker threads. The nonce space is cut into batches of consecutive prefixes,
 * handed out in increasing order; the answer is the hit of the lowest batch
 * once every batch below it has come back empty, so it is the same smallest
 * nonce a single thread finds. Workers still busy above it are terminated.
 *
 * The worker runs a script built from source text (`workerScript`): no file
 * path, no bundler plugin, the kernel arrives in the first message: the
 * compiled module where the caller has it (every engine shares compiled,
 * already optimized code with the workers it is posted to), else its bytes.
 */
import { PowError } from "../errors.ts";
import { isCanonicalNonce } from "./form.ts";
import { type BatchResult, KERNEL_LAYOUT, type KernelExports, SEARCH_FOUND } from "./kernel/abi.ts";
import { type KernelLayout, loadChallenge, runKernelBatch, setPairedDigits } from "./kernel/runner.ts";

export type WorkerRequest =
  | {
      type: "init";
      kernel: Uint8Array | WebAssembly.Module;
      layout: KernelLayout;
      challenge: string;
      mask0: number;
      mask1: number;
      pairedDigits: boolean;
    }
  | { type: "batch"; id: number; prefix: string; count: number };

export type WorkerReply = ({ type: "result"; id: number } & BatchResult) | { type: "error"; message: string };

/** The worker's side of the channel, whatever the runtime calls it. */
export interface WorkerEndpoint {
  post(message: WorkerReply): void;
  listen(handler: (message: WorkerRequest) => void): void;
}

/**
 * The whole worker. Shipped as source text, so it may use only its
 * parameters and globals (the kernel helpers arrive as parameters).
 */
export function workerMain(
  endpoint: WorkerEndpoint,
  load: typeof loadChallenge,
  run: typeof runKernelBatch,
  pair: typeof setPairedDigits,
): void {
  let ready: Promise<{ kernel: KernelExports; init: Extract<WorkerRequest, { type: "init" }> }> | undefined;
  const fail = (error: unknown) => endpoint.post({ type: "error", message: String(error) });
  endpoint.listen((message) => {
    if (message.type === "init") {
      // instantiate() gives an Instance for a module and { instance, module } for bytes.
      ready = WebAssembly.instantiate(message.kernel as Uint8Array<ArrayBuffer>).then((result) => {
        const instance = result instanceof WebAssembly.Instance ? result : result.instance;
        const kernel = instance.exports as unknown as KernelExports;
        pair(kernel, message.layout, message.pairedDigits);
        load(kernel, message.layout, message.challenge);
        return { kernel, init: message };
      });
      ready.catch(fail);
      return;
    }
    // Batches queue behind the instantiation; their order is kept by the promise chain.
    ready!
      .then(({ kernel, init }) => {
        const result = run(kernel, init.layout, message.prefix, message.count, init.mask0, init.mask1);
        endpoint.post({ type: "result", id: message.id, ...result });
      })
      .catch(fail);
  });
}

const WEB_ENDPOINT = `const endpoint = {
  post: (message) => self.postMessage(message),
  listen: (handler) => { self.onmessage = (event) => handler(event.data); },
};`;

// Node's eval workers run as CommonJS, where require is the way in.
const NODE_ENDPOINT = `const { parentPort } = require("node:worker_threads");
const endpoint = {
  post: (message) => parentPort.postMessage(message),
  listen: (handler) => parentPort.on("message", handler),
};`;

/** The self-contained source of a worker, for a Web Worker or a Node worker thread. */
export function workerScript(flavor: "web" | "node"): string {
  const endpoint = flavor === "web" ? WEB_ENDPOINT : NODE_ENDPOINT;
  return `${endpoint}\n(${workerMain})(endpoint, ${loadChallenge}, ${runKernelBatch}, ${setPairedDigits});\n`;
}

export interface WorkerListeners {
  message(reply: WorkerReply): void;
  error(error: unknown): void;
}

export interface WorkerHandle {
  post(request: WorkerRequest): void;
  terminate(): void;
}

/** Starts one worker running `workerScript`. */
export type SpawnWorker = (listeners: WorkerListeners) => Promise<WorkerHandle>;

export interface WebWorkerScope {
  Worker: typeof Worker;
  Blob: typeof Blob;
  URL: Pick<typeof URL, "createObjectURL">;
}

/** Web Workers from a Blob URL of the script: Bun, Deno (module workers only) and browsers. */
export function webWorkerSpawner(scope: WebWorkerScope): SpawnWorker {
  let url: string | undefined;
  return async (listeners) => {
    url ??= scope.URL.createObjectURL(new scope.Blob([workerScript("web")], { type: "text/javascript" }));
    const worker = new scope.Worker(url, { type: "module" });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => listeners.message(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      // A script that never loaded (CSP worker-src, an opaque origin) fires a plain Event without a message.
      listeners.error(event.message || "the worker script did not load");
    };
    return { post: (request) => worker.postMessage(request), terminate: () => worker.terminate() };
  };
}

interface NodeWorker {
  on(event: "message", listener: (reply: WorkerReply) => void): void;
  on(event: "error", listener: (error: unknown) => void): void;
  postMessage(request: WorkerRequest): void;
  terminate(): Promise<number>;
}

/**
 * Node's worker threads, for Node 20 which has no global `Worker`. The module
 * is imported through `importModule` with a computed specifier so `core/`
 * carries no Node types and bundlers for the browser leave it alone.
 */
export function nodeWorkerSpawner(importModule: (specifier: string) => Promise<unknown>): SpawnWorker {
  return async (listeners) => {
    const threads = (await importModule(["node", "worker_threads"].join(":"))) as {
      Worker: new (source: string, options: { eval: true }) => NodeWorker;
    };
    const worker = new threads.Worker(workerScript("node"), { eval: true });
    worker.on("message", listeners.message);
    worker.on("error", listeners.error);
    return {
      post: (request) => worker.postMessage(request),
      terminate: () => {
        void worker.terminate();
      },
    };
  };
}

interface SpawnScope extends Partial<WebWorkerScope> {
  process?: { versions?: { node?: string } };
}

/** The spawner this runtime supports, or undefined where there are no workers at all. */
export function defaultSpawner(scope: SpawnScope): SpawnWorker | undefined {
  const { Worker: WorkerCtor, Blob: BlobCtor, URL: UrlApi } = scope;
  if (WorkerCtor && BlobCtor && UrlApi?.createObjectURL) {
    return webWorkerSpawner({ Worker: WorkerCtor, Blob: BlobCtor, URL: UrlApi });
  }
  if (scope.process?.versions?.node) return nodeWorkerSpawner((specifier) => import(specifier));
  return undefined;
}

export interface WorkerSearch {
  challenge: string;
  mask0: number;
  mask1: number;
  bytes: Uint8Array;
  /** The kernel compiled from `bytes`, sent instead of them when given. */
  module?: WebAssembly.Module | undefined;
  /** The SIMD kernel's step width (`setPairedDigits`); one digit per step when absent. */
  pairedDigits?: boolean | undefined;
  workers: number;
  /** Prefixes per batch (each prefix is ten nonces); a multiple of 4 keeps SIMD groups aligned. */
  batchPrefixes: number;
  startPrefix: bigint;
  /** The last prefix to search (inclusive). */
  lastPrefix: bigint;
  spawn: SpawnWorker;
  signal?: AbortSignal | undefined;
  onProgress?: ((hashes: number) => void) | undefined;
}

/** How many batches each worker holds at once: one running, one queued behind it. */
const BATCHES_IN_FLIGHT = 2;

/**
 * Runs the search across `workers` workers and resolves to the smallest valid
 * nonce from `startPrefix` on, with the hashes all workers tried.
 */
export function searchInWorkers(search: WorkerSearch): Promise<{ nonce: string; hashes: number }> {
  const { batchPrefixes, startPrefix, signal, onProgress } = search;
  const batchCount = Number((search.lastPrefix - startPrefix) / BigInt(batchPrefixes)) + 1;
  return new Promise((resolve, reject) => {
    const handles: WorkerHandle[] = [];
    const busy: number[] = [];
    const completed = new Set<number>();
    let nextBatch = 0;
    let lowestOpen = 0;
    let best: { batch: number; nonce: string } | undefined;
    let hashes = 0;
    let settled = false;

    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      for (const handle of handles) handle.terminate();
      outcome();
    };
    const fail = (error: unknown) => finish(() => reject(error));
    function onAbort() {
      fail(new PowError("POW_ABORTED", "the proof-of-work search was aborted", { cause: signal?.reason }));
    }

    const assign = (worker: number) => {
      while (
        busy[worker]! < BATCHES_IN_FLIGHT &&
        nextBatch < batchCount &&
        !(best && nextBatch > best.batch)
      ) {
        const first = startPrefix + BigInt(nextBatch) * BigInt(batchPrefixes);
        const remaining = search.lastPrefix - first + 1n;
        const count = remaining < BigInt(batchPrefixes) ? Number(remaining) : batchPrefixes;
        handles[worker]!.post({
          type: "batch",
          id: nextBatch,
          prefix: first === 0n ? "" : String(first),
          count,
        });
        busy[worker]! += 1;
        nextBatch += 1;
      }
    };

    const onReply = (worker: number, reply: WorkerReply) => {
      if (settled) return;
      if (reply.type === "error") {
        fail(new PowError("POW_WORKER_FAILED", `a proof-of-work worker failed: ${reply.message}`));
        return;
      }
      busy[worker]! -= 1;
      hashes += reply.hashes;
      completed.add(reply.id);
      // A hit past 2^64 - 1 can only come from the last batch, where nothing valid is left.
      if (
        reply.status === SEARCH_FOUND &&
        isCanonicalNonce(reply.nonce) &&
        !(best && best.batch < reply.id)
      ) {
        best = { batch: reply.id, nonce: reply.nonce };
      }
      while (completed.delete(lowestOpen)) lowestOpen += 1;
      try {
        onProgress?.(hashes);
      } catch (error) {
        fail(error);
        return;
      }
      if (best && lowestOpen > best.batch) {
        const found = { nonce: best.nonce, hashes };
        finish(() => resolve(found));
      } else if (!best && lowestOpen >= batchCount) {
        fail(new PowError("POW_EXHAUSTED", "no valid nonce up to 2^64 - 1"));
      } else {
        assign(worker);
      }
    };

    const start = async () => {
      for (let worker = 0; worker < search.workers; worker++) {
        const handle = await search.spawn({
          message: (reply) => onReply(worker, reply),
          error: (error) =>
            fail(new PowError("POW_WORKER_FAILED", `a proof-of-work worker failed: ${String(error)}`)),
        });
        handles.push(handle);
        busy.push(0);
        if (settled) {
          handle.terminate();
          return;
        }
        const init = (kernel: Uint8Array | WebAssembly.Module): WorkerRequest => ({
          type: "init",
          kernel,
          layout: KERNEL_LAYOUT,
          challenge: search.challenge,
          mask0: search.mask0,
          mask1: search.mask1,
          pairedDigits: search.pairedDigits ?? false,
        });
        try {
          handle.post(init(search.module ?? search.bytes));
        } catch (error) {
          // An engine that cannot clone a module (DataCloneError) still takes the bytes.
          if (!search.module) throw error;
          handle.post(init(search.bytes));
        }
        assign(worker);
      }
    };

    signal?.addEventListener("abort", onAbort);
    if (signal?.aborted) onAbort();
    start().catch((error) =>
      fail(
        new PowError("POW_WORKER_FAILED", `could not start a proof-of-work worker: ${String(error)}`, {
          cause: error,
        }),
      ),
    );
  });
}
