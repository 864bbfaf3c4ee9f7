import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import type { Bus, Consumption } from '../../shared/bus/bus.ts';
import { EVENTS_EXCHANGE } from '../../shared/bus/topology.ts';
import type { Envelope } from '../../shared/envelope.ts';

/** Logs nothing unless TEST_LOG_LEVEL asks (e.g. TEST_LOG_LEVEL=debug npm test). */
export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }, pino.destination(2));

/** The broker `npm test` started (or the one AMQP_URL names). Fails loudly when there is none. */
export function brokerUrl(): string {
  const url = process.env.AMQP_URL;
  if (!url) {
    throw new Error('AMQP_URL is not set: run the tests with `npm test`, which starts a throwaway RabbitMQ');
  }
  return url;
}

export function connectTestBus(
  url = brokerUrl(),
  options: { publishTimeoutMs?: number } = {},
): Promise<AmqpBus> {
  return AmqpBus.connect({ url, name: 'test', logger: testLogger, initialRetries: 3, ...options });
}

/** A pack name no other test uses, so tests can share one broker. */
export function uniquePackName(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Collects the events matching a pattern, and waits for the ones a test expects. */
export class EventCollector {
  readonly events: Envelope[] = [];
  #waiters: Array<() => void> = [];
  #consumption: Consumption | undefined;

  /**
   * With `durableQueue`, the events wait in a durable queue of that name while the broker restarts;
   * otherwise they go to a private queue that dies with the connection.
   */
  static async start(
    bus: Bus,
    pattern: string,
    options: { durableQueue?: string } = {},
  ): Promise<EventCollector> {
    const collector = new EventCollector();
    collector.#consumption = await bus.consume(
      {
        name: options.durableQueue,
        durability: options.durableQueue ? 'pack' : 'private',
        bindings: [{ exchange: EVENTS_EXCHANGE, pattern }],
        kind: 'event',
        prefetch: 1000,
      },
      async ({ envelope }) => {
        collector.events.push(envelope);
        for (const wake of collector.#waiters.splice(0)) wake();
      },
    );
    return collector;
  }

  named(name: string): Envelope[] {
    return this.events.filter((event) => event.name === name);
  }

  /** Resolves with the matching events once `count` have arrived; rejects after `timeoutMs`. */
  async waitFor(predicate: (event: Envelope) => boolean, count = 1, timeoutMs = 15_000): Promise<Envelope[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = this.events.filter(predicate);
      if (matching.length >= count) return matching;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `expected ${count} matching events, got ${matching.length}; seen: ${this.events.map((e) => `${e.pack}.${e.name}`).join(', ') || 'none'}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    await this.#consumption?.stop();
  }
}
