import { setTimeout as delay } from 'node:timers/promises';

/** Chat services limit messages per channel (Slack: about one per second, with short bursts). */
export interface PacingOptions {
  /** Messages a quiet channel may take at once. Default: 3. */
  burst?: number;
  /** Messages per second a channel takes after its burst. Default: 1. */
  perSecond?: number;
  /** The clock; tests pass their own. Default: Date.now. */
  now?: () => number;
  /** How to wait, cut short when `signal` aborts; tests pass their own. Default: setTimeout. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What a lane needs of the command whose send waits in it; a CommandContext has both. */
export interface LaneCommand {
  /** Aborted when the command gave up (its time limit, the pack stopping): it leaves the lane at once. */
  readonly signal: AbortSignal;
  /**
   * Waits for `turn`. The runtime's (CommandContext.waitForTurn) stops the command's run clock meanwhile,
   * so that a long queue for a channel is not counted as the command's run time. Default: just waits.
   */
  readonly waitForTurn?: <T>(turn: Promise<T>) => Promise<T>;
}

interface WaitingSend {
  readonly signal: AbortSignal;
  readonly grant: (release: () => void) => void;
  readonly leave: () => void;
}

interface ChannelLane {
  tokens: number;
  refilledAt: number;
  /** Sends waiting for their turn, in the order they were asked for. */
  readonly waiting: WaitingSend[];
  /** A send of this channel is under way: the next waits for it to finish. */
  sending: boolean;
  /** A loop is handing out turns. */
  pumping: boolean;
}

/**
 * Sends to each channel in the order the sends were asked for, one at a time, at most as fast as the chat
 * service allows, so that it rarely answers 429 (a send that gets one retries in its place, holding the
 * channel). Different channels proceed in parallel. A send whose command gave up leaves its lane at once
 * and spends no turn, so a backlog of commands that timed out never holds up the live ones behind it.
 */
export class ChannelPacer {
  readonly #burst: number;
  readonly #perSecond: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** One lane per channel ever used: a few numbers each, as many as the workspace has channels. */
  readonly #lanes = new Map<string, ChannelLane>();

  constructor(options: PacingOptions = {}) {
    this.#burst = options.burst ?? 3;
    this.#perSecond = options.perSecond ?? 1;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }).catch(() => {}));
  }

  /**
   * Runs `send` when the channel's turn and rate allow; resolves or rejects with what `send` does, or
   * rejects with the reason of `command.signal` when it aborts before the turn came.
   */
  async schedule<T>(channel: string, send: () => Promise<T>, command: LaneCommand): Promise<T> {
    const turn = this.#turn(this.#lane(channel), command.signal);
    let release: () => void;
    try {
      release = await (command.waitForTurn ? command.waitForTurn(turn) : turn);
    } catch (error) {
      // The command stopped waiting; a turn granted meanwhile passes to the next send.
      turn.then(
        (passOn) => passOn(),
        () => {},
      );
      throw error;
    }
    try {
      return await send();
    } finally {
      release();
    }
  }

  #lane(channel: string): ChannelLane {
    let lane = this.#lanes.get(channel);
    if (!lane) {
      lane = { tokens: this.#burst, refilledAt: this.#now(), waiting: [], sending: false, pumping: false };
      this.#lanes.set(channel, lane);
    }
    return lane;
  }

  /** Resolves with the function that ends the send, once it is the send's turn and a token is spent. */
  #turn(lane: ChannelLane, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<() => void>();
    const waiting: WaitingSend = {
      signal,
      grant: (release) => {
        signal.removeEventListener('abort', waiting.leave);
        resolve(release);
      },
      leave: () => {
        const index = lane.waiting.indexOf(waiting);
        if (index >= 0) lane.waiting.splice(index, 1);
        reject(signal.reason);
      },
    };
    signal.addEventListener('abort', waiting.leave, { once: true });
    lane.waiting.push(waiting);
    void this.#pump(lane);
    return promise;
  }

  /** Hands the lane to the first waiting send once the one before it finished and the rate allows. */
  async #pump(lane: ChannelLane): Promise<void> {
    if (lane.pumping) return;
    lane.pumping = true;
    try {
      for (let next = lane.waiting[0]; !lane.sending && next; next = lane.waiting[0]) {
        const now = this.#now();
        lane.tokens = Math.min(this.#burst, lane.tokens + ((now - lane.refilledAt) / 1000) * this.#perSecond);
        lane.refilledAt = now;
        if (lane.tokens < 1) {
          // Cut short when this send gives up: the next one may then go sooner.
          await this.#sleep(((1 - lane.tokens) / this.#perSecond) * 1000, next.signal);
          continue;
        }
        lane.waiting.shift();
        lane.tokens -= 1;
        lane.sending = true;
        let released = false;
        next.grant(() => {
          if (released) return;
          released = true;
          lane.sending = false;
          void this.#pump(lane);
        });
      }
    } finally {
      lane.pumping = false;
    }
  }
}
