/**
 * The benchmark's baseline: the echo chain written directly on amqplib, with the durability Switchboard
 * has (durable queues, persistent messages, publisher confirms, a message acked only after what it
 * produced is confirmed, acks combined once per event-loop turn, prefetch 500, noDelay, separate
 * connections for publishing and consuming). Each role runs as its own process:
 *   AMQP_URL=... node test/bench/baseline-chain.ts engine   # slack.ReceivedMessage -> slack.SendMessage
 *   AMQP_URL=... CHAT_API_URL=... node test/bench/baseline-chain.ts pack   # SendMessage -> POST -> MessageSent
 * Settings: BASELINE_QUEUE_TYPE quorum|classic (default quorum, as Switchboard's queues), BASELINE_PREFETCH
 * (default 500). Stops cleanly on SIGTERM. The counter is the load generator (engine-throughput.ts).
 */
import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { chatApiAgent, postChatMessage } from './fake-chat-api.ts';

/** Exchanges of their own, so the Switchboard engine (bound to `#` on switchboard.events) never sees them. */
export const BASELINE_EVENTS = 'bench.baseline.events';
export const BASELINE_COMMANDS = 'bench.baseline.commands';
export const BASELINE_QUEUES = {
  engine: 'bench.baseline.engine',
  pack: 'bench.baseline.pack.slack',
} as const;

export type QueueType = 'quorum' | 'classic';

export function queueArguments(type: QueueType): Record<string, unknown> {
  return type === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
}

export function connect(url: string, name: string): Promise<ChannelModel> {
  return amqp.connect(url, { noDelay: true, clientProperties: { connection_name: name } });
}

/** Publishes persistent JSON with a confirm; resolves once the broker confirms it. */
export function publishConfirmed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: Buffer,
  properties: { messageId: string; correlationId?: string | undefined; type: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish(
      exchange,
      routingKey,
      body,
      { ...properties, persistent: true, contentType: 'application/json' },
      (error: unknown) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
    );
  });
}

/**
 * Acks finished deliveries once per event-loop turn: one `ack(allUpTo)` for the run of consecutive
 * finished tags, single acks for those finished out of order.
 */
export class AckBatch {
  readonly #channel: Channel;
  readonly #outstanding: number[] = [];
  readonly #finished = new Map<number, ConsumeMessage>();
  #scheduled = false;

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  received(message: ConsumeMessage): void {
    this.#outstanding.push(message.fields.deliveryTag);
  }

  finished(message: ConsumeMessage): void {
    this.#finished.set(message.fields.deliveryTag, message);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#finished.size === 0) return;
    let last: ConsumeMessage | undefined;
    while (this.#outstanding.length > 0 && this.#finished.has(this.#outstanding[0] as number)) {
      const tag = this.#outstanding.shift() as number;
      last = this.#finished.get(tag);
      this.#finished.delete(tag);
    }
    if (last) this.#channel.ack(last, true);
    for (const [tag, message] of this.#finished) {
      this.#channel.ack(message, false);
      this.#outstanding.splice(this.#outstanding.indexOf(tag), 1);
    }
    this.#finished.clear();
  }

  requeue(message: ConsumeMessage): void {
    this.#outstanding.splice(this.#outstanding.indexOf(message.fields.deliveryTag), 1);
    this.#channel.nack(message, false, true);
  }
}

interface Envelope {
  id: string;
  kind: 'command' | 'event';
  pack: string;
  name: string;
  payload: Record<string, unknown>;
  correlationId?: string;
  causationId?: string;
  createdAt: string;
}

const ECHO = /^echo\s+/;

