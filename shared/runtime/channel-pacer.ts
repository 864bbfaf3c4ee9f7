/** Chat services limit messages per channel (Slack: about one per second, with short bursts). */
export interface PacingOptions {
  /** Messages a quiet channel may take at once. Default: 3. */
  burst?: number;
  /** Messages per second a channel takes after its burst. Default: 1. */
  perSecond?: number;
  /** The clock; tests pass their own. Default: Date.now. */
  now?: () => number;
  /** How to wait; tests pass their own. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

interface ChannelLane {
  tokens: number;
  refilledAt: number;
  /** The tail of the channel's queue: each send waits for the one before it. */
  tail: Promise<unknown>;
}

/**
 * Sends to each channel in the order the sends were asked for, at most as fast as Slack allows, so that
 * Slack rarely answers 429 (a send that gets one retries in its place, holding the channel). Different
 * channels proceed in parallel.
 */
export class ChannelPacer {
  readonly #burst: number;
  readonly #perSecond: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  /** One lane per channel ever used: a few numbers each, as many as the workspace has channels. */
  readonly #lanes = new Map<string, ChannelLane>();

  constructor(options: PacingOptions = {}) {
    this.#burst = options.burst ?? 3;
    this.#perSecond = options.perSecond ?? 1;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Runs `send` when the channel's turn and rate allow; resolves or rejects with what `send` does. */
  schedule<T>(channel: string, send: () => Promise<T>): Promise<T> {
    const lane = this.#lane(channel);
    const turn = lane.tail.then(async () => {
      await this.#waitForCapacity(lane);
      return send();
    });
    // A failed send does not hold up the ones behind it.
    lane.tail = turn.catch(() => {});
    return turn;
  }

  #lane(channel: string): ChannelLane {
    let lane = this.#lanes.get(channel);
    if (!lane) {
      lane = { tokens: this.#burst, refilledAt: this.#now(), tail: Promise.resolve() };
      this.#lanes.set(channel, lane);
    }
    return lane;
  }

  async #waitForCapacity(lane: ChannelLane): Promise<void> {
    for (;;) {
      const now = this.#now();
      lane.tokens = Math.min(this.#burst, lane.tokens + ((now - lane.refilledAt) / 1000) * this.#perSecond);
      lane.refilledAt = now;
      if (lane.tokens >= 1) {
        lane.tokens -= 1;
        return;
      }
      await this.#sleep(((1 - lane.tokens) / this.#perSecond) * 1000);
    }
  }
}
