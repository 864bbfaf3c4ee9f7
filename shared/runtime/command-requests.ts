import type { Bus, Consumption, Destination } from '../bus/bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../bus/topology.ts';
import type { Envelope } from '../envelope.ts';

export interface SendCommandOptions {
  /** AMQP headers sent with the command (who sent it: `x-switchboard-sent-by`). Default: none. */
  headers?: Record<string, string> | undefined;
  /**
   * Waits up to this many milliseconds for the command's result event. Default: no wait: the send settles
   * once the broker has confirmed the command.
   */
  waitMs?: number | undefined;
  /** Ends the wait early (the result is then undefined); the command stays published. */
  signal?: AbortSignal | undefined;
}

/**
 * Sends commands to packs and waits for their result events, over one private reply queue opened on
 * first use (the runtime sends results to a command's replyTo as well as to the events exchange). The
 * queue keeps its name across reconnects and outlives a dropped connection for a while, so a result sent
 * during a blip waits for us; only an outage longer than that (or a broker restart, which drops the
 * queue) loses the results of the requests in flight, which then end in their timeout.
 */
export class CommandRequests {
  readonly #bus: Bus;
  /** Several sends may wait for one command id (a client retrying with the same Idempotency-Key). */
  readonly #waiting = new Map<string, Set<(result: Envelope) => void>>();
  #replies: Promise<Consumption> | undefined;

  constructor(bus: Bus) {
    this.#bus = bus;
  }

  /** Publishes the command; resolves with its result, or undefined when none came within `timeoutMs`. */
  async request(command: Envelope, timeoutMs: number): Promise<Envelope | undefined> {
    return (await this.send(command, { waitMs: timeoutMs })).result;
  }

  /**
   * Publishes the command and resolves once the broker confirmed it, with `result`: with `waitMs`, its
   * result event, or undefined when none came in time (or `signal` aborted); without, undefined at once.
   * Rejects when the publish fails: the command may then not have been sent.
   */
  async send(
    command: Envelope,
    options: SendCommandOptions = {},
  ): Promise<{ result: Promise<Envelope | undefined> }> {
    const { waitMs, headers, signal } = options;
    const destination: Destination = {
      exchange: COMMANDS_EXCHANGE,
      routingKey: routingKey(command.pack, command.name),
    };
    if (waitMs === undefined) {
      await this.#bus.publish(destination, command, { headers });
      return { result: Promise.resolve(undefined) };
    }
    const replies = await this.#open();
    // Listening before publishing: a fast pack must not answer before anyone listens.
    const { result, cancel } = this.#waitFor(command.id, waitMs, signal);
    try {
      await this.#bus.publish(destination, command, { replyTo: replies.queue, headers });
    } catch (error) {
      cancel();
      throw error;
    }
    return { result };
  }

  async stop(): Promise<void> {
    const replies = this.#replies;
    this.#replies = undefined;
    await (await replies?.catch(() => undefined))?.stop();
  }

  #waitFor(
    commandId: string,
    waitMs: number,
    signal: AbortSignal | undefined,
  ): { result: Promise<Envelope | undefined>; cancel: () => void } {
    const settled = Promise.withResolvers<Envelope | undefined>();
    const waiters = this.#waiting.get(commandId) ?? new Set();
    this.#waiting.set(commandId, waiters);
    const finish = (result: Envelope | undefined) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      waiters.delete(finish);
      if (waiters.size === 0 && this.#waiting.get(commandId) === waiters) this.#waiting.delete(commandId);
      settled.resolve(result);
    };
    const onAbort = () => finish(undefined);
    const timer = setTimeout(() => finish(undefined), waitMs);
    waiters.add(finish);
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) finish(undefined);
    return { result: settled.promise, cancel: () => finish(undefined) };
  }

  #open(): Promise<Consumption> {
    if (this.#replies) return this.#replies;
    const replies = this.#bus.consume(
      { durability: 'private', bindings: [], kind: 'event', prefetch: 100 },
      async ({ envelope }) => {
        if (!envelope.causationId) return;
        for (const finish of [...(this.#waiting.get(envelope.causationId) ?? [])]) finish(envelope);
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
