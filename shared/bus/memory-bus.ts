import { setTimeout as sleep } from 'node:timers/promises';
import { decodeEnvelope, type Envelope, encodeEnvelope, type MessageKind } from '../envelope.ts';
import {
  type Bus,
  type Consumption,
  DeadLetterError,
  type DeadLetterQueue,
  type Destination,
  type Hold,
  handlerRetryDelayMs,
  type InboundMessage,
  type MessageHandler,
  type PublishOptions,
  type QueueSpec,
  type QueueState,
  UnprocessableMessage,
} from './bus.ts';
import {
  describeDeadLetters,
  destinationOf,
  MAX_LISTED_DEAD_LETTERS,
  requeueHeaders,
} from './dead-letters.ts';
import {
  COMMANDS_EXCHANGE,
  DEAD_LETTER_EXCHANGE_HEADER,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_ROUTING_KEY_HEADER,
  DEAD_LETTERED_AT_HEADER,
  EVENTS_EXCHANGE,
  type ExchangeName,
  SENT_BY_HEADER,
  topicMatches,
} from './topology.ts';

/**
 * The most commands MemoryBus keeps waiting for packs that have no queue yet, all packs together; past it,
 * publishing another such command rejects, so a flow firing at a pack that never starts cannot fill memory.
 */
export const MAX_WAITING_COMMANDS = 10_000;

export interface MemoryBusOptions {
  /** See MAX_WAITING_COMMANDS, the default. */
  maxWaitingCommands?: number | undefined;
}

/** Commands waiting for their pack's queue, per routing key (what a console or a metric shows). */
export interface WaitingCommands {
  routingKey: string;
  count: number;
  /** When the oldest of them was published (ISO 8601). */
  oldestAt: string;
}

/** Nothing takes a delivery back from a handler in one process. */
const NEVER_RETURNED = new AbortController().signal;

interface StoredMessage {
  body: Buffer;
  /** The envelope's id, as AmqpBus sets the AMQP messageId; undefined for raw bytes. */
  messageId: string | undefined;
  replyTo: string | undefined;
  /** '' for a message sent to a queue by name (the default exchange, on RabbitMQ). */
  exchange: string;
  routingKey: string;
  headers: Record<string, string>;
  deliveries: number;
}

interface WaitingCommand {
  message: StoredMessage;
  publishedAt: Date;
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
 *
 * One difference: a command that no pack queue is bound for waits (up to maxWaitingCommands) and goes to
 * the first pack queue declared later that it matches. RabbitMQ drops it, but there pack queues are
 * durable and exist once any instance of the pack ever started; in one process, nothing has declared
 * them before the packs start, and a pack that is not configured never does. Events nobody is bound
 * for are dropped, as on RabbitMQ.
 */
export class MemoryBus implements Bus {
  readonly #queues = new Map<string, MemoryQueue>();
  /** In publish order. */
  #waiting: WaitingCommand[] = [];
  readonly #maxWaitingCommands: number;
  readonly #holds = new Set<string>();
  #privateCounter = 0;
  #deadLetters: DeadLetterQueue | undefined;
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#maxWaitingCommands = options.maxWaitingCommands ?? MAX_WAITING_COMMANDS;
  }

  isConnected(): boolean {
    return !this.#closed;
  }

