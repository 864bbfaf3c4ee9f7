import type { Channel } from 'amqplib';
import type { QueueSpec } from '../bus.ts';
import { COMMANDS_EXCHANGE, DEAD_LETTER_QUEUE, EVENTS_EXCHANGE } from '../topology.ts';

/**
 * Quorum queues are replicated when the broker is a cluster, and count deliveries: a message that kills
 * its consumer again and again goes to the dead-letter queue after this many tries instead of looping.
 * Fixed, because RabbitMQ refuses to redeclare a queue with other arguments.
 */
export const DELIVERY_LIMIT = 10;

const PACK_QUEUE_ARGUMENTS = {
  'x-queue-type': 'quorum',
  'x-delivery-limit': DELIVERY_LIMIT,
  'x-dead-letter-exchange': '',
  'x-dead-letter-routing-key': DEAD_LETTER_QUEUE,
};

/** The exchanges and the dead-letter queue every process relies on. Idempotent. */
export async function declareCoreTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(COMMANDS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(DEAD_LETTER_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
}

/** Declares a queue with its bindings; returns its name (server-generated for private queues). */
export async function declareQueue(
  channel: Channel,
  spec: Pick<QueueSpec, 'name' | 'durability' | 'bindings'>,
): Promise<string> {
  await declareCoreTopology(channel);
  const reply =
    spec.durability === 'pack'
      ? await channel.assertQueue(spec.name ?? '', { durable: true, arguments: PACK_QUEUE_ARGUMENTS })
      : await channel.assertQueue(spec.name ?? '', { exclusive: true, autoDelete: true, durable: false });
  for (const binding of spec.bindings) {
    await channel.bindQueue(reply.queue, binding.exchange, binding.pattern);
  }
  return reply.queue;
}
