import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.ts';
import { EVENTS_EXCHANGE } from '../bus/topology.ts';
import type { Envelope } from '../envelope.ts';

/** Events matching some routing-key patterns, followed from a private queue (PackContext.watch). */
export interface EventWatch {
  /** The private queue's name: the same across reconnects, so it can be a `replyTo`. */
  readonly queue: string;
  /** Stops following; resolves once the events already taken are handled. Idempotent. */
  stop(): Promise<void>;
}

/** Called once per event; an error it throws is logged and the event dropped, never retried. */
export type EventHandler = (event: Envelope) => void | Promise<void>;

/** Events taken from the broker at once: a watch only reads, so it can take many. */
const WATCH_PREFETCH = 100;

/**
 * Follows the events whose routing key (`<pack>.<Event>`) matches any of `patterns` (topic patterns:
 * `*.PackStarted`, `slack.#`) from a private queue of its own. A private queue sees copies: it never takes
 * an event from the queue that must handle it, and never dead-letters. A handler that fails is logged with
 * the event's name and id and the watch carries on: a reader's bug must not make the bus deliver an
 * event again and again.
 */
export async function watchEvents(
  bus: Bus,
  patterns: readonly string[],
  handler: EventHandler,
  logger: Logger,
): Promise<EventWatch> {
  if (patterns.length === 0) throw new Error('a watch needs at least one routing-key pattern');
  const consumption = await bus.consume(
    {
      durability: 'private',
      bindings: patterns.map((pattern) => ({ exchange: EVENTS_EXCHANGE, pattern })),
      kind: 'event',
      prefetch: WATCH_PREFETCH,
    },
    async ({ envelope }) => {
      try {
        await handler(envelope);
      } catch (error) {
        logger.error(
          {
            event: `${envelope.pack}.${envelope.name}`,
            eventId: envelope.id,
            reason: (error as Error).message,
          },
          'an event watcher failed on an event; dropped',
        );
      }
    },
  );
  let stopped: Promise<void> | undefined;
  return {
    queue: consumption.queue,
    stop: () => {
      stopped ??= consumption.stop();
      return stopped;
    },
  };
}
