import { createHash } from 'node:crypto';
import type { Channel, RecoveringChannelModel } from 'amqplib';
import type { Hold } from '../bus.ts';

/** RabbitMQ's answer to a declare of an exclusive queue that another connection owns. */
const RESOURCE_LOCKED = 405;

/** Holds show up as queues named so, one per held name (hashed: any name fits AMQP's 255 bytes). */
export const HOLD_QUEUE_PREFIX = 'switchboard.hold.';

/**
 * Takes a hold made of an exclusive queue. RabbitMQ gives an exclusive queue to one connection, refuses it to
 * every other (405 RESOURCE_LOCKED), and deletes it when that connection closes, so a hold never outlives
 * the process that took it, whether it stops, crashes or loses the broker.
 */
export async function takeExclusiveHold(
  connection: RecoveringChannelModel,
  name: string,
): Promise<Hold | undefined> {
  const queue = holdQueueName(name);
  const taken = await onShortLivedChannel(connection, (channel) =>
    channel.assertQueue(queue, { exclusive: true, durable: false, autoDelete: false }),
  ).then(
    () => true,
    (error: unknown) => {
      if ((error as { code?: number }).code === RESOURCE_LOCKED) return false;
      throw error;
    },
  );
  if (!taken) return undefined;
  let released: Promise<void> | undefined;
  return {
    release: () => {
      // Deleting what the broker already dropped with a closed connection answers 404: nothing to undo.
      released ??= onShortLivedChannel(connection, (channel) => channel.deleteQueue(queue)).then(
        () => {},
        () => {},
      );
      return released;
    },
  };
}

export function holdQueueName(name: string): string {
  return `${HOLD_QUEUE_PREFIX}${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

// A refused declare closes its channel, so each operation gets a channel of its own. Holds are taken only
// for slow or redelivered commands, never on the hot path.
async function onShortLivedChannel<T>(
  connection: RecoveringChannelModel,
  operation: (channel: Channel) => Promise<T>,
): Promise<T> {
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  try {
    return await operation(channel);
  } finally {
    await channel.close().catch(() => {});
  }
}
