/** The broker did not confirm in time; the publish may still land (and is then recorded). */
export class PublishTimedOut extends Error {
  constructor(timeoutMs: number) {
    super(`the broker did not confirm the event within ${timeoutMs} ms`);
    this.name = 'PublishTimedOut';
  }
}

export type DeliveryOutcome = 'published' | 'duplicate';

type Entry = { state: 'pending'; settled: Promise<void> } | { state: 'confirmed'; at: number };

export interface DeliveryLedgerOptions {
  /** How long a confirmed delivery is remembered. */
  windowMs: number;
  /** Most deliveries remembered; the oldest are forgotten first beyond it. Default: 100 000. */
  capacity?: number;
  now?: () => number;
}

/**
 * Makes each delivery publish its event once, however often the sender retries it, and tells the sender
 * to retry until the broker has it. Invariants, per delivery key:
 * - at most one publish is under way; a retry arriving meanwhile waits for it instead of publishing again;
 * - a publish that confirms (even after its sender was told 503) is recorded for the window, so a later
 *   retry is answered as a duplicate;
 * - a publish that fails is forgotten, so the retry publishes again.
 * Held in memory: a restart forgets it, and the event's id (derived from the same key) is what lets
 * consumers recognize a repeat then.
 */
export class DeliveryLedger {
  readonly #entries = new Map<string, Entry>();
  readonly #windowMs: number;
  readonly #capacity: number;
  readonly #now: () => number;

  constructor(options: DeliveryLedgerOptions) {
    this.#windowMs = options.windowMs;
    this.#capacity = options.capacity ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Publishes the delivery's event unless it was published before: resolves `published` or `duplicate`
   * once the broker has it. Rejects when the publish fails or does not confirm within `timeoutMs`: the
   * sender should retry. A delivery without a key cannot be recognized and is always published.
   */
  async deliver(
    key: string | undefined,
    publish: () => Promise<void>,
    timeoutMs: number,
  ): Promise<DeliveryOutcome> {
    if (key === undefined) {
      await withTimeout(publish(), timeoutMs);
      return 'published';
    }
    this.#forgetExpired();
    const entry = this.#entries.get(key);
    if (entry?.state === 'confirmed') return 'duplicate';
    if (entry?.state === 'pending') {
      await withTimeout(entry.settled, timeoutMs);
      return 'duplicate';
    }
    const settled = publish().then(
      () => {
        // Re-inserted so that the map stays in order of confirmation, which #forgetExpired relies on.
        this.#entries.delete(key);
        this.#entries.set(key, { state: 'confirmed', at: this.#now() });
      },
      (error: unknown) => {
        this.#entries.delete(key);
        throw error;
      },
    );
    // Whoever waits sees the failure; this keeps a failure after everyone stopped waiting from going unhandled.
    settled.catch(() => {});
    this.#entries.set(key, { state: 'pending', settled });
    await withTimeout(settled, timeoutMs);
    return 'published';
  }

  /** Deliveries remembered or under way. */
  get size(): number {
    return this.#entries.size;
  }

  #forgetExpired(): void {
    const oldest = this.#now() - this.#windowMs;
    let excess = this.#entries.size - this.#capacity;
    for (const [key, entry] of this.#entries) {
      if (entry.state === 'pending') continue;
      if (entry.at > oldest && excess <= 0) break;
      this.#entries.delete(key);
      excess--;
    }
  }
}

function withTimeout(promise: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PublishTimedOut(timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
