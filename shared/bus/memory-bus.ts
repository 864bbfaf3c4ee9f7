import { setTimeout as sleep } from 'node:timers/promises';
import { decodeEnvelope, type Envelope, encodeEnvelope, type MessageKind } from '../envelope.ts';
import {
  type Bus,
  type Consumption,
  type Destination,
  type Hold,
  handlerRetryDelayMs,
  type InboundMessage,
  type MessageHandler,
  type PublishOptions,
  type QueueSpec,
  UnprocessableMessage,
} from './bus.ts';
import { DEAD_LETTER_QUEUE, DEAD_LETTER_REASON_HEADER, topicMatches } from './topology.ts';

/** Nothing takes a delivery back from a handler in one process. */
const NEVER_RETURNED = new AbortController().signal;

interface StoredMessage {
  body: Buffer;
  replyTo: string | undefined;
  routingKey: string;
  headers: Record<string, string>;
  deliveries: number;
}

interface MemoryConsumer {
  handler: MessageHandler;
  kind: MessageKind;
  prefetch: number;
  inFlight: Set<Promise<void>>;
  active: boolean;
  /** Aborted on stop: messages waiting to be tried again go back to the queue. */
  stopped: AbortController;
}

interface MemoryQueue {
  name: string;
  durable: boolean;
  bindings: QueueSpec['bindings'];
  messages: StoredMessage[];
  consumers: MemoryConsumer[];
  nextConsumer: number;
}

/**
 * The bus inside one process, with RabbitMQ's semantics: topic routing, competing consumers, prefetch,
 * a failed handler tried again in place, and dead-lettering of malformed bodies. Bodies are encoded
 * and decoded as on the wire, so a handler sees exactly what it would see from RabbitMQ.
 */
export class MemoryBus implements Bus {
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #holds = new Set<string>();
  #privateCounter = 0;
  #closed = false;

  isConnected(): boolean {
    return !this.#closed;
  }

