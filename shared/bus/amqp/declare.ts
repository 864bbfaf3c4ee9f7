import { randomUUID } from 'node:crypto';
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

/**
 * How long the broker keeps a private queue once nothing consumes it (its process lost the connection, or
 * died without stop()). Longer than a reconnect takes (backoff up to 10 s), so replies sent during a blip
 * wait in it; short, so a crashed `tail` does not leave a queue collecting events for long.
 */
export const PRIVATE_QUEUE_EXPIRES_MS = 60_000;

/** A private queue's name, chosen by the client so that it stays the same across reconnects. */
export function privateQueueName(): string {
  return `switchboard.private.${randomUUID()}`;
}

/** The exchanges and the dead-letter queue every process relies on. Idempotent. */
export async function declareCoreTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(COMMANDS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(DEAD_LETTER_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
}

/** Declares a queue with its bindings. */
export async function declareQueue(
  channel: Channel,
  spec: Pick<QueueSpec, 'durability' | 'bindings'> & { name: string },
): Promise<void> {
  await declareCoreTopology(channel);
  if (spec.durability === 'pack') {
    await channel.assertQueue(spec.name, { durable: true, arguments: PACK_QUEUE_ARGUMENTS });
  } else {
    // Not exclusive nor auto-delete: either would make the broker delete the queue with the connection,
    // and a reply sent before the consumer is back would be dropped. x-expires removes it instead.
    await channel.assertQueue(spec.name, {
      durable: false,
      exclusive: false,
      autoDelete: false,
      arguments: { 'x-expires': PRIVATE_QUEUE_EXPIRES_MS },
    });
  }
  for (const binding of spec.bindings) {
    await channel.bindQueue(spec.name, binding.exchange, binding.pattern);
  }
}
