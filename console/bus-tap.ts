import type { Bus, Consumption, InboundMessage } from '../shared/bus/bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE } from '../shared/bus/topology.ts';
import type { Envelope } from '../shared/envelope.ts';
import type { Logger } from '../shared/observability/logger.ts';

/** One message seen passing on the bus. */
export interface TappedMessage {
  envelope: Envelope;
  routingKey: string;
  /** Who sent it through the console or the HTTP command API (`x-switchboard-sent-by`), if anyone said. */
  sentBy: string | undefined;
  /** When the console saw it (its createdAt is the sender's clock). */
  seenAt: Date;
}

export type TapListener = (message: TappedMessage) => void;

/** Messages taken from the broker at once per queue: the tap only copies, so it can take many. */
const TAP_PREFETCH = 500;

/**
 * Every event and command that passes on the bus, from two private queues bound to `#` on each exchange,
 * fanned out to listeners in this process (Live, the Overview's counters). A private queue never
 * dead-letters and never takes a message from the queue that must handle it: the tap only sees copies.
 */
export class BusTap {
  readonly #listeners = new Set<TapListener>();
  readonly #logger: Logger;
  #consumptions: Consumption[] = [];

  private constructor(logger: Logger) {
    this.#logger = logger;
  }

  static async start(bus: Bus, logger: Logger): Promise<BusTap> {
    const tap = new BusTap(logger);
    const handler = async ({ envelope, routingKey, sentBy }: InboundMessage) =>
      tap.#deliver({ envelope, routingKey, sentBy, seenAt: new Date() });
    try {
      for (const [exchange, kind] of [
        [EVENTS_EXCHANGE, 'event'],
        [COMMANDS_EXCHANGE, 'command'],
      ] as const) {
        tap.#consumptions.push(
          await bus.consume(
            { durability: 'private', bindings: [{ exchange, pattern: '#' }], kind, prefetch: TAP_PREFETCH },
            handler,
          ),
        );
      }
    } catch (error) {
      await tap.stop();
      throw error;
    }
    return tap;
  }

  /** Calls `listener` for every message from now on; returns what stops it. */
  subscribe(listener: TapListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    const consumptions = this.#consumptions;
    this.#consumptions = [];
    await Promise.all(consumptions.map((consumption) => consumption.stop()));
    this.#listeners.clear();
  }

  #deliver(message: TappedMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (error) {
        // One broken listener must not starve the others, nor make the bus deliver the message again.
        this.#logger.error({ reason: (error as Error).message }, 'a console listener failed on a message');
      }
    }
  }
}
