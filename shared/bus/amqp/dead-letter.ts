import type { ConsumeMessage, MessageProperties, Options } from 'amqplib';
import { DEAD_LETTER_QUEUE, DEAD_LETTER_REASON_HEADER } from '../topology.ts';
import type { OutboundMessage } from './publisher.ts';

/** A refused message as it goes to the dead-letter queue: its original bytes, and why, in a header a person can read. */
export function deadLetterCopy(message: ConsumeMessage, reason: string): OutboundMessage {
  return {
    exchange: '',
    routingKey: DEAD_LETTER_QUEUE,
    body: message.content,
    properties: {
      ...carriableProperties(message.properties),
      persistent: true,
      headers: {
        ...(message.properties.headers ?? {}),
        [DEAD_LETTER_REASON_HEADER]: reason,
        'x-switchboard-original-exchange': message.fields.exchange,
        'x-switchboard-original-routing-key': message.fields.routingKey,
      },
    },
  };
}

/**
 * The properties that can be sent on with the copy. amqplib reads a timestamp near 2^64 (any client may
 * send one) into a number it cannot encode again; such a copy would fail, and the message would loop
 * until the delivery limit instead of being set aside with its reason.
 */
function carriableProperties(properties: MessageProperties): Options.Publish {
  return Object.fromEntries(
    Object.entries(properties).filter(
      ([name, value]) =>
        value !== undefined && (name !== 'timestamp' || (Number.isSafeInteger(value) && value >= 0)),
    ),
  );
}
