import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Bus, Hold } from '../bus/bus.ts';

/** A command running this long is held against the other instances of its pack. */
export const HOLD_AFTER_MS = 500;
/** How often running commands are looked at for a hold. */
const SWEEP_EVERY_MS = 250;
/**
 * A redelivered command waits this long before it looks for a holder: longer than it takes an instance
 * still running it to hold it (HOLD_AFTER_MS after it started, one sweep, a few round trips).
 */
export const REDELIVERY_GRACE_MS = 2000;
/** How often a command held elsewhere is looked at again. */
const RECHECK_EVERY_MS = 250;

interface Running {
  since: number;
  /** Runs of the same command id in this process (a redelivery joins the run under way). */
  runs: number;
  hold: Promise<Hold | undefined> | undefined;
}

/**
 * Keeps two instances of a pack from running one command at once. When a consume channel drops, RabbitMQ
 * hands its unacknowledged commands to another instance while the first may still be posting: a lookup
 * by command id (Slack's history, Mattermost's props) cannot see a post that has not landed yet.
 *
 * A command that runs longer than HOLD_AFTER_MS is held on the broker for as long as this instance works
 * on it; a redelivered command waits REDELIVERY_GRACE_MS, then for any holder to let go, and then runs,
 * when its post, if any, has landed and its handler's lookup finds it. Fast commands take no hold: this
 * costs the hot path one map entry per command.
 */
export class CommandHolds {
  readonly #bus: Bus;
  readonly #pack: string;
  readonly #logger: Logger;
  readonly #running = new Map<string, Running>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: { bus: Bus; pack: string; logger: Logger }) {
    this.#bus = options.bus;
    this.#pack = options.pack;
    this.#logger = options.logger;
    this.#sweeper = setInterval(() => this.#holdSlowCommands(), SWEEP_EVERY_MS);
    this.#sweeper.unref();
  }

  /**
   * Runs `work` for the command, held against other instances once it runs long. A redelivered command
   * first waits until no other instance works on it; `signal` (the pack stopping) cuts that wait short
   * by throwing, so the command goes back to the queue.
   */
  async run<T>(
    commandId: string,
    delivery: { redelivered: boolean; signal: AbortSignal },
    work: () => Promise<T>,
  ): Promise<T> {
    let running = this.#running.get(commandId);
    if (running) {
      running.runs++;
    } else {
      const waited = delivery.redelivered ? await this.#waitForOthers(commandId, delivery.signal) : undefined;
      running = this.#running.get(commandId);
      if (running) {
        running.runs++;
        void waited?.release();
      } else {
        running = { since: Date.now(), runs: 1, hold: waited ? Promise.resolve(waited) : undefined };
        this.#running.set(commandId, running);
      }
    }
    try {
      return await work();
    } finally {
      if (--running.runs === 0) {
        this.#running.delete(commandId);
        if (running.hold) void running.hold.then((hold) => hold?.release());
      }
    }
  }

  close(): void {
    clearInterval(this.#sweeper);
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

  #holdSlowCommands(): void {
    const cutoff = Date.now() - HOLD_AFTER_MS;
    for (const [commandId, running] of this.#running) {
      if (running.hold || running.since > cutoff) continue;
      running.hold = this.#take(commandId).then((hold) => {
        if (hold !== 'held elsewhere') return hold;
        this.#logger.warn(
          { commandId },
          'another instance took a command this instance is running; it may run twice',
        );
        return undefined;
      });
    }
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
