import {
  type ConfirmChannel,
  IllegalOperationError,
  type Options,
  type RecoveringChannelModel,
} from 'amqplib';
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
  /** Publish order. A message sent again goes back to its place by it, so resends keep the order (issue 12). */
  seq: number;
  /** The entry after this one while it waits in the backlog. */
  next: PendingPublish | undefined;
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
 * a consumer may see it twice: envelopes carry ids so that receivers can tell. Messages go out in publish
 * order, resends included; a message that AMQP cannot encode fails alone.
 */
export class ConfirmPublisher {
  readonly #keeper: ChannelKeeper<ConfirmChannel>;
  readonly #logger: Logger;
  readonly #window: number;
  readonly #timeoutMs: number;
  readonly #backlog = new Backlog();
  #nextSeq = 0;
  #inFlight = 0;
  #blockedOnDrain = false;
  #pumpScheduled = false;
  #closed = false;

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

  /** Resolves once the broker confirms the message; rejects after the timeout, or if AMQP cannot encode it. */
  publish(message: OutboundMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending: PendingPublish = {
        message,
        resolve,
        reject,
        settled: false,
        seq: this.#nextSeq++,
        next: undefined,
        timer: setTimeout(() => {
          this.#settle(
            pending,
            new Error(`RabbitMQ did not confirm the message within ${this.#timeoutMs} ms`),
          );
          // All wait equally long, so what times out is at the head of the backlog, or in flight.
          this.#backlog.dropSettled();
        }, this.#timeoutMs),
      };
      this.#backlog.push(pending);
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#backlog.clear((pending) => this.#settle(pending, new Error('the publisher was closed')));
    await this.#keeper.close();
  }

  #pump(): void {
    const channel = this.#keeper.channel;
    if (!channel) return;
    while (!this.#blockedOnDrain && this.#inFlight < this.#window) {
      const pending = this.#backlog.take();
      if (!pending) return;
      if (!this.#send(channel, pending)) return;
    }
  }

  /** False when the channel refused the message: it is closing, and the reopen will pump again. */
  #send(channel: ConfirmChannel, pending: PendingPublish): boolean {
    const { exchange, routingKey, body, properties } = pending.message;
    // AMQP timestamps are unsigned 64-bit seconds; amqp-bus computes one from createdAt, which may be
    // before 1970. amqplib happens to throw a RangeError on writing one, but this must not hang on that.
    const timestamp = properties.timestamp;
    if (timestamp !== undefined && !(Number.isInteger(timestamp) && timestamp >= 0 && timestamp < 2 ** 64)) {
      this.#refuse(pending, `the AMQP timestamp ${timestamp} is not whole seconds since 1970`);
      return true;
    }
    this.#inFlight++;
    let flushed: boolean;
    try {
      flushed = channel.publish(exchange, routingKey, body, properties, (error: unknown) =>
        this.#confirmed(pending, error),
      );
    } catch (error) {
      this.#inFlight--;
      if (error instanceof IllegalOperationError) {
        // The channel is closing or closed ("Channel closed", "Connection closing"): the keeper opens a
        // new one and pumps again, and the message is sent then.
        this.#backlog.putBack(pending);
        this.#logger.debug({ reason: error.message }, 'publish on a closing channel, will send again');
        return false;
      }
      // Anything else is amqplib refusing to encode this message (a short string over 255 bytes, a header
      // it cannot write). It throws before writing a byte or taking a delivery tag, so the channel is
      // fine and the rest go on.
      this.#refuse(pending, explainEncodingError(pending.message, error), error);
      return true;
    }
    if (!flushed) this.#blockedOnDrain = true;
    return true;
  }

  #refuse(pending: PendingPublish, reason: string, cause?: unknown): void {
    const { exchange, routingKey, properties } = pending.message;
    this.#logger.warn(
      { exchange, routingKey, messageId: properties.messageId, reason },
      'RabbitMQ cannot carry a message, failing that publish',
    );
    this.#settle(
      pending,
      new Error(
        `RabbitMQ cannot carry this message (exchange "${exchange}", routing key "${routingKey}"): ${reason}`,
        { cause },
      ),
    );
  }

  #confirmed(pending: PendingPublish, error: unknown): void {
    this.#inFlight--;
    if (!error) {
      this.#settle(pending);
      this.#pump();
      return;
    }
    if (this.#closed) {
      this.#settle(pending, new Error('the publisher was closed'));
      return;
    }
    // Nacked, or the channel closed before the confirm came: the broker may not have it, so send again,
    // in its place. (After a nack the channel stays open, so the message goes out behind those sent after
    // it; RabbitMQ nacks only when a queue process fails.)
    if (!pending.settled) this.#backlog.putBack(pending);
    this.#logger.debug({ reason: String(error) }, 'publish not confirmed, will send again');
    // A lost channel calls back all its unconfirmed messages at once, before its owner hears that it
    // closed: pumping after each would only bounce them off the dead channel. Once, after them all.
    this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #settle(pending: PendingPublish, error?: Error): void {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve();
  }
}

