import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { type DecodeResult, decodeEnvelope, type Envelope } from '../../envelope.ts';
import {
  type Consumption,
  handlerRetryDelayMs,
  type MessageHandler,
  type QueueSpec,
  UnprocessableMessage,
} from '../bus.ts';
import { SENT_BY_HEADER } from '../topology.ts';
import { AckBatcher } from './ack-batcher.ts';
import { ChannelKeeper } from './channel-keeper.ts';
import { declareQueue, privateQueueName } from './declare.ts';

/** Sets aside a message that can never be handled; resolves once the broker has it. */
export type DeadLetterSink = (message: ConsumeMessage, reason: string) => Promise<void>;

export interface ConsumerOptions {
  connection: RecoveringChannelModel;
  spec: QueueSpec;
  handler: MessageHandler;
  deadLetter: DeadLetterSink;
  logger: Logger;
}

/** One channel's deliveries: their tags mean something only on it, and die with it. */
interface Session {
  channel: Channel;
  batcher: AckBatcher;
  /** Aborted when the channel closes: the broker has put its unacknowledged messages back in the queue. */
  closed: AbortSignal;
}

/**
 * Consumes one queue, across reconnects, with bounded concurrency (prefetch) and batched acks.
 *
 * A handler that throws (our own infrastructure failed: a publish timed out in a resource alarm, the
 * database is busy) is retried in place, holding the message, after a pause that grows to 10 s, for as
 * long as it takes. The message is not returned to the queue, because a quorum queue counts every return
 * (a nack with requeue, or a channel closed with it) toward `x-delivery-limit` and would dead-letter a
 * healthy message after ten of them. Publishing a copy back and acking the original would not count, but
 * it needs a publish, which is exactly what a memory or disk alarm blocks. Running the handler again is
 * safe: a pack answers a command it finished from its record, and the engine's events are idempotent.
 * Held messages keep their prefetch slots, so a consumer whose infrastructure is down stops taking work.
 */
export class QueueConsumer implements Consumption {
  readonly queue: string;
  readonly #options: ConsumerOptions;
  readonly #keeper: ChannelKeeper<Channel>;
  readonly #inFlight = new Set<Promise<void>>();
  /** Aborted once stop() has cancelled the consumer: held messages stop waiting and go back. */
  readonly #giveBack = new AbortController();
  #consumerTag: string | undefined;
  #stopping = false;
  #stopped: Promise<void> | undefined;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.queue = options.spec.name ?? privateQueueName();
    this.#keeper = ChannelKeeper.plain({
      connection: options.connection,
      logger: options.logger,
      setup: (channel) => this.#setup(channel),
      onOpen: () => {},
      onClose: () => {
        this.#consumerTag = undefined;
      },
    });
  }

  start(): Promise<void> {
    return this.#keeper.start();
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    // From here on no delivery reaches the handler, even on a channel that is being reopened right now.
    this.#stopping = true;
    const channel = this.#keeper.channel;
    if (channel && this.#consumerTag) await channel.cancel(this.#consumerTag).catch(() => {});
    // Only once cancelled, so that a message put back is not handed straight back to us.
    this.#giveBack.abort();
    await Promise.allSettled([...this.#inFlight]);
    // Let the batcher's last flush run before the channel goes.
    await new Promise((resolve) => setImmediate(resolve));
    const last = this.#keeper.channel;
    if (this.#options.spec.durability === 'private' && last) {
      // Left behind, it would expire by itself (PRIVATE_QUEUE_EXPIRES_MS); nobody will read it again.
      await last.deleteQueue(this.queue).catch(() => {});
    }
    await this.#keeper.close();
  }

  async #setup(channel: Channel): Promise<void> {
    // A channel reopened after stop() began is not consumed: the keeper closes it.
    if (this.#stopping) return;
    const { spec } = this.#options;
    const { queue } = this;
    await channel.prefetch(spec.prefetch);
    await declareQueue(channel, { ...spec, name: queue });
    const closed = new AbortController();
    channel.once('close', () => closed.abort());
    const session: Session = { channel, batcher: new AckBatcher(channel), closed: closed.signal };
    if (this.#stopping) return;
    const reply = await channel.consume(queue, (message) => {
      if (message === null) {
        // The broker cancelled us (queue deleted, or a cluster node left): start over on a new channel.
        this.#options.logger.warn('RabbitMQ cancelled the consumer, reopening');
        void channel.close().catch(() => {});
        return;
      }
      session.batcher.received(message);
      // Delivered after stop() began (before the broker saw the cancel): never handled, never acked, so
      // it goes back to the queue when the channel closes.
      if (this.#stopping) return;
      const work = this.#handle(message, session);
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    });
    this.#consumerTag = reply.consumerTag;
  }

  async #handle(message: ConsumeMessage, session: Session): Promise<void> {
    const { spec, logger } = this.#options;
    const decoded = decodeEnvelope(message.content, spec.kind, {
      messageId: message.properties.messageId,
      correlationId: message.properties.correlationId,
      timestamp: message.properties.timestamp,
    });
    for (let failures = 1; ; failures++) {
      let failure: Error;
      try {
        await this.#handleOnce(message, decoded, session.closed);
        session.batcher.finished(message);
        return;
      } catch (error) {
        failure = error as Error;
      }
      const log = { routingKey: message.fields.routingKey, reason: failure.message, failures };
      if (!this.#stopping && !session.closed.aborted) {
        const retryInMs = handlerRetryDelayMs(failures);
        logger.warn({ ...log, retryInMs }, 'could not finish a message (our own failure), trying it again');
        await sleep(retryInMs, undefined, {
          signal: AbortSignal.any([this.#giveBack.signal, session.closed]),
        }).catch(() => {});
      }
      if (session.closed.aborted) {
        // The broker already put it back; the delivery tag is void.
        logger.warn(log, 'could not finish a message before its channel closed; RabbitMQ delivers it again');
        return;
      }
      if (this.#stopping) {
        logger.warn(log, 'could not finish a message before stopping, returning it to the queue');
        session.batcher.requeue(message);
        return;
      }
    }
  }

  /** Handles the message once: hands it to the handler, or dead-letters what can never be handled. */
  async #handleOnce(message: ConsumeMessage, decoded: DecodeResult, returned: AbortSignal): Promise<void> {
    const { spec, logger } = this.#options;
    const refusal = decoded.ok
      ? await this.#handleDecoded(message, decoded.envelope, returned)
      : decoded.reason;
    if (refusal === undefined) return;
    logger.warn({ routingKey: message.fields.routingKey, reason: refusal }, 'refused a message');
    if (spec.durability === 'pack') await this.#options.deadLetter(message, refusal);
  }

  /** Runs the handler; returns the reason when it refused the message for good. */
  async #handleDecoded(
    message: ConsumeMessage,
    envelope: Envelope,
    returned: AbortSignal,
  ): Promise<string | undefined> {
    try {
      await this.#options.handler({
        envelope,
        replyTo: message.properties.replyTo || undefined,
        redelivered: message.fields.redelivered,
        returned,
        routingKey: message.fields.routingKey,
        sentBy: textHeader(message.properties.headers?.[SENT_BY_HEADER]),
      });
      return undefined;
    } catch (error) {
      if (error instanceof UnprocessableMessage) return error.message;
      throw error;
    }
  }
}

/** A header's value when it is text; AMQP headers may be any table value, and other senders set them. */
function textHeader(value: unknown): string | undefined {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' ? value : undefined;
}
