/** How far a run has gone, as far as this process has heard. */
export type RunStage = { stage: 'started' } | { stage: 'finished'; condition: string };

/**
 * The furthest state heard of each Tekton run (by uid), so that an event arriving late, out of order,
 * does not take a run back: Tekton sends from goroutines with retries, so a `running` may come after
 * `successful` (docs/events.md, "events are not guaranteed to be sent to the target sink in the order
 * they happened"). Invariants, per uid:
 * - once finished, a run stays finished with its first finishing condition: nothing started or finished
 *   differently is announced after it;
 * - a state is recorded when its event is interpreted, before the broker confirms it; a retry of the
 *   same state is still announced again (the delivery ledger then answers it), so a failed publish loses
 *   nothing.
 * Held in memory and bounded (the runs heard of least recently are forgotten first): a restart forgets
 * it, like the delivery ledger, and a late event after a restart can then announce a start again; its
 * event id, derived from the run's uid, is the same as the first time's.
 */
export class RunProgress {
  readonly #runs = new Map<string, RunStage>();
  readonly #capacity: number;

  /** `capacity`: runs remembered at most. Default: 10 000. */
  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /**
   * Records that `uid` reached `next`, unless it went further before: true when the state is to be
   * announced, false when it is stale (a start after the end, or a second, different end).
   */
  advance(uid: string, next: RunStage): boolean {
    const known = this.#runs.get(uid);
    if (known?.stage === 'finished') {
      this.#touch(uid, known);
      return next.stage === 'finished' && next.condition === known.condition;
    }
    this.#touch(uid, next.stage === 'finished' ? next : (known ?? next));
    return true;
  }

  /** Runs remembered. */
  get size(): number {
    return this.#runs.size;
  }

  #touch(uid: string, stage: RunStage): void {
    // Re-inserted so that the map stays in order of last use, oldest first.
    this.#runs.delete(uid);
    this.#runs.set(uid, stage);
    for (const oldest of this.#runs.keys()) {
      if (this.#runs.size <= this.#capacity) break;
      this.#runs.delete(oldest);
    }
  }
}
