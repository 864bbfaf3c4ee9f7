import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, GetMessage } from 'amqplib';
import { DEAD_LETTER_QUEUE } from '../../shared/bus/topology.ts';

/**
 * Reads switchboard.dead on a plain amqplib channel until the message with this messageId shows up, and
 * takes it; others are put back, since tests share the queue. Fails after about 10 s.
 */
export async function deadLetterOf(channel: Channel, messageId: string): Promise<GetMessage> {
  for (let tries = 0; tries < 100; tries++) {
    const message = await channel.get(DEAD_LETTER_QUEUE, { noAck: false });
    if (message && message.properties.messageId === messageId) {
      channel.ack(message);
      return message;
    }
    if (message) channel.nack(message, false, true);
    else await sleep(100);
  }
  throw new Error(`${messageId} never reached ${DEAD_LETTER_QUEUE}`);
}