/** Consumes one queue and turns each message into at most one confirmed publish, then acks it. */
async function runRole(role: 'engine' | 'pack'): Promise<void> {
  const url = process.env.AMQP_URL;
  if (!url) throw new Error('AMQP_URL is not set');
  const queueType = (process.env.BASELINE_QUEUE_TYPE ?? 'quorum') as QueueType;
  const prefetch = Number(process.env.BASELINE_PREFETCH ?? 500);
  const chatApiUrl = process.env.CHAT_API_URL ?? '';
  if (role === 'pack' && !chatApiUrl) throw new Error('CHAT_API_URL is not set');
  const agent = chatApiAgent();

  const publishConnection = await connect(url, `baseline ${role} publisher`);
  const consumeConnection = await connect(url, `baseline ${role} consumer`);
  const publisher = await publishConnection.createConfirmChannel();
  const consumer = await consumeConnection.createChannel();
  await consumer.assertExchange(BASELINE_EVENTS, 'topic', { durable: true });
  await consumer.assertExchange(BASELINE_COMMANDS, 'topic', { durable: true });
  const queue = BASELINE_QUEUES[role];
  await consumer.assertQueue(queue, { durable: true, arguments: queueArguments(queueType) });
  if (role === 'engine') await consumer.bindQueue(queue, BASELINE_EVENTS, 'slack.ReceivedMessage');
  else await consumer.bindQueue(queue, BASELINE_COMMANDS, 'slack.*');
  await consumer.prefetch(prefetch);

  const engineStep = async (event: Envelope): Promise<void> => {
    const payload = event.payload as { channelId: string; user: { id: string }; message: string };
    if (!ECHO.test(payload.message)) return;
    const command: Envelope = {
      id: randomUUID(),
      kind: 'command',
      pack: 'slack',
      name: 'SendMessage',
      payload: {
        channelId: payload.channelId,
        message: `<@${payload.user.id}>, you said:\n>>> ${payload.message.slice(5)}`,
      },
      correlationId: event.id,
      causationId: event.id,
      createdAt: new Date().toISOString(),
    };
    await publishConfirmed(
      publisher,
      BASELINE_COMMANDS,
      'slack.SendMessage',
      Buffer.from(JSON.stringify(command)),
      {
        messageId: command.id,
        correlationId: command.correlationId,
        type: command.name,
      },
    );
  };

  const packStep = async (command: Envelope): Promise<void> => {
    const input = command.payload as { channelId: string; message: string };
    const answer = await postChatMessage(chatApiUrl, agent, {
      channel: input.channelId,
      text: input.message,
    });
    const result: Envelope = {
      id: randomUUID(),
      kind: 'event',
      pack: 'slack',
      name: 'MessageSent',
      payload: { channelId: input.channelId, ts: answer.ts },
      correlationId: command.correlationId ?? command.id,
      causationId: command.id,
      createdAt: new Date().toISOString(),
    };
    await publishConfirmed(
      publisher,
      BASELINE_EVENTS,
      'slack.MessageSent',
      Buffer.from(JSON.stringify(result)),
      {
        messageId: result.id,
        correlationId: result.correlationId,
        type: result.name,
      },
    );
  };

  const step = role === 'engine' ? engineStep : packStep;
  const acks = new AckBatch(consumer);
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const { consumerTag } = await consumer.consume(queue, (message) => {
    if (message === null) return;
    acks.received(message);
    inFlight++;
    step(JSON.parse(message.content.toString('utf8')) as Envelope)
      .then(
        () => acks.finished(message),
        (error: unknown) => {
          process.stderr.write(`baseline ${role}: ${(error as Error).message}\n`);
          acks.requeue(message);
        },
      )
      .finally(() => {
        if (--inFlight === 0) idle?.();
      });
  });

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve()).once('SIGINT', () => resolve());
  });
  await consumer.cancel(consumerTag);
  if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
  acks.flush();
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.allSettled([publishConnection.close(), consumeConnection.close()]);
  agent.destroy();
}

if (import.meta.main) {
  const role = process.argv[2];
  if (role !== 'engine' && role !== 'pack') {
    process.stderr.write('usage: node test/bench/baseline-chain.ts engine|pack\n');
    process.exit(64);
  }
  await runRole(role);
}
