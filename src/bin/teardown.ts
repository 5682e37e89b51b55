// The undo list of a composition root: every resource acquired at start-up (a store and its lock, worker processes,
// a socket directory, a listening port) adds how to release it; `run` releases them in reverse order, each in its
// own try/catch, so a start that fails half-way, like a normal stop, leaves nothing behind.

export class Teardown {
  readonly #steps: Array<{ name: string; release: () => unknown }> = [];
  readonly #onError: (name: string, e: unknown) => void;
  #running: Promise<void> | undefined;

  /** `onError` hears of each release that failed (the others still run). */
  constructor(onError: (name: string, e: unknown) => void) {
    this.#onError = onError;
  }

  /** Adds a release, run before every one added earlier. */
  add(name: string, release: () => unknown): void {
    if (this.#running) throw new Error(`teardown already ran: cannot add ${name}`);
    this.#steps.push({ name, release });
  }

  /** Releases everything added, last first. Idempotent: later calls wait for the first. */
  run(): Promise<void> {
    return (this.#running ??= (async () => {
      for (const step of this.#steps.reverse()) {
        try {
          await step.release();
        } catch (e) {
          this.#onError(step.name, e);
        }
      }
    })());
  }
}
