import type { Channel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { decodeEnvelope, type Envelope } from '../../envelope.ts';
import { type Consumption, type MessageHandler, type QueueSpec, UnprocessableMessage } from '../bus.ts';
import { AckBatcher } from './ack-batcher.ts';
import { ChannelKeeper } from './channel-keeper.ts';
import { declareQueue } from './declare.ts';

/** Sets aside a message that can never be handled; resolves once the broker has it. */
export type DeadLetterSink = (message: ConsumeMessage, reason: string) => Promise<void>;

export interface ConsumerOptions {
  connection: RecoveringChannelModel;
  spec: QueueSpec;
  handler: MessageHandler;
  deadLetter: DeadLetterSink;
  logger: Logger;
}

/** Consumes one queue, across reconnects, with bounded concurrency (prefetch) and batched acks. */
export class QueueConsumer implements Consumption {
  readonly queue: Promise<string>;
  readonly #options: ConsumerOptions;
  readonly #keeper: ChannelKeeper<Channel>;
  readonly #inFlight = new Set<Promise<void>>();
  #resolveQueue!: (name: string) => void;
  #consumerTag: string | undefined;
  #stopping = false;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.queue = new Promise((resolve) => {
      this.#resolveQueue = resolve;
    });
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

  async stop(): Promise<void> {
    this.#stopping = true;
    const channel = this.#keeper.channel;
    if (channel && this.#consumerTag) await channel.cancel(this.#consumerTag).catch(() => {});
    await Promise.allSettled([...this.#inFlight]);
    // Let the batcher's last flush run before the channel goes.
    await new Promise((resolve) => setImmediate(resolve));
    await this.#keeper.close();
  }

  async #setup(channel: Channel): Promise<void> {
    const { spec } = this.#options;
    await channel.prefetch(spec.prefetch);
    const queue = await declareQueue(channel, spec);
    this.#resolveQueue(queue);
    const batcher = new AckBatcher(channel);
    const reply = await channel.consume(queue, (message) => {
      if (message === null) {
        // The broker cancelled us (queue deleted, or a cluster node left): start over on a new channel.
        this.#options.logger.warn({ queue }, 'RabbitMQ cancelled the consumer, reopening');
        void channel.close().catch(() => {});
        return;
      }
      batcher.received(message);
      const work = this.#handle(message, batcher);
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    });
    this.#consumerTag = reply.consumerTag;
  }

  async #handle(message: ConsumeMessage, batcher: AckBatcher): Promise<void> {
    const { spec, logger } = this.#options;
    const decoded = decodeEnvelope(message.content, spec.kind, {
      messageId: message.properties.messageId,
      correlationId: message.properties.correlationId,
      timestamp: message.properties.timestamp,
    });
    try {
      const refusal = decoded.ok ? await this.#handleDecoded(message, decoded.envelope) : decoded.reason;
      if (refusal !== undefined) {
        logger.warn({ routingKey: message.fields.routingKey, reason: refusal }, 'refused a message');
        if (spec.durability === 'pack') await this.#options.deadLetter(message, refusal);
      }
      batcher.finished(message);
    } catch (error) {
      logger.warn(
        { routingKey: message.fields.routingKey, reason: (error as Error).message, stopping: this.#stopping },
        'could not finish a message, returning it to the queue',
      );
      batcher.requeue(message);
    }
  }

  /** Runs the handler; returns the reason when it refused the message for good. */
  async #handleDecoded(message: ConsumeMessage, envelope: Envelope): Promise<string | undefined> {
    try {
      await this.#options.handler({
        envelope,
        replyTo: message.properties.replyTo || undefined,
        redelivered: message.fields.redelivered,
        routingKey: message.fields.routingKey,
      });
      return undefined;
    } catch (error) {
      if (error instanceof UnprocessableMessage) return error.message;
      throw error;
    }
  }
}