  /** Every message currently waiting in a queue (tests read the dead-letter queue this way). */
  peek(queue: string): Array<{ body: Buffer; headers: Record<string, string> }> {
    return (this.#queues.get(queue)?.messages ?? []).map(({ body, headers }) => ({ body, headers }));
  }

  /** The commands waiting for a pack queue to be declared, per routing key, oldest first. */
  waitingCommands(): WaitingCommands[] {
    const byKey = new Map<string, WaitingCommands>();
    for (const { message, publishedAt } of this.#waiting) {
      const entry = byKey.get(message.routingKey) ?? {
        routingKey: message.routingKey,
        count: 0,
        oldestAt: publishedAt.toISOString(),
      };
      entry.count++;
      byKey.set(message.routingKey, entry);
    }
    return [...byKey.values()];
  }

  async publish(destination: Destination, envelope: Envelope, options: PublishOptions = {}): Promise<void> {
    this.#publishBytes(destination, encodeEnvelope(envelope), options, envelope.id);
  }

  /** Publishes bytes as they are, as an outside publisher could. */
  publishRaw(destination: Destination, body: Buffer, options: PublishOptions = {}): void {
    this.#publishBytes(destination, body, options, undefined);
  }

  #publishBytes(
    destination: Destination,
    body: Buffer,
    options: PublishOptions,
    messageId: string | undefined,
  ): void {
    if (this.#closed) throw new Error('the in-memory bus is closed');
    const targets =
      'queue' in destination
        ? [this.#queues.get(destination.queue)].filter((queue) => queue !== undefined)
        : [...this.#queues.values()].filter((queue) =>
            isBoundFor(queue, destination.exchange, destination.routingKey),
          );
    const routingKey = 'queue' in destination ? destination.queue : destination.routingKey;
    const message = (): StoredMessage => ({
      body,
      messageId,
      replyTo: options.replyTo,
      exchange: 'queue' in destination ? '' : destination.exchange,
      routingKey,
      headers: { ...options.headers },
      deliveries: 0,
    });
    // A private queue (tail) bound for the command sees it too, but it is a pack queue that must run it.
    if (
      'exchange' in destination &&
      destination.exchange === COMMANDS_EXCHANGE &&
      !targets.some((queue) => queue.durable)
    ) {
      if (this.#waiting.length >= this.#maxWaitingCommands) {
        throw new Error(
          `command "${routingKey}" refused: no instance of pack "${routingKey.split('.')[0]}" has started on ` +
            `the in-memory bus, and ${this.#maxWaitingCommands} commands (the limit) already wait for their packs`,
        );
      }
      this.#waiting.push({ message: message(), publishedAt: new Date() });
    }
    for (const queue of targets) {
      queue.messages.push(message());
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

  /**
   * The dead-letter queue of this bus. Nothing needs holding in one process: listing reads the queue,
   * a requeue publishes and removes the letter in one step.
   */
  deadLetters(): DeadLetterQueue {
    this.#deadLetters ??= this.#openDeadLetters();
    return this.#deadLetters;
  }

  #openDeadLetters(): DeadLetterQueue {
    const shown = () => this.#declare(DEAD_LETTER_QUEUE, true, []).messages.slice(0, MAX_LISTED_DEAD_LETTERS);
    const find = (id: string) => {
      const messages = shown();
      const letters = describeDeadLetters(messages);
      const index = letters.findIndex((letter) => letter.id === id);
      if (index < 0) throw new DeadLetterError('unknown_letter', `no dead letter "${id}" is listed`);
      return {
        letter: letters[index] as (typeof letters)[number],
        message: messages[index] as StoredMessage,
      };
    };
    return {
      list: async () => {
        const total = this.#declare(DEAD_LETTER_QUEUE, true, []).messages.length;
        return { letters: describeDeadLetters(shown()), total };
      },
      requeue: async (id) => {
        const { letter, message } = find(id);
        const destination = destinationOf(letter);
        this.#requeue(message, destination);
        return destination;
      },
      discard: async (id) => {
        this.#removeDead(find(id).message);
      },
      release: async () => {},
    };
  }

  #requeue(message: StoredMessage, destination: { exchange: string; routingKey: string }): void {
    if (this.#closed) throw new DeadLetterError('broker_unreachable', 'the in-memory bus is closed');
    const { exchange, routingKey } = destination;
    const target: Destination =
      exchange === '' ? { queue: routingKey } : { exchange: exchange as ExchangeName, routingKey };
    // As RabbitMQ with `mandatory`: what nothing would receive is refused, not dropped. A command waits
    // for its pack's queue here (see the class comment), so it is never dropped.
    const received =
      exchange === ''
        ? this.#queues.has(routingKey)
        : exchange === COMMANDS_EXCHANGE ||
          (exchange === EVENTS_EXCHANGE &&
            [...this.#queues.values()].some((queue) => isBoundFor(queue, EVENTS_EXCHANGE, routingKey)));
    if (!received) {
      throw new DeadLetterError(
        'unroutable',
        `nothing is bound for exchange "${exchange}" with routing key "${routingKey}"; the letter stays`,
      );
    }
    const headers = requeueHeaders(message.headers, new Date()) as Record<string, string>;
    try {
      this.#publishBytes(target, message.body, { replyTo: message.replyTo, headers }, message.messageId);
    } catch (error) {
      throw new DeadLetterError(
        'requeue_failed',
        `the in-memory bus refused it: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    this.#removeDead(message);
  }

  #removeDead(message: StoredMessage): void {
    const dead = this.#declare(DEAD_LETTER_QUEUE, true, []);
    dead.messages = dead.messages.filter((other) => other !== message);
  }

  async hasQueue(name: string): Promise<boolean> {
    return this.#queues.has(name);
  }

  async inspectQueue(name: string): Promise<QueueState | undefined> {
    const queue = this.#queues.get(name);
    return queue && { messages: queue.messages.length, consumers: queue.consumers.length };
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
    if (durable) this.#handWaitingTo(queue);
    return queue;
  }

  /** Moves the waiting commands this pack queue is bound for into it, in publish order. */
  #handWaitingTo(queue: MemoryQueue): void {
    const left: WaitingCommand[] = [];
    for (const waiting of this.#waiting) {
      if (isBoundFor(queue, COMMANDS_EXCHANGE, waiting.message.routingKey)) {
        queue.messages.push(waiting.message);
      } else {
        left.push(waiting);
      }
    }
    if (left.length === this.#waiting.length) return;
    this.#waiting = left;
    this.#schedule(queue);
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
      sentBy: message.headers[SENT_BY_HEADER],
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
    dead.messages.push({
      ...message,
      headers: {
        ...message.headers,
        [DEAD_LETTER_REASON_HEADER]: reason,
        [DEAD_LETTER_EXCHANGE_HEADER]: message.exchange,
        [DEAD_LETTER_ROUTING_KEY_HEADER]: message.routingKey,
        [DEAD_LETTERED_AT_HEADER]: new Date().toISOString(),
      },
    });
  }
}

function isBoundFor(queue: MemoryQueue, exchange: ExchangeName, routingKey: string): boolean {
  return queue.bindings.some(
    (binding) => binding.exchange === exchange && topicMatches(binding.pattern, routingKey),
  );
}
