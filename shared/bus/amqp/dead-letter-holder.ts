import type { Channel, ConfirmChannel, GetMessage, RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { type DeadLetter, DeadLetterError, type DeadLetterListing, type DeadLetterQueue } from '../bus.ts';
import { describeDeadLetters, destinationOf, MAX_LISTED_DEAD_LETTERS } from '../dead-letters.ts';
import { COMMANDS_EXCHANGE, DEAD_LETTER_QUEUE, packQueueName } from '../topology.ts';
import { refreshedCopy, requeueCopy } from './dead-letter.ts';
import { declareCoreTopology } from './declare.ts';
import type { OutboundMessage } from './publisher.ts';

/** The bounds and timeouts of a DeadLetterHolder (AmqpBusOptions.deadLetters). */
export type DeadLetterHolderLimits = Pick<
  DeadLetterHolderOptions,
  'maxLetters' | 'maxBytes' | 'timeoutMs' | 'idleReleaseMs'
>;

export interface DeadLetterHolderOptions {
  /** Where letters are held: the consume connection, which never publishes, so an alarm never blocks it. */
  consumeConnection: RecoveringChannelModel;
  /** Where requeues are published, with confirms: the publish connection. */
  publishConnection: RecoveringChannelModel;
  logger: Logger;
  /** Most letters held and listed at once; the rest are counted. Default: MAX_LISTED_DEAD_LETTERS (1000). */
  maxLetters?: number;
  /** Most bytes of bodies held at once (a body may be 4 MiB). Default: 64 MiB. */
  maxBytes?: number;
  /** How long opening a channel, or a publish's confirm, may take. Default: 10 000 ms. */
  timeoutMs?: number;
  /** Held letters go back to the queue after this long without a call. Default: 60 000 ms. */
  idleReleaseMs?: number;
}

/** One channel's letters: delivery tags mean something only on it. */
interface Session {
  channel: Channel;
  /** In queue order. */
  held: GetMessage[];
  bytes: number;
  /** Ready letters beyond those held, as of the last top-up. */
  remaining: number;
  /** Set once the channel closed: the broker put every held letter back, and their tags are void. */
  closed: boolean;
  /** Cleared after a refresh failed (a resource alarm): the rest are held as they are. */
  refreshing: boolean;
}

/** A confirm channel for requeues; one publish at a time, so a basic.return belongs to the one in flight. */
interface Outlet {
  channel: ConfirmChannel;
  returned: string | undefined;
  /** The broker's reason when it closed the channel (an exchange that does not exist). */
  lastError: string | undefined;
  closed: boolean;
}

/**
 * switchboard.dead on RabbitMQ, seen from the console. The letters are taken with basic.get and held
 * unacknowledged on a channel of this holder, so that nothing is lost whatever happens: removing a letter
 * is acknowledging it, and a requeue does so only after the broker confirmed the copy (published with
 * `mandatory`, so a copy nothing is bound for comes back instead of vanishing). When the console stops,
 * crashes or loses its connection, the channel closes and the broker puts the held letters back by itself.
 *
 * Holding starts at the first call and ends after idleReleaseMs without one (the page polls while open),
 * so RabbitMQ's queue depth counts the letters again as soon as nobody looks at them.
 *
 * Each time letters go back, a quorum queue counts one more delivery for them; RabbitMQ 4.0 to 4.2 drops a
 * message after 20 (the default delivery limit, and switchboard.dead has no dead-letter exchange). So a
 * letter that comes back redelivered is first refreshed: a copy is published to switchboard.dead with
 * confirms, then the original acknowledged. The copy starts counting from zero. (A crash between the two
 * leaves both: a duplicate, never a loss.)
 */
export class DeadLetterHolder implements DeadLetterQueue {
  readonly #options: DeadLetterHolderOptions;
  readonly #logger: Logger;
  readonly #maxLetters: number;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #idleReleaseMs: number;
  #session: Session | undefined;
  #outlet: Outlet | undefined;
  /** Operations run one at a time: a top-up, a publish and its ack never interleave. */
  #chain: Promise<unknown> = Promise.resolve();
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: DeadLetterHolderOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ queue: DEAD_LETTER_QUEUE });
    this.#maxLetters = options.maxLetters ?? MAX_LISTED_DEAD_LETTERS;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#idleReleaseMs = options.idleReleaseMs ?? 60_000;
  }

  list(): Promise<DeadLetterListing> {
    return this.#serial(async () => {
      const session = await this.#takeAll();
      return {
        letters: view(session).map(({ letter }) => letter),
        total: session.held.length + session.remaining,
      };
    });
  }

  requeue(id: string): Promise<{ exchange: string; routingKey: string }> {
    return this.#serial(async () => {
      const session = await this.#takeAll();
      const { letter, message } = find(session, id);
      const destination = destinationOf(letter);
      await this.#checkPackQueue(destination);
      await this.#publishConfirmed(requeueCopy(message, destination));
      // From here on the copy is safe with the broker. Should the channel close before this ack reaches it,
      // the letter goes back to the queue as well: a duplicate, the one case docs/console.md (Dead letters) names.
      if (!this.#remove(session, message)) {
        this.#logger.warn(
          { letter: id, ...destination },
          'requeued a dead letter, but lost its channel before removing it: it is in switchboard.dead again',
        );
      }
      return destination;
    });
  }

  discard(id: string): Promise<void> {
    return this.#serial(async () => {
      const session = await this.#takeAll();
      const { message } = find(session, id);
      if (!this.#remove(session, message)) {
        throw new DeadLetterError(
          'broker_unreachable',
          'lost the channel to RabbitMQ before the letter could be removed: it is back in switchboard.dead',
        );
      }
    });
  }

  /** Letters held right now; they count as waiting in the queue (AmqpBus.inspectQueue adds them). */
  get heldCount(): number {
    return this.#session?.held.length ?? 0;
  }

  release(): Promise<void> {
    return this.#serial(async () => {
      await this.#release();
      await this.#closeOutlet();
    });
  }

  /** Releases for good (the bus is closing): every later call rejects. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      clearTimeout(this.#idleTimer);
      this.#chain = this.#chain.then(async () => {
        await this.#release();
        await this.#closeOutlet();
      });
    }
    return this.#chain.then(() => {});
  }

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(() => {
      if (this.#closed) throw new DeadLetterError('broker_unreachable', 'the bus is closing');
      return operation();
    });
    this.#chain = run.then(
      () => this.#armIdleRelease(),
      () => this.#armIdleRelease(),
    );
    return run;
  }

  #armIdleRelease(): void {
    clearTimeout(this.#idleTimer);
    if (!this.#session || this.#closed) return;
    this.#idleTimer = setTimeout(() => {
      this.#chain = this.#chain.then(() => this.#release());
    }, this.#idleReleaseMs);
    // Letting go is housekeeping: it must not keep a process alive that is otherwise done.
    this.#idleTimer.unref();
  }

  /** The current session, topped up: every ready letter taken, up to the bounds. */
  async #takeAll(): Promise<Session> {
    // A channel RabbitMQ closed (a lost connection; consumer_timeout, 30 min by default, for a page left
    // open that long) has given its letters back: they are taken again, refreshed, on a new one.
    const session = this.#session && !this.#session.closed ? this.#session : await this.#openSession();
    try {
      await this.#topUp(session);
    } catch (error) {
      if (error instanceof DeadLetterError) throw error;
      throw unreachable('could not read switchboard.dead', error);
    }
    return session;
  }

  async #openSession(): Promise<Session> {
    const channel = await openWithin(this.#options.consumeConnection.createChannel(), this.#timeoutMs);
    const session: Session = {
      channel,
      held: [],
      bytes: 0,
      remaining: 0,
      closed: false,
      refreshing: true,
    };
    channel.on('error', (error: Error) =>
      this.#logger.warn({ reason: error.message }, 'RabbitMQ closed the channel holding dead letters'),
    );
    channel.on('close', () => {
      session.closed = true;
      if (this.#session === session) this.#session = undefined;
    });
    try {
      await declareCoreTopology(channel);
    } catch (error) {
      await channel.close().catch(() => {});
      throw unreachable('could not declare switchboard.dead', error);
    }
    this.#session = session;
    return session;
  }

  async #topUp(session: Session): Promise<void> {
    let ready: number | undefined;
    while (session.held.length < this.#maxLetters && session.bytes < this.#maxBytes) {
      const message = await session.channel.get(DEAD_LETTER_QUEUE, { noAck: false });
      if (message === false) {
        ready = 0;
        break;
      }
      if (message.fields.redelivered && session.refreshing && (await this.#refresh(session, message)))
        continue;
      session.held.push(message);
      session.bytes += message.content.length;
      ready = message.fields.messageCount;
    }
    session.remaining = ready ?? (await session.channel.checkQueue(DEAD_LETTER_QUEUE)).messageCount;
  }

  /** Replaces a letter by a fresh copy at the end of the queue; false when the copy could not be made. */
  async #refresh(session: Session, message: GetMessage): Promise<boolean> {
    try {
      await this.#publishConfirmed(refreshedCopy(message));
    } catch (error) {
      session.refreshing = false;
      this.#logger.warn(
        { reason: (error as Error).message },
        'could not refresh a redelivered dead letter; holding it as it is',
      );
      return false;
    }
    try {
      session.channel.ack(message);
    } catch {
      // The channel closed: the original went back too, a duplicate of the copy.
    }
    return true;
  }

  /** Acknowledges a held letter; false when its channel had closed (the letter is back in the queue). */
  #remove(session: Session, message: GetMessage): boolean {
    session.held.splice(session.held.indexOf(message), 1);
    session.bytes -= message.content.length;
    if (session.closed) return false;
    try {
      session.channel.ack(message);
      return true;
    } catch {
      return false;
    }
  }

  async #release(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session && !session.closed) await session.channel.close().catch(() => {});
  }

  /**
   * A command goes to its pack's queue; `mandatory` alone cannot tell that it exists, since a console's tap
   * (a private queue bound to `#`) receives every command too, and would be the only one to see it.
   */
  async #checkPackQueue({ exchange, routingKey }: { exchange: string; routingKey: string }): Promise<void> {
    if (exchange !== COMMANDS_EXCHANGE) return;
    const queue = packQueueName(routingKey.split('.')[0] as string);
    const channel = await openWithin(this.#options.consumeConnection.createChannel(), this.#timeoutMs);
    channel.on('error', () => {});
    try {
      await channel.checkQueue(queue);
    } catch (error) {
      // A missing queue answers 404 and closes the channel.
      if ((error as { code?: number }).code !== 404) throw unreachable(`could not check ${queue}`, error);
      throw new DeadLetterError(
        'unroutable',
        `no queue ${queue}: no instance of pack "${routingKey.split('.')[0]}" ever started on this broker, ` +
          'so nothing would run the command; the letter stays',
      );
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async #publishConfirmed(message: OutboundMessage): Promise<void> {
    const outlet = await this.#openOutlet();
    const { exchange, routingKey, body, properties } = message;
    const where = `exchange "${exchange}" with routing key "${routingKey}"`;
    outlet.returned = undefined;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A late confirm, or a late return, must not be taken for the next publish's.
        void this.#closeOutlet();
        reject(
          new DeadLetterError(
            'requeue_failed',
            `RabbitMQ did not confirm the publish to ${where} within ${this.#timeoutMs} ms (a resource ` +
              'alarm?); the letter stays, and the copy may still arrive once the broker takes it',
          ),
        );
      }, this.#timeoutMs);
      try {
        outlet.channel.publish(exchange, routingKey, body, properties, (error: unknown) => {
          clearTimeout(timer);
          if (!error) resolve();
          else {
            const reason = outlet.lastError ?? String((error as Error).message ?? error);
            reject(
              new DeadLetterError('requeue_failed', `RabbitMQ refused the publish to ${where}: ${reason}`),
            );
          }
        });
      } catch (error) {
        clearTimeout(timer);
        reject(
          new DeadLetterError(
            'requeue_failed',
            `RabbitMQ cannot carry it to ${where}: ${(error as Error).message}`,
            {
              cause: error,
            },
          ),
        );
      }
    });
    if (outlet.returned !== undefined) {
      throw new DeadLetterError(
        'unroutable',
        `nothing is bound for ${where} (RabbitMQ returned it: ${outlet.returned}); the letter stays`,
      );
    }
  }

  async #openOutlet(): Promise<Outlet> {
    if (this.#outlet && !this.#outlet.closed) return this.#outlet;
    const channel = await openWithin(this.#options.publishConnection.createConfirmChannel(), this.#timeoutMs);
    const outlet: Outlet = { channel, returned: undefined, lastError: undefined, closed: false };
    channel.on('return', (message: { fields: { replyText?: string } }) => {
      outlet.returned = message.fields.replyText ?? 'NO_ROUTE';
    });
    channel.on('error', (error: Error) => {
      outlet.lastError = error.message;
    });
    channel.on('close', () => {
      outlet.closed = true;
    });
    this.#outlet = outlet;
    return outlet;
  }

  async #closeOutlet(): Promise<void> {
    const outlet = this.#outlet;
    this.#outlet = undefined;
    if (outlet && !outlet.closed) await outlet.channel.close().catch(() => {});
  }
}

