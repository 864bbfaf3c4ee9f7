import type { Bus, Consumption } from '../bus/bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../bus/topology.ts';
import type { Envelope } from '../envelope.ts';

/**
 * Sends commands to packs and waits for their result events, over one private reply queue opened on
 * first use (the runtime sends results to a command's replyTo as well as to the events exchange). The
 * queue keeps its name across reconnects and outlives a dropped connection for a while, so a result sent
 * during a blip waits for us; only an outage longer than that (or a broker restart, which drops the
 * queue) loses the results of the requests in flight, which then end in their timeout.
 */
export class CommandRequests {
  readonly #bus: Bus;
  readonly #waiting = new Map<string, (result: Envelope) => void>();
  #replies: Promise<Consumption> | undefined;

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /** Publishes the command; resolves with its result, or undefined when none came within `timeoutMs`. */
  async request(command: Envelope, timeoutMs: number): Promise<Envelope | undefined> {
    const replies = await this.#open();
    let timer: NodeJS.Timeout | undefined;
    const result = new Promise<Envelope | undefined>((resolve) => {
      this.#waiting.set(command.id, resolve);
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      await this.#bus.publish(
        { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(command.pack, command.name) },
        command,
        { replyTo: replies.queue },
      );
      return await result;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(command.id);
    }
  }

  async stop(): Promise<void> {
    const replies = this.#replies;
    this.#replies = undefined;
    await (await replies?.catch(() => undefined))?.stop();
  }

  #open(): Promise<Consumption> {
    if (this.#replies) return this.#replies;
    const replies = this.#bus.consume(
      { durability: 'private', bindings: [], kind: 'event', prefetch: 100 },
      async ({ envelope }) => {
        if (envelope.causationId) this.#waiting.get(envelope.causationId)?.(envelope);
      },
    );
    this.#replies = replies;
    // A failed first consume must not fail every later request: the next one tries again.
    replies.catch(() => {
      if (this.#replies === replies) this.#replies = undefined;
    });
    return replies;
  }
}
