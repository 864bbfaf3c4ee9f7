import type { ConfirmChannel, Options, RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { ChannelKeeper } from './channel-keeper.ts';

export interface OutboundMessage {
  exchange: string;
  routingKey: string;
  body: Buffer;
  properties: Options.Publish;
}

interface PendingPublish {
  message: OutboundMessage;
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  settled: boolean;
}

export interface PublisherOptions {
  connection: RecoveringChannelModel;
  logger: Logger;
  /** Declares exchanges and queues the publisher relies on; runs on every new channel. */
  setup: (channel: ConfirmChannel) => Promise<void>;
  /** Most messages awaiting a broker confirm at once. Default: 500. */
  confirmWindow?: number;
  /** How long a publish may wait (for a reconnect, or for its confirm) before it fails. Default: 30 000 ms. */
  timeoutMs?: number;
}

/**
 * Publishes with publisher confirms. While the broker is unreachable, messages wait (up to the timeout)
 * and go out after the reconnect; a message whose channel died before its confirm is sent again, so
 * a consumer may see it twice: envelopes carry ids so that receivers can tell.
 */
export class ConfirmPublisher {
  readonly #keeper: ChannelKeeper<ConfirmChannel>;
  readonly #logger: Logger;
  readonly #window: number;
  readonly #timeoutMs: number;
  readonly #waiting: PendingPublish[] = [];
  #inFlight = 0;
  #blockedOnDrain = false;

  constructor(options: PublisherOptions) {
    this.#logger = options.logger;
    this.#window = options.confirmWindow ?? 500;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#keeper = ChannelKeeper.confirm({
      connection: options.connection,
      logger: options.logger,
      setup: options.setup,
      onOpen: (channel) => {
        channel.on('drain', () => {
          this.#blockedOnDrain = false;
          this.#pump();
        });
        this.#blockedOnDrain = false;
        this.#pump();
      },
      onClose: () => {},
    });
  }

  start(): Promise<void> {
    return this.#keeper.start();
  }

  get connected(): boolean {
    return this.#keeper.channel !== undefined;
  }

  /** Resolves once the broker confirms the message; rejects after the timeout. */
  publish(message: OutboundMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending: PendingPublish = {
        message,
        resolve,
        reject,
        settled: false,
        timer: setTimeout(() => {
          this.#settle(
            pending,
            new Error(`RabbitMQ did not confirm the message within ${this.#timeoutMs} ms`),
          );
          const index = this.#waiting.indexOf(pending);
          if (index >= 0) this.#waiting.splice(index, 1);
        }, this.#timeoutMs),
      };
      this.#waiting.push(pending);
      this.#pump();
    });
  }

  async close(): Promise<void> {
    for (const pending of this.#waiting.splice(0))
      this.#settle(pending, new Error('the publisher was closed'));
    await this.#keeper.close();
  }

  #pump(): void {
    const channel = this.#keeper.channel;
    while (channel && !this.#blockedOnDrain && this.#inFlight < this.#window && this.#waiting.length > 0) {
      const pending = this.#waiting.shift() as PendingPublish;
      if (pending.settled) continue;
      if (!this.#send(channel, pending)) return;
    }
  }

  /** False when the channel refused the message: it is closing, and the reopen will pump again. */
  #send(channel: ConfirmChannel, pending: PendingPublish): boolean {
    const { exchange, routingKey, body, properties } = pending.message;
    this.#inFlight++;
    let flushed: boolean;
    try {
      flushed = channel.publish(exchange, routingKey, body, properties, (error: unknown) =>
        this.#confirmed(pending, error),
      );
    } catch (error) {
      // The channel closed under us; it will be reopened and the message sent then.
      this.#inFlight--;
      this.#waiting.unshift(pending);
      this.#logger.debug(
        { reason: (error as Error).message },
        'publish on a closing channel, will send again',
      );
      return false;
    }
    if (!flushed) this.#blockedOnDrain = true;
    return true;
  }

  #confirmed(pending: PendingPublish, error: unknown): void {
    this.#inFlight--;
    if (error) {
      // Nacked, or the channel closed before the confirm came: the broker may not have it, so send again.
      if (!pending.settled) this.#waiting.unshift(pending);
      this.#logger.debug({ reason: String(error) }, 'publish not confirmed, will send again');
    } else {
      this.#settle(pending);
    }
    this.#pump();
  }

  #settle(pending: PendingPublish, error?: Error): void {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve();
  }
}
