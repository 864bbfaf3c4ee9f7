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
  /** Messages waiting to be delivered (not those delivered and not yet acknowledged). */
  messages: number;
  consumers: number;
}

/** A name taken by one process at a time; see Bus.hold. */
export interface Hold {
  /** Gives the name back. Idempotent. */
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
   * Takes `name` for this process alone among every process on the broker, until `release()` or until this
   * process's connection to the broker closes (so a crashed process holds nothing). Resolves undefined
   * when another process holds it. Pack instances hold the commands they run this way (docs/protocol.md).
   */
  hold(name: string): Promise<Hold | undefined>;
  /** True while connected (always, for the in-memory bus). */
  isConnected(): boolean;
  close(): Promise<void>;
}
