import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Bus, Hold } from '../bus/bus.ts';

/**
 * A redelivered command waits this long before it looks for a holder: longer than it takes the instance
 * still running it to hear that its channel closed and to hold the command (a few round trips).
 */
export const REDELIVERY_GRACE_MS = 2000;
/** How often a command held elsewhere is looked at again. */
const RECHECK_EVERY_MS = 250;

interface Running {
  /** Runs of the same command id in this process (a redelivery joins the run under way). */
  runs: number;
  /** Abort when the broker takes back a delivery of the command that this process is running. */
  returned: AbortSignal[];
  hold: Promise<Hold | undefined> | undefined;
}

/**
 * Keeps two instances of a pack from running one command at once. When a consume channel drops, RabbitMQ
 * hands its unacknowledged commands to another instance while the first may still be posting: a lookup
 * by command id (Slack's history, Mattermost's props) cannot see a post that has not landed yet.
 *
 * So an instance whose channel closed under a running command holds that command on the broker for as
 * long as it works on it, and a redelivered command waits REDELIVERY_GRACE_MS, then for any holder to let
 * go, and only then runs, when its post, if any, has landed and its handler's lookup finds it. Nothing is
 * held while channels stay up: the hot path costs one map entry per command.
 */
export class CommandHolds {
  readonly #bus: Bus;
  readonly #pack: string;
  readonly #logger: Logger;
  readonly #running = new Map<string, Running>();
  /** Channels' signals already listened to: one listener per channel, not per command. */
  readonly #watched = new WeakSet<AbortSignal>();

  constructor(options: { bus: Bus; pack: string; logger: Logger }) {
    this.#bus = options.bus;
    this.#pack = options.pack;
    this.#logger = options.logger;
  }

  /**
   * Runs `work` for the command, held against other instances if its delivery is taken back meanwhile.
   * A redelivered command first waits until no other instance works on it; `signal` (the pack stopping)
   * cuts that wait short by throwing, so the command goes back to the queue.
   */
  async run<T>(
    commandId: string,
    delivery: { redelivered: boolean; returned: AbortSignal; signal: AbortSignal },
    work: () => Promise<T>,
  ): Promise<T> {
    let running = this.#running.get(commandId);
    if (!running) {
      const waited = delivery.redelivered ? await this.#waitForOthers(commandId, delivery.signal) : undefined;
      running = this.#running.get(commandId);
      if (running) void waited?.release();
      else {
        running = { runs: 0, returned: [], hold: waited ? Promise.resolve(waited) : undefined };
        this.#running.set(commandId, running);
      }
    }
    running.runs++;
    running.returned.push(delivery.returned);
    this.#watch(delivery.returned);
    if (delivery.returned.aborted) this.#holdIfReturned(commandId, running);
    try {
      return await work();
    } finally {
      if (--running.runs === 0) {
        this.#running.delete(commandId);
        if (running.hold) void running.hold.then((hold) => hold?.release());
      }
    }
  }

  /** Resolves with this instance's hold once no other instance holds the command. */
  async #waitForOthers(commandId: string, signal: AbortSignal): Promise<Hold | undefined> {
    await sleep(REDELIVERY_GRACE_MS, undefined, { signal });
    let announced = false;
    for (;;) {
      const hold = await this.#take(commandId);
      if (hold !== 'held elsewhere') return hold;
      if (!announced) {
        this.#logger.info(
          { commandId },
          'a redelivered command is still running on another instance; waiting for it to finish',
        );
        announced = true;
      }
      await sleep(RECHECK_EVERY_MS, undefined, { signal });
    }
  }

  #watch(returned: AbortSignal): void {
    if (this.#watched.has(returned)) return;
    this.#watched.add(returned);
    returned.addEventListener(
      'abort',
      () => {
        for (const [commandId, running] of this.#running) this.#holdIfReturned(commandId, running);
      },
      { once: true },
    );
  }

  #holdIfReturned(commandId: string, running: Running): void {
    if (running.hold || !running.returned.some((returned) => returned.aborted)) return;
    running.hold = this.#take(commandId).then((hold) => {
      if (hold !== 'held elsewhere') return hold;
      this.#logger.warn(
        { commandId },
        'another instance took a command this instance is still running; it may run twice',
      );
      return undefined;
    });
  }

  /** Undefined when the broker could not be asked: the command goes ahead unheld rather than stall. */
  async #take(commandId: string): Promise<Hold | 'held elsewhere' | undefined> {
    try {
      return (await this.#bus.hold(`command:${this.#pack}:${commandId}`)) ?? 'held elsewhere';
    } catch (error) {
      this.#logger.warn({ commandId, reason: (error as Error).message }, 'could not hold a command');
      return undefined;
    }
  }
}
