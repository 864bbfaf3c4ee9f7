// Injected latency for Web API calls. Holding back only the answer of a call that already took effect
// reproduces "the post happened, but the caller died (or timed out) before it saw the answer".

export interface DelaySpec {
  /** How long to hold the call, in milliseconds. Required. */
  readonly ms: number;
  /** How many consecutive calls are delayed. Default 1. */
  readonly times?: number;
  /**
   * Default true: the method takes effect at once (a post is recorded) and only the HTTP answer waits.
   * False: the wait comes first, then the method runs.
   */
  readonly afterEffect?: boolean;
}

export class Latency {
  readonly #pending = new Map<string, { spec: DelaySpec; left: number }>();
  readonly #timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  /** The next `times` calls of `method` ("*" for any method) are delayed as `spec` says. */
  delayNext(method: string, spec: DelaySpec): void {
    if (!(spec.ms >= 0)) throw new RangeError(`delay ms must be >= 0, got ${spec.ms}`);
    this.#pending.set(method, { spec, left: spec.times ?? 1 });
  }

  /** The delay this call gets, if any, counting it against its method's entry first, then "*". */
  take(method: string): DelaySpec | undefined {
    for (const key of [method, '*']) {
      const entry = this.#pending.get(key);
      if (!entry) continue;
      entry.left -= 1;
      if (entry.left <= 0) this.#pending.delete(key);
      return entry.spec;
    }
    return undefined;
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { timer: setTimeout(() => done(), ms), resolve: () => done() };
      const done = () => {
        clearTimeout(entry.timer);
        this.#timers.delete(entry);
        resolve();
      };
      this.#timers.add(entry);
    });
  }

  /** Ends every wait at once, so closing the fake never waits out a long delay. */
  cancelAll(): void {
    for (const entry of [...this.#timers]) entry.resolve();
  }
}
