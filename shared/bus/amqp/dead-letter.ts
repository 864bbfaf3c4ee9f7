import type { ConsumeMessage, GetMessage, MessageProperties, Options } from 'amqplib';
import { requeueHeaders } from '../dead-letters.ts';
import {
  DEAD_LETTER_EXCHANGE_HEADER,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  DEAD_LETTER_ROUTING_KEY_HEADER,
  DEAD_LETTERED_AT_HEADER,
} from '../topology.ts';
import type { OutboundMessage } from './publisher.ts';

/** A refused message as it goes to the dead-letter queue: its original bytes, and why, in a header a person can read. */
export function deadLetterCopy(message: ConsumeMessage, reason: string, now = new Date()): OutboundMessage {
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
        [DEAD_LETTER_EXCHANGE_HEADER]: message.fields.exchange,
        [DEAD_LETTER_ROUTING_KEY_HEADER]: message.fields.routingKey,
        [DEAD_LETTERED_AT_HEADER]: now.toISOString(),
      },
    },
  };
}

/**
 * A dead letter as it goes back to where it was going: the original bytes and properties (its messageId
 * too, so a receiver can tell a message it has seen), without the dead-letter headers. `mandatory`, so
 * that the broker returns it rather than drops it when nothing is bound there any more.
 */
export function requeueCopy(
  letter: GetMessage,
  destination: { exchange: string; routingKey: string },
  now = new Date(),
): OutboundMessage {
  // userId must name the publishing connection's user, which the console's need not share.
  const { userId: _userId, ...properties } = carriableProperties(letter.properties);
  return {
    ...destination,
    body: letter.content,
    properties: {
      ...properties,
      persistent: true,
      mandatory: true,
      headers: requeueHeaders(letter.properties.headers ?? {}, now),
    },
  };
}

/**
 * A letter as it goes back into the dead-letter queue itself, unchanged but for the broker's delivery
 * count (see AmqpDeadLetters: a fresh copy starts counting again).
 */
export function refreshedCopy(letter: GetMessage): OutboundMessage {
  const { userId: _userId, ...properties } = carriableProperties(letter.properties);
  const { 'x-delivery-count': _count, ...headers } = letter.properties.headers ?? {};
  return {
    exchange: '',
    routingKey: DEAD_LETTER_QUEUE,
    body: letter.content,
    properties: { ...properties, persistent: true, mandatory: true, headers },
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
