import type { Envelope, MessageKind } from '../envelope.ts';
import type { ExchangeName } from './topology.ts';

/** Where a message goes: an exchange with a routing key, or one queue by name (replies, dead letters). */
export type Destination = { exchange: ExchangeName; routingKey: string } | { queue: string };

export interface PublishOptions {
  /** Queue the receiver should send its answer to (AMQP `replyTo`). */
  replyTo?: string | undefined;
  /** Extra AMQP headers. */
  headers?: Record<string, string> | undefined;
}

/** A message taken from a queue, already decoded. */
export interface InboundMessage {
  envelope: Envelope;
  replyTo: string | undefined;
  /** The broker has delivered this message before (a consumer died or nacked it). */
  redelivered: boolean;
  /**
   * Aborts when the broker has taken this delivery back while it is being handled (its channel closed):
   * another consumer of the queue may be handed it meanwhile. Never aborts on the in-memory bus.
   */
  returned: AbortSignal;
  routingKey: string;
  /** Its `x-switchboard-sent-by` header (SENT_BY_HEADER): who sent a command through the console or the HTTP API. */
  sentBy: string | undefined;
}

/**
 * Which queue to consume.
 * - `pack`: a durable quorum queue shared by competing consumers (pack instances, the engine).
 * - `private`: a queue of this consumer alone (tail, send --wait, replies to PackContext.request). Its name
 *   is chosen by the consumer and kept across reconnects, so a `replyTo` naming it stays valid; it is
 *   deleted on stop, and outlives a lost connection for a while so that replies sent meanwhile wait.
 */
export interface QueueSpec {
  name?: string | undefined;
  durability: 'pack' | 'private';
  /** Which messages the queue receives; may be empty for a queue fed by name. */
  bindings: Array<{ exchange: ExchangeName; pattern: string }>;
  /** What a message in this queue is; decides how bodies that fail to decode are read. */
  kind: MessageKind;
  /** Unacknowledged messages handed to this consumer at once. */
  prefetch: number;
}

/** Thrown by a handler for a message that can never be handled: it goes to the dead-letter queue. */
export class UnprocessableMessage extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'UnprocessableMessage';
  }
}

/**
 * Resolving acknowledges the message. Throwing means our own infrastructure failed (a publish timed out,
 * the database is busy), never the message: the handler is called again with the same message after a
 * pause (handlerRetryDelayMs), for as long as it takes, so it must be safe to run again. Bad input is not a
 * reason to throw: throw UnprocessableMessage for that.
 */
export type MessageHandler = (message: InboundMessage) => Promise<void>;

/** The pause before a failed handler's next try: 1 s, doubling, at most 10 s. */
export function handlerRetryDelayMs(failures: number): number {
  return Math.min(10_000, 1000 * 2 ** Math.max(0, failures - 1));
}

export interface Consumption {
  /**
   * Stops taking new messages; resolves once every message already taken is handled and acked, or put
   * back in the queue (one that was waiting to be tried again).
   */
  stop(): Promise<void>;
  /** The queue's name; for a private queue, chosen at consume and the same across reconnects. */
  readonly queue: string;
}

/** What the broker says of a queue at one moment. */
export interface QueueState {
  /**
   * Messages waiting to be delivered (not those delivered and not yet acknowledged). For the dead-letter
   * queue, also those this bus's deadLetters() holds: they wait for an operator, as the rest do.
   */
  messages: number;
  consumers: number;
}

/** A name taken by one process at a time; see Bus.hold. */
export interface Hold {
  /** Gives the name back. Idempotent. */
  release(): Promise<void>;
}