  /** Every message currently waiting in a queue (tests read the dead-letter queue this way). */
  peek(queue: string): Array<{ body: Buffer; headers: Record<string, string> }> {
    return (this.#queues.get(queue)?.messages ?? []).map(({ body, headers }) => ({ body, headers }));
  }

  async publish(destination: Destination, envelope: Envelope, options: PublishOptions = {}): Promise<void> {
    this.publishRaw(destination, encodeEnvelope(envelope), options);
  }

  /** Publishes bytes as they are, as an outside publisher could. */
  publishRaw(destination: Destination, body: Buffer, options: PublishOptions = {}): void {
    if (this.#closed) throw new Error('the in-memory bus is closed');
    const targets =
      'queue' in destination
        ? [this.#queues.get(destination.queue)].filter((queue) => queue !== undefined)
        : [...this.#queues.values()].filter((queue) =>
            queue.bindings.some(
              (binding) =>
                binding.exchange === destination.exchange &&
                topicMatches(binding.pattern, destination.routingKey),
            ),
          );
    const routingKey = 'queue' in destination ? destination.queue : destination.routingKey;
    for (const queue of targets) {
      queue.messages.push({
        body,
        replyTo: options.replyTo,
        routingKey,
        headers: { ...options.headers },
        deliveries: 0,
      });
      this.#schedule(queue);
    }
  }

  async consume(spec: QueueSpec, handler: MessageHandler): Promise<Consumption> {
    const name = spec.name ?? `memory.private.${++this.#privateCounter}`;
    const queue = this.#declare(name, spec.durability === 'pack', spec.bindings);
    const consumer: MemoryConsumer = {
      handler,
      kind: spec.kind,
      prefetch: spec.prefetch,
      inFlight: new Set(),
      active: true,
      stopped: new AbortController(),
    };
    queue.consumers.push(consumer);
    this.#schedule(queue);
    return {
      queue: name,
      stop: async () => {
        consumer.active = false;
        consumer.stopped.abort();
        queue.consumers = queue.consumers.filter((other) => other !== consumer);
        await Promise.allSettled([...consumer.inFlight]);
        if (!queue.durable) this.#queues.delete(name);
      },
    };
  }

  async hasQueue(name: string): Promise<boolean> {
    return this.#queues.has(name);
  }

  async declareQueue(name: string, bindings: QueueSpec['bindings']): Promise<void> {
    this.#declare(name, true, bindings);
  }

  /** Holds are between the runtimes sharing this bus: one process, so they need no broker. */
  async hold(name: string): Promise<Hold | undefined> {
    if (this.#holds.has(name)) return undefined;
    this.#holds.add(name);
    let held = true;
    return {
      release: async () => {
        if (held) this.#holds.delete(name);
        held = false;
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const consumers = [...this.#queues.values()].flatMap((queue) => queue.consumers);
    for (const consumer of consumers) {
      consumer.active = false;
      consumer.stopped.abort();
    }
    await Promise.allSettled(consumers.flatMap((consumer) => [...consumer.inFlight]));
  }

  #declare(name: string, durable: boolean, bindings: QueueSpec['bindings']): MemoryQueue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = { name, durable, bindings: [], messages: [], consumers: [], nextConsumer: 0 };
      this.#queues.set(name, queue);
    }
    for (const binding of bindings) {
      if (!queue.bindings.some((b) => b.exchange === binding.exchange && b.pattern === binding.pattern)) {
        queue.bindings.push(binding);
      }
    }
    return queue;
  }

  #schedule(queue: MemoryQueue): void {
    // Deliver on a later turn, as a broker would: a publisher never runs its consumers' handlers inline.
    setImmediate(() => this.#dispatch(queue));
  }

  #dispatch(queue: MemoryQueue): void {
    while (queue.messages.length > 0) {
      const consumer = this.#pickConsumer(queue);
      if (!consumer) return;
      const message = queue.messages.shift() as StoredMessage;
      const work = this.#deliver(queue, consumer, message);
      consumer.inFlight.add(work);
      void work.finally(() => {
        consumer.inFlight.delete(work);
        this.#schedule(queue);
      });
    }
  }

  #pickConsumer(queue: MemoryQueue): MemoryConsumer | undefined {
    for (let tried = 0; tried < queue.consumers.length; tried++) {
      const index = (queue.nextConsumer + tried) % queue.consumers.length;
      const consumer = queue.consumers[index] as MemoryConsumer;
      if (consumer.active && consumer.inFlight.size < consumer.prefetch) {
        queue.nextConsumer = index + 1;
        return consumer;
      }
    }
    return undefined;
  }

  async #deliver(queue: MemoryQueue, consumer: MemoryConsumer, message: StoredMessage): Promise<void> {
    message.deliveries++;
    const decoded = decodeEnvelope(message.body, consumer.kind);
    if (!decoded.ok) {
      if (queue.durable) this.#toDeadLetters(message, decoded.reason);
      return;
    }
    const inbound: InboundMessage = {
      envelope: decoded.envelope,
      replyTo: message.replyTo,
      redelivered: message.deliveries > 1,
      returned: NEVER_RETURNED,
      routingKey: message.routingKey,
    };
    // A handler that throws is tried again in place after a pause, as on RabbitMQ (see QueueConsumer).
    for (let failures = 1; ; failures++) {
      try {
        await consumer.handler(inbound);
        return;
      } catch (error) {
        if (error instanceof UnprocessableMessage) {
          if (queue.durable) this.#toDeadLetters(message, error.message);
          return;
        }
      }
      if (consumer.active) {
        await sleep(handlerRetryDelayMs(failures), undefined, { signal: consumer.stopped.signal }).catch(
          () => {},
        );
      }
      if (!consumer.active) {
        queue.messages.unshift(message);
        return;
      }
    }
  }

  #toDeadLetters(message: StoredMessage, reason: string): void {
    const dead = this.#declare(DEAD_LETTER_QUEUE, true, []);
    dead.messages.push({ ...message, headers: { ...message.headers, [DEAD_LETTER_REASON_HEADER]: reason } });
  }
}
