/**
 * Undo steps, registered as resources are acquired and run in reverse once,
 * whichever comes first: the end of a run, a failure half-way, or Ctrl-C.
 * A step that fails is reported and the others still run, so one stuck
 * server never leaves a temporary directory behind.
 */
export class Cleanup {
  readonly #steps: Array<() => unknown> = [];
  #running: Promise<void> | undefined;

  /** Registers `step`; once cleaning has begun (Ctrl-C during startup), runs it at once instead. */
  add(step: () => unknown): void {
    if (this.#running === undefined) this.#steps.push(step);
    else void this.#running.then(() => this.#attempt(step));
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const step of this.#steps.splice(0).reverse()) await this.#attempt(step);
    })();
    return this.#running;
  }

  async #attempt(step: () => unknown): Promise<void> {
    try {
      await step();
    } catch (error) {
      console.error(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
