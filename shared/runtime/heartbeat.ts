/** How often a pack instance says it is alive (PackAlive) when its runtime is not told otherwise: 30 s. */
export const DEFAULT_ALIVE_INTERVAL_MS = 30_000;

/**
 * Calls `beat` every `intervalMs` until stopped. A beat still under way when the next is due makes that one
 * skip, so a publish waiting out a broker outage does not pile up copies behind it. A failed beat goes to
 * `onError` and the next one is tried as usual: one lost PackAlive must not end the instance.
 */
export class Heartbeat {
  readonly #timer: NodeJS.Timeout;
  #beating: Promise<void> | undefined;

  constructor(options: {
    intervalMs: number;
    beat: () => Promise<void>;
    onError: (error: Error) => void;
  }) {
    const { beat, onError } = options;
    this.#timer = setInterval(() => {
      if (this.#beating) return;
      this.#beating = beat()
        .catch((error: unknown) => onError(error as Error))
        .finally(() => {
          this.#beating = undefined;
        });
    }, options.intervalMs);
    // A heartbeat alone must not keep a process alive once everything else has stopped.
    this.#timer.unref();
  }

  /** No beat starts after this; resolves once the one under way (if any) has finished. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
  }
}
