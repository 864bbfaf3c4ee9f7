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
  routingKey: string;
}

/**
 * Which queue to consume.
 * - `pack`: a durable quorum queue shared by competing consumers (pack instances, the engine).
 * - `private`: a server-named queue that lives as long as this consumer (tail, send --wait).
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
 * Resolving acknowledges the message. Throwing returns it to the queue for another try: do that only for
 * failures of our own infrastructure (the bus is down), never for bad input: throw UnprocessableMessage for that.
 */
export type MessageHandler = (message: InboundMessage) => Promise<void>;

export interface Consumption {
  /** Stops taking new messages; resolves once every message already taken is handled and acked. */
  stop(): Promise<void>;
  /** The queue's name (server-generated for private queues). */
  readonly queue: Promise<string>;
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
