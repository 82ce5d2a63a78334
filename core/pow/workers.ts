/**
 * Splitting one search across Web Workers (Bun, Deno, browsers) or Node's
 * worker threads. The nonce space is cut into batches of consecutive prefixes,
 * handed out in increasing order; the answer is the hit of the lowest batch
 * once every batch below it has come back empty, so it is the same smallest
 * nonce a single thread finds.
 *
 * A `WorkerPool` keeps its workers, each with the kernel instantiated, from
 * one search to the next: starting a worker costs more than a whole
 * difficulty-15 search, so a caller that solves often keeps a pool
 * (`createSolver`), and `searchInWorkers` is a pool used once.
 *
 * The worker runs a script built from source text (`workerScript`): no file
 * path, no bundler plugin, the kernel arrives in the first message: the
 * compiled module where the caller has it (every engine shares compiled,
 * already optimized code with the workers it is posted to), else its bytes.
 */
import { PowError } from "../errors.ts";
import { isCanonicalNonce } from "./form.ts";
import {
  type BatchResult,
  KERNEL_LAYOUT,
  type KernelExports,
  SEARCH_FOUND,
  type SimdStep,
} from "./kernel/abi.ts";
import { type KernelLayout, loadChallenge, runKernelBatch, setSimdStep } from "./kernel/runner.ts";

export type WorkerRequest =
  | { type: "init"; kernel: Uint8Array | WebAssembly.Module; layout: KernelLayout; simdStep: SimdStep }
  | { type: "challenge"; search: number; challenge: string; mask0: number; mask1: number }
  | { type: "batch"; search: number; id: number; prefix: string; count: number }
  | {
      type: "hunt";
      search: number;
      challenge: string;
      mask0: number;
      mask1: number;
      /** Shared with the pool and the other workers; see `HUNT_CELLS`. */
      cells: BigInt64Array;
      startPrefix: bigint;
      lastPrefix: bigint;
      batchPrefixes: number;
    };

export type WorkerReply =
  | ({ type: "result"; search: number; id: number } & BatchResult)
  | { type: "hunted"; search: number; hashes: number; batch: bigint; nonce: string }
  | { type: "error"; message: string };

/**
 * The cells of one hunt, in a SharedArrayBuffer: each worker claims the next
 * batch itself (an atomic add), so a search costs one message to each worker
 * and one back, not two per batch. A worker stops at `stop`, past the last
 * batch, or past the lowest batch with a hit (it finishes the batch it holds
 * first, so every batch below the answer is hashed).
 */
export const HUNT_CELLS = {
  /** 1 once the pool no longer wants this search (answered, aborted, failed). */
  stop: 0,
  /** The next unclaimed batch. */
  next: 1,
  /** The lowest batch with a hit so far; 2^63 - 1 while none. */
  best: 2,
  /** Hashes done by all workers, for progress. */
  hashes: 3,
} as const;

const NO_HIT = 2n ** 63n - 1n;

/** The worker's side of the channel, whatever the runtime calls it. */
export interface WorkerEndpoint {
  post(message: WorkerReply): void;
  listen(handler: (message: WorkerRequest) => void): void;
}

/**
 * The whole worker. Shipped as source text, so it may use only its
 * parameters and globals (the kernel helpers arrive as parameters; the
 * hunt's cell indices are written out: 0 stop, 1 next, 2 best, 3 hashes).
 */
