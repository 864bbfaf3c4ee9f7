import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp, { type ConsumeMessage } from 'amqplib';
import { deadLetterCopy } from '../../../shared/bus/amqp/dead-letter.ts';
import { DEAD_LETTER_QUEUE, DEAD_LETTER_REASON_HEADER } from '../../../shared/bus/topology.ts';
import { brokerUrl } from '../../support/bus.ts';

/** What amqplib hands a consumer for a message another client sent with the timestamp 2^64 - 1. */
function arrivedWithTimestampNearTwoToThe64(): ConsumeMessage {
  return {
    content: Buffer.from('{"id": "x", pack'),
    fields: {
      deliveryTag: 1,
      redelivered: false,
      exchange: 'switchboard.commands',
      routingKey: 'slack.SendMessage',
      consumerTag: 'c',
    },
    // amqplib reads 0xFFFFFFFFFFFFFFFF as Number(2n ** 64n - 1n), which rounds up to 2^64.
    properties: { messageId: 'odd-timestamp', timestamp: 2 ** 64, headers: {} },
  } as unknown as ConsumeMessage;
}

test('a refused message whose timestamp amqplib cannot send again still reaches the dead-letter queue', async () => {
  const connection = await amqp.connect(brokerUrl());
  try {
    const channel = await connection.createConfirmChannel();
    const message = arrivedWithTimestampNearTwoToThe64();
    assert.throws(
      () => channel.publish('', DEAD_LETTER_QUEUE, message.content, message.properties),
      'the original properties cannot be sent as they are',
    );
    const copy = deadLetterCopy(message, 'body is not JSON');
    channel.publish(copy.exchange, copy.routingKey, copy.body, copy.properties);
    await channel.waitForConfirms();
    assert.equal(copy.properties.messageId, 'odd-timestamp', 'the other properties are kept');
    assert.equal(copy.properties.headers?.[DEAD_LETTER_REASON_HEADER], 'body is not JSON');
    assert.equal(copy.properties.headers?.['x-switchboard-original-routing-key'], 'slack.SendMessage');
  } finally {
    await connection.close();
  }
});