/** A message in the dead-letter queue (switchboard.dead), with where it was going and why it was set aside. */
export interface DeadLetter {
  /**
   * How the console names it: its messageId when it has one that no other letter listed shares, otherwise
   * `sha256-<digest>` of what it carries (see letterIds). The same while the letters listed stay the same.
   */
  id: string;
  messageId: string | undefined;
  /** The original bytes, as they were refused. */
  body: Buffer;
  /** Its headers as the broker holds them, the dead-letter ones included. */
  headers: Record<string, unknown>;
  /** Why it was set aside; undefined when nothing says (a message published straight to the queue). */
  reason: string | undefined;
  /** Where it was going; undefined when nothing says. `''` is the default exchange (a queue by name). */
  originalExchange: string | undefined;
  originalRoutingKey: string | undefined;
  /** When it was set aside (ISO 8601), when known. */
  deadLetteredAt: string | undefined;
}

export interface DeadLetterListing {
  /** Oldest first, at most a bounded number of them (1000 on RabbitMQ). */
  letters: DeadLetter[];
  /** Letters in the queue, those not listed included. */
  total: number;
}

/** Why a dead letter could not be listed, sent back or discarded; each code is one fitting answer. */
export type DeadLetterErrorCode =
  /** No letter listed has this id (another requeued or discarded it, or it never was). */
  | 'unknown_letter'
  /** Nothing says where the letter was going. */
  | 'no_original_destination'
  /** Nothing is bound for where the letter was going any more: publishing it would drop it. */
  | 'unroutable'
  /** The broker cannot be reached. */
  | 'broker_unreachable'
  /** The broker did not confirm the publish (refused it, or not in time); the letter stays. */
  | 'requeue_failed';

export class DeadLetterError extends Error {
  readonly code: DeadLetterErrorCode;

  constructor(code: DeadLetterErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'DeadLetterError';
    this.code = code;
  }
}

/**
 * The dead-letter queue as an operator sees it. Nothing is lost: `requeue` publishes the original body and
 * properties to where the letter was going, waits for the broker's confirm, and only then removes the
 * letter; when anything fails before the confirm, the letter stays. Operations reject with DeadLetterError.
 */
export interface DeadLetterQueue {
  list(): Promise<DeadLetterListing>;
  /**
   * Sends the letter back to its original exchange and routing key with its messageId, without the
   * dead-letter headers and with REQUEUED_AT_HEADER; resolves with where it went, once it left the queue.
   */
  requeue(id: string): Promise<{ exchange: string; routingKey: string }>;
  /** Removes the letter for good. */
  discard(id: string): Promise<void>;
  /** Lets go of what it holds (on RabbitMQ, the letters go back to the queue); the next call takes them again. */
  release(): Promise<void>;
}

export interface Bus {
  /** Resolves once the broker has confirmed the message (persisted, for durable queues). */
  publish(destination: Destination, envelope: Envelope, options?: PublishOptions): Promise<void>;
  /** Declares the queue and its bindings, consumes it, and keeps doing so across reconnects. */
  consume(spec: QueueSpec, handler: MessageHandler): Promise<Consumption>;
  /** Declares a durable pack queue without consuming it, so commands routed to it wait there. */
  declareQueue(name: string, bindings: QueueSpec['bindings']): Promise<void>;
  /** Whether a queue exists (`send` checks that some instance of the pack ever declared its queue). */
  hasQueue(name: string): Promise<boolean>;
  /** A queue's ready messages and consumers, or undefined when it does not exist (the console shows them). */
  inspectQueue(name: string): Promise<QueueState | undefined>;
  /**
   * The dead-letter queue, for the console: the same object on every call, so one process never holds
   * letters twice. Takes nothing until it is first used.
   */
  deadLetters(): DeadLetterQueue;
  /**
   * Takes `name` for this process alone among every process on the broker, until `release()` or until this
   * process's connection to the broker closes (so a crashed process holds nothing). Resolves undefined
   * when another process holds it. Pack instances hold the commands they run this way (docs/protocol.md).
   */
  hold(name: string): Promise<Hold | undefined>;
  /** True while connected (always, for the in-memory bus). */
  isConnected(): boolean;
  close(): Promise<void>;
}