export function workerMain(
  endpoint: WorkerEndpoint,
  load: typeof loadChallenge,
  run: typeof runKernelBatch,
  setStep: typeof setSimdStep,
): void {
  let ready: Promise<KernelExports> | undefined;
  let layout: KernelLayout;
  let masks = [0, 0];
  const fail = (error: unknown) => endpoint.post({ type: "error", message: String(error) });

  const hunt = (kernel: KernelExports, job: Extract<WorkerRequest, { type: "hunt" }>) => {
    const { cells, batchPrefixes } = job;
    load(kernel, layout, job.challenge);
    let hashes = 0;
    let found = { batch: -1n, nonce: "" };
    while (Atomics.load(cells, 0) === 0n) {
      const batch = Atomics.add(cells, 1, 1n);
      const first = job.startPrefix + batch * BigInt(batchPrefixes);
      if (first > job.lastPrefix || batch > Atomics.load(cells, 2)) break;
      const left = job.lastPrefix - first + 1n;
      const count = left < BigInt(batchPrefixes) ? Number(left) : batchPrefixes;
      const result = run(kernel, layout, first === 0n ? "" : String(first), count, job.mask0, job.mask1);
      hashes += result.hashes;
      Atomics.add(cells, 3, BigInt(result.hashes));
      if (result.status === 1) {
        // This worker's claims only grow, so its first hit is its lowest.
        found = { batch, nonce: result.nonce };
        // An atomic minimum: retried while another worker lowered it in between.
        let seen = Atomics.load(cells, 2);
        while (batch < seen) {
          seen = Atomics.compareExchange(cells, 2, seen, batch) === seen ? batch : Atomics.load(cells, 2);
        }
        break;
      }
    }
    endpoint.post({ type: "hunted", search: job.search, hashes, ...found });
  };

  endpoint.listen((message) => {
    if (message.type === "init") {
      layout = message.layout;
      // instantiate() gives an Instance for a module and { instance, module } for bytes.
      ready = WebAssembly.instantiate(message.kernel as Uint8Array<ArrayBuffer>).then((result) => {
        const instance = result instanceof WebAssembly.Instance ? result : result.instance;
        const kernel = instance.exports as unknown as KernelExports;
        setStep(kernel, layout, message.simdStep);
        return kernel;
      });
      ready.catch(fail);
      return;
    }
    // Later messages queue behind the instantiation; their order is kept by the promise chain.
    ready!
      .then((kernel) => {
        if (message.type === "hunt") return hunt(kernel, message);
        if (message.type === "challenge") {
          load(kernel, layout, message.challenge);
          masks = [message.mask0, message.mask1];
          return;
        }
        const result = run(kernel, layout, message.prefix, message.count, masks[0]!, masks[1]!);
        endpoint.post({ type: "result", search: message.search, id: message.id, ...result });
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
  return `${endpoint}\n(${workerMain})(endpoint, ${loadChallenge}, ${runKernelBatch}, ${setSimdStep});\n`;
}

export interface WorkerListeners {
  message(reply: WorkerReply): void;
  error(error: unknown): void;
}

export interface WorkerHandle {
  post(request: WorkerRequest): void;
  terminate(): void;
  /**
   * Whether the worker keeps the process alive (Node, Bun; browsers and Deno
   * have no such switch): an idle pool must not hold a finished program open.
   */
  keepAlive?(alive: boolean): void;
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
    // Bun's Worker has Node's ref/unref; the standard one does not.
    const refs = worker as Partial<Record<"ref" | "unref", () => void>>;
    return {
      post: (request) => worker.postMessage(request),
      terminate: () => worker.terminate(),
      keepAlive: (alive) => (alive ? refs.ref?.() : refs.unref?.()),
    };
  };
}

interface NodeWorker {
  on(event: "message", listener: (reply: WorkerReply) => void): void;
  on(event: "error", listener: (error: unknown) => void): void;
  postMessage(request: WorkerRequest): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
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
      keepAlive: (alive) => (alive ? worker.ref() : worker.unref()),
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

/** The kernel a pool's workers instantiate, each once. */
export interface PoolKernel {
  bytes: Uint8Array;
  /** The kernel compiled from `bytes`, sent instead of them when given. */
  module?: WebAssembly.Module | undefined;
  /** How the SIMD kernel runs its steps (`setSimdStep`); `single` when absent. */
  simdStep?: SimdStep | undefined;
}

export interface PoolSearch {
  challenge: string;
  mask0: number;
  mask1: number;
  /** Prefixes per batch (each prefix is ten nonces); a multiple of 4 keeps SIMD groups aligned. */
  batchPrefixes: number;
  startPrefix: bigint;
  /** The last prefix to search (inclusive). */
  lastPrefix: bigint;
  signal?: AbortSignal | undefined;
  onProgress?: ((hashes: number) => void) | undefined;
}

export interface WorkerSearch extends WorkerPoolOptions, PoolSearch {}

export interface PoolSolution {
  nonce: string;
  hashes: number;
}

/** The search running on a pool, told about its workers and their replies. */
interface ActiveSearch {
  started(worker: number): void;
  reply(worker: number, reply: Exclude<WorkerReply, { type: "error" }>): void;
  fail(error: unknown): void;
}

/** Without shared memory: batches each worker holds at once, one running and one queued behind it. */
const BATCHES_IN_FLIGHT = 2;
/** How often a hunt reports progress, read from the shared hash count. */
const PROGRESS_INTERVAL_MS = 16;

/**
 * Whether workers can share memory here: everywhere but a browser page
 * without cross-origin isolation, where posting a SharedArrayBuffer throws.
 */
export function canShareMemory(scope: { crossOriginIsolated?: boolean } = globalThis): boolean {
  return typeof SharedArrayBuffer === "function" && scope.crossOriginIsolated !== false;
}

const workerFailed = (message: string, cause?: unknown) =>
  new PowError("POW_WORKER_FAILED", message, cause === undefined ? undefined : { cause });

/** A worker that failed, threw or could not be posted to: the pool's one way to say so. */
const workerFailedWith = (error: unknown) =>
  workerFailed(`a proof-of-work worker failed: ${String(error)}`, error);

export const solverClosed = () => new PowError("POW_SOLVER_CLOSED", "the proof-of-work solver was closed");

export interface WorkerPoolOptions extends PoolKernel {
  workers: number;
  spawn: SpawnWorker;
  /** Hunt over shared memory (default: where `canShareMemory`), else one message per batch. */
  sharedMemory?: boolean | undefined;
}

/**
 * Workers kept across searches, one search at a time (later ones wait their
 * turn). Workers start on the first search, each with the kernel
 * instantiated once; a search then costs one message to each worker and one
 * back where memory can be shared, else two per batch. Idle workers do not
 * keep the process alive where the runtime allows it (Node, Bun); elsewhere
 * `close` them. A worker that fails takes the whole pool down with
 * `POW_WORKER_FAILED`; the next search starts fresh workers.
 */
export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #shared: boolean;
  #workers: WorkerHandle[] = [];
  #starting: Promise<void> | undefined;
  /** Bumped at every teardown, so a torn-down worker's late messages are ignored. */
  #generation = 0;
  #searches = 0;
  #active: ActiveSearch | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** A one-shot pool (`searchInWorkers`) closes itself the moment its search settles. */
  readonly #closeAfterSearch: boolean;

  constructor(options: WorkerPoolOptions, closeAfterSearch = false) {
    this.#options = options;
    this.#shared = options.sharedMemory ?? canShareMemory();
    this.#closeAfterSearch = closeAfterSearch;
  }

  /** The smallest valid nonce from `startPrefix` on, with the hashes all workers tried. */
  search(search: PoolSearch): Promise<PoolSolution> {
    const run = this.#queue.then(() => this.#run(search));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Terminates the workers; a search still running or waiting rejects with `POW_SOLVER_CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#teardown(solverClosed());
  }

  #teardown(error: PowError): void {
    this.#generation += 1;
    for (const handle of this.#workers) handle.terminate();
    this.#workers = [];
    this.#starting = undefined;
    this.#active?.fail(error);
  }

  /** Spawns the missing workers one by one; each is put to work as soon as it is up. */
  #start(): Promise<void> {
    this.#starting ??= (async () => {
      const generation = this.#generation;
      for (let index = this.#workers.length; index < this.#options.workers; index++) {
        const handle = await this.#options.spawn({
          message: (reply) => generation === this.#generation && this.#onReply(index, reply),
          error: (error) => generation === this.#generation && this.#teardown(workerFailedWith(error)),
        });
        if (this.#closed || generation !== this.#generation) {
          handle.terminate();
          return;
        }
        this.#workers.push(handle);
        this.#init(handle);
        if (this.#active) this.#active.started(index);
        else handle.keepAlive?.(false);
      }
    })();
    return this.#starting;
  }

  #init(handle: WorkerHandle): void {
    const { bytes, module, simdStep } = this.#options;
    const init = (kernel: Uint8Array | WebAssembly.Module): WorkerRequest => ({
      type: "init",
      kernel,
      layout: KERNEL_LAYOUT,
      simdStep: simdStep ?? "single",
    });
    try {
      handle.post(init(module ?? bytes));
    } catch (error) {
      // An engine that cannot clone a module (DataCloneError) still takes the bytes.
      if (!module) throw error;
      handle.post(init(bytes));
    }
  }

  #onReply(worker: number, reply: WorkerReply): void {
    if (reply.type === "error") {
      this.#teardown(workerFailed(`a proof-of-work worker failed: ${reply.message}`));
      return;
    }
    try {
      this.#active?.reply(worker, reply);
    } catch (error) {
      // A message that cannot be posted leaves the workers in an unknown state.
      this.#teardown(workerFailedWith(error));
    }
  }

  #run(search: PoolSearch): Promise<PoolSolution> {
    if (this.#closed) return Promise.reject(solverClosed());
    const id = ++this.#searches;
    const { signal } = search;
    return new Promise((resolve, reject) => {
      let settled = false;
      let active: Strategy | undefined;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        this.#active = undefined;
        signal?.removeEventListener("abort", onAbort);
        active?.cleanUp();
        if (this.#closeAfterSearch) this.close();
        for (const handle of this.#workers) handle.keepAlive?.(false);
        outcome();
      };
      const fail = (error: unknown) => finish(() => reject(error));
      const succeed = (found: PoolSolution) => finish(() => resolve(found));
      function onAbort() {
        fail(new PowError("POW_ABORTED", "the proof-of-work search was aborted", { cause: signal?.reason }));
      }

      const strategy = this.#shared ? huntSearch : batchSearch;
      active = strategy(id, search, { fail, succeed, worker: (index) => this.#workers[index]! });
      this.#active = active;
      signal?.addEventListener("abort", onAbort);
      if (signal?.aborted) onAbort();
      try {
        for (let worker = 0; worker < this.#workers.length && !settled; worker++) active.started(worker);
      } catch (error) {
        this.#teardown(workerFailedWith(error));
      }
      if (!settled) {
        this.#start().catch((error) =>
          this.#teardown(workerFailed(`could not start a proof-of-work worker: ${String(error)}`, error)),
        );
      }
    });
  }
}

/** What a search strategy gets from the pool. */
interface SearchContext {
  worker(index: number): WorkerHandle;
  succeed(found: PoolSolution): void;
  fail(error: unknown): void;
}

interface Strategy extends ActiveSearch {
  /** Runs once when the search settles, however it settles. */
  cleanUp(): void;
}

const exhausted = () => new PowError("POW_EXHAUSTED", "no valid nonce up to 2^64 - 1");

/**
 * Over shared memory: every worker gets the whole search and claims batches
 * from the shared counter; the answer is the lowest batch's hit once every
 * worker has reported, since a worker stops only past that batch.
 */
function huntSearch(id: number, search: PoolSearch, context: SearchContext): Strategy {
  const cells = new BigInt64Array(new SharedArrayBuffer(4 * BigInt64Array.BYTES_PER_ELEMENT));
  cells[HUNT_CELLS.best] = NO_HIT;
  let pending = 0;
  let hashes = 0;
  let best: { batch: bigint; nonce: string } | undefined;
  let reported = 0;
  /** Reports `done` hashes if that is news; false when `onProgress` threw (the search then failed with its error). */
  const report = (done: number): boolean => {
    if (done === reported) return true;
    reported = done;
    try {
      search.onProgress?.(done);
      return true;
    } catch (error) {
      context.fail(error);
      return false;
    }
  };
  const progress =
    search.onProgress &&
    setInterval(() => report(Number(Atomics.load(cells, HUNT_CELLS.hashes))), PROGRESS_INTERVAL_MS);
  return {
    started(worker) {
      const handle = context.worker(worker);
      handle.keepAlive?.(true);
      const { challenge, mask0, mask1, startPrefix, lastPrefix, batchPrefixes } = search;
      handle.post({
        type: "hunt",
        search: id,
        challenge,
        mask0,
        mask1,
        cells,
        startPrefix,
        lastPrefix,
        batchPrefixes,
      });
      pending += 1;
    },
    reply(_worker, reply) {
      if (reply.type !== "hunted" || reply.search !== id) return;
      pending -= 1;
      hashes += reply.hashes;
      if (reply.batch >= 0n && !(best && best.batch < reply.batch))
        best = { batch: reply.batch, nonce: reply.nonce };
      // The timer may have reported every hash already; progress only ever grows.
      if (pending > 0 || !report(hashes)) return;
      // A hit past 2^64 - 1 can only come from the last batch, where nothing valid is left.
      if (best && isCanonicalNonce(best.nonce)) context.succeed({ nonce: best.nonce, hashes });
      else context.fail(exhausted());
    },
    fail: context.fail,
    cleanUp() {
      // Workers still hashing stop after the batch they hold.
      Atomics.store(cells, HUNT_CELLS.stop, 1n);
      if (progress) clearInterval(progress);
    },
  };
}

/**
 * Without shared memory: batches handed out in increasing order, two in
 * flight per worker; the answer is the lowest batch's hit once every batch
 * below it has come back empty. A finished search's queued batches still run.
 */
function batchSearch(id: number, search: PoolSearch, context: SearchContext): Strategy {
  const { batchPrefixes, startPrefix, lastPrefix, onProgress } = search;
  const batchCount = Number((lastPrefix - startPrefix) / BigInt(batchPrefixes)) + 1;
  const busy: number[] = [];
  const completed = new Set<number>();
  let nextBatch = 0;
  let lowestOpen = 0;
  let best: { batch: number; nonce: string } | undefined;
  let hashes = 0;

  const assign = (worker: number) => {
    const handle = context.worker(worker);
    while (
      (busy[worker] ?? 0) < BATCHES_IN_FLIGHT &&
      nextBatch < batchCount &&
      !(best && nextBatch > best.batch)
    ) {
      const first = startPrefix + BigInt(nextBatch) * BigInt(batchPrefixes);
      const remaining = lastPrefix - first + 1n;
      const count = remaining < BigInt(batchPrefixes) ? Number(remaining) : batchPrefixes;
      handle.post({
        type: "batch",
        search: id,
        id: nextBatch,
        prefix: first === 0n ? "" : String(first),
        count,
      });
      busy[worker] = (busy[worker] ?? 0) + 1;
      nextBatch += 1;
    }
  };

  return {
    started(worker) {
      const handle = context.worker(worker);
      handle.keepAlive?.(true);
      handle.post({
        type: "challenge",
        search: id,
        challenge: search.challenge,
        mask0: search.mask0,
        mask1: search.mask1,
      });
      assign(worker);
    },
    reply(worker, reply) {
      if (reply.type !== "result" || reply.search !== id) return;
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
        context.fail(error);
        return;
      }
      if (best && lowestOpen > best.batch) context.succeed({ nonce: best.nonce, hashes });
      else if (!best && lowestOpen >= batchCount) context.fail(exhausted());
      else assign(worker);
    },
    fail: context.fail,
    cleanUp() {},
  };
}

/** One search on workers started for it and terminated when it settles. */
export function searchInWorkers(search: WorkerSearch): Promise<PoolSolution> {
  return new WorkerPool(search, true).search(search);
}