/**
 * The messages waiting to be sent, in publish order: a list linked through the entries themselves, so
 * adding and taking cost O(1) and allocate nothing. An entry that times out is only marked settled; it
 * leaves when it reaches the head (where timeouts happen, since every entry waits equally long).
 */
class Backlog {
  #head: PendingPublish | undefined;
  #tail: PendingPublish | undefined;
  /** The last entry put back: a lost channel returns its messages in the order it sent them, so the
   * next one usually goes right after it. */
  #lastPutBack: PendingPublish | undefined;

  /** Adds a new publish: the latest there is, so it goes last. */
  push(entry: PendingPublish): void {
    entry.next = undefined;
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
  }

  /** Puts back a message that was taken but not confirmed, in its publish order among the rest. */
  putBack(entry: PendingPublish): void {
    const head = this.#head;
    if (!head || entry.seq < head.seq) {
      entry.next = head;
      this.#head = entry;
      if (!head) this.#tail = entry;
    } else {
      const hint = this.#lastPutBack;
      let before = hint !== undefined && hint.seq < entry.seq ? hint : head;
      while (before.next && before.next.seq < entry.seq) before = before.next;
      entry.next = before.next;
      before.next = entry;
      if (!entry.next) this.#tail = entry;
    }
    this.#lastPutBack = entry;
  }

  /** The oldest entry still waiting, taken out; undefined when there is none. */
  take(): PendingPublish | undefined {
    this.dropSettled();
    const entry = this.#head;
    if (entry) this.#remove(entry);
    return entry;
  }

  dropSettled(): void {
    while (this.#head?.settled) this.#remove(this.#head);
  }

  /** Empties the backlog, handing each waiting entry to `visit`. */
  clear(visit: (entry: PendingPublish) => void): void {
    for (let entry = this.#head; entry; entry = entry.next) visit(entry);
    this.#head = this.#tail = this.#lastPutBack = undefined;
  }

  #remove(head: PendingPublish): void {
    this.#head = head.next;
    if (!this.#head) this.#tail = undefined;
    head.next = undefined;
    // A hint that left the list would lead the next putBack along entries no longer in it.
    if (head === this.#lastPutBack) this.#lastPutBack = undefined;
  }
}

/** amqplib's message names the field but counts "chars"; say what is too long, in bytes, when that is it. */
function explainEncodingError(message: OutboundMessage, error: unknown): string {
  const fields: Record<string, unknown> = {
    ...message.properties,
    exchange: message.exchange,
    routingKey: message.routingKey,
  };
  for (const [field, value] of Object.entries(fields)) {
    if (typeof value !== 'string') continue;
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > 255) return `${field} is ${bytes} bytes in UTF-8; AMQP short strings hold at most 255`;
  }
  return error instanceof Error ? error.message : String(error);
}