function view(session: Session): Array<{ letter: DeadLetter; message: GetMessage }> {
  const letters = describeDeadLetters(
    session.held.map((message) => ({
      messageId: message.properties.messageId || undefined,
      body: message.content,
      headers: message.properties.headers ?? {},
    })),
  );
  return letters.map((letter, index) => ({ letter, message: session.held[index] as GetMessage }));
}

function find(session: Session, id: string): { letter: DeadLetter; message: GetMessage } {
  const found = view(session).find(({ letter }) => letter.id === id);
  if (!found) throw new DeadLetterError('unknown_letter', `no dead letter "${id}" is listed`);
  return found;
}

function unreachable(what: string, error: unknown): DeadLetterError {
  return new DeadLetterError('broker_unreachable', `${what}: ${(error as Error).message ?? String(error)}`, {
    cause: error,
  });
}

/** A channel, or broker_unreachable after `ms`; one opened too late is closed. */
async function openWithin<C extends Channel>(opening: Promise<C>, ms: number): Promise<C> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new DeadLetterError('broker_unreachable', `RabbitMQ did not open a channel within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([opening, timeout]);
  } catch (error) {
    void opening.then(
      (late) => late.close().catch(() => {}),
      () => {},
    );
    if (error instanceof DeadLetterError) throw error;
    throw unreachable('could not open a channel to RabbitMQ', error);
  } finally {
    clearTimeout(timer);
  }
}
