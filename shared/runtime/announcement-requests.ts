import type { Logger } from 'pino';
import type { Bus, Consumption } from '../bus/bus.ts';
import { EVENTS_EXCHANGE } from '../bus/topology.ts';
import type { Envelope } from '../envelope.ts';

/**
 * The event by which a reader of pack announcements (PackDirectory: the console, the HTTP command API)
 * asks every running pack instance for its PackStarted, which it missed when it started later. Any pack
 * may publish it, as `<pack>.AnnouncementsRequested` with AMQP `replyTo` naming the asker's private queue;
 * each instance answers there alone, so no one else sees the announcements twice.
 */
export const ANNOUNCEMENTS_REQUESTED = 'AnnouncementsRequested';

export interface AnnouncementAnswerOptions {
  bus: Bus;
  logger: Logger;
  /**
   * What the instance answers with: the PackStarted it published (the same id and createdAt, so a reader
   * keeping the latest start of each pack still does) and a new PackAlive (it runs now). Undefined while
   * it has not announced itself yet: its PackStarted is then still to come on the events exchange.
   */
  answer(): Envelope[] | undefined;
}

/**
 * Answers AnnouncementsRequested for one pack instance, from a private queue. Started before the instance
 * publishes PackStarted, so an asker always gets one or the other: the answer, or the announcement itself.
 */
export function answerAnnouncementRequests(options: AnnouncementAnswerOptions): Promise<Consumption> {
  const { bus, logger } = options;
  return bus.consume(
    {
      durability: 'private',
      bindings: [{ exchange: EVENTS_EXCHANGE, pattern: `*.${ANNOUNCEMENTS_REQUESTED}` }],
      kind: 'event',
      prefetch: 10,
    },
    async ({ envelope, replyTo }) => {
      const answer = options.answer();
      if (!replyTo || !answer) return;
      try {
        for (const event of answer) await bus.publish({ queue: replyTo }, event);
      } catch (error) {
        // The asker misses this instance until its next PackStarted; nothing else depends on the answer.
        logger.warn(
          { asker: envelope.pack, reason: (error as Error).message },
          'could not answer a request for announcements',
        );
      }
    },
  );
}
