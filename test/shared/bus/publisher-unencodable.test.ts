import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import { COMMANDS_EXCHANGE, DEAD_LETTER_REASON_HEADER, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { brokerUrl, connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { deadLetterOf } from '../../support/dead-letters.ts';
import { FakeOutsideSystem, startTestPack } from '../../support/test-pack.ts';

// AMQP short strings (messageId, correlationId, type, appId) hold 255 bytes and timestamps are unsigned
// seconds; the envelope schema counts characters. A message that cannot be encoded must fail alone.

let outsideConnection: ChannelModel;
let outside: Channel;
before(async () => {
  outsideConnection = await amqp.connect(brokerUrl());
  outside = await outsideConnection.createChannel();
});
after(async () => {
  await outsideConnection?.close();
});

const longId = 'é'.repeat(200); // 200 characters, as the schema allows; 400 bytes in UTF-8

describe('a process publishing a message RabbitMQ cannot carry', () => {
  let bus: AmqpBus;
  let queue: string;
  const arrived: string[] = [];

  before(async () => {
    // Short, so that a frozen publisher fails the test instead of hanging it.
    bus = await connectTestBus(brokerUrl(), { publishTimeoutMs: 5000 });
    ({ queue } = await outside.assertQueue('', { exclusive: true }));
    await outside.consume(queue, (message) => message && arrived.push(String(message.properties.messageId)), {
      noAck: true,
    });
  });
  after(async () => {
    await bus?.close();
  });

  const event = (fields: Partial<Envelope> = {}): Envelope => ({
    ...createEnvelope({ kind: 'event', pack: 'unencodable', name: 'Posted', payload: {} }),
    ...fields,
  });

  const cases: Array<[string, Partial<Envelope>, RegExp]> = [
    [
      'a correlationId of 200 × é',
      { correlationId: longId },
      /cannot carry this message .*correlationId is 400 bytes in UTF-8; AMQP short strings hold at most 255/,
    ],
    [
      'a createdAt before 1970',
      { createdAt: '1960-01-01T00:00:00.000Z' },
      /cannot carry this message .*timestamp -315619200 is not whole seconds since 1970/,
    ],
  ];
  for (const [what, fields, reason] of cases) {
    test(`a message with ${what} is refused with the reason, and the publishes after it are confirmed`, async () => {
      const bad = event(fields);
      const good = [event(), event(), event()];
      const outcomes = await Promise.allSettled(
        [bad, ...good].map((envelope) => bus.publish({ queue }, envelope)),
      );
      const [badOutcome, ...goodOutcomes] = outcomes;
      assert.equal(badOutcome?.status, 'rejected');
      assert.match(String((badOutcome as PromiseRejectedResult).reason), reason);
      assert.deepEqual(
        goodOutcomes.map((outcome) => outcome.status),
        ['fulfilled', 'fulfilled', 'fulfilled'],
        String(goodOutcomes.map((outcome) => (outcome as PromiseRejectedResult).reason)),
      );
      for (let i = 0; i < 100 && good.some(({ id }) => !arrived.includes(id)); i++) await sleep(20);
      assert.deepEqual(
        arrived.filter((id) => good.some((envelope) => envelope.id === id)),
        good.map(({ id }) => id),
      );
    });
  }
});

describe('a pack receiving a command whose ids or time AMQP cannot carry', () => {
  let packBus: AmqpBus;
  let senderBus: AmqpBus;
  let runtime: PackRuntime;
  let events: EventCollector;
  const pack = uniquePackName('unencodable');
  const system = new FakeOutsideSystem();

  before(async () => {
    // The pack has a bus of its own: a frozen publisher there must not hide behind the sender's.
    packBus = await connectTestBus(brokerUrl(), { publishTimeoutMs: 5000 });
    senderBus = await connectTestBus();
    events = await EventCollector.start(senderBus, `${pack}.*`);
    runtime = await startTestPack(packBus, { name: pack, outside: system });
  });
  after(async () => {
    await runtime?.stop({ graceMs: 1000 });
    await events?.stop();
    await packBus?.close();
    await senderBus?.close();
  });

  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an id of 200 × é', { id: longId }, /envelope\/id is 400 bytes in UTF-8, more than the 255/],
    [
      'a createdAt before 1970',
      { id: `old-${randomBytes(4).toString('hex')}`, createdAt: '1960-01-01T00:00:00Z' },
      /envelope\/createdAt must be from 1970 to 9999/,
    ],
  ];
  for (const [what, fields, reason] of cases) {
    test(`a command with ${what} is dead-lettered with the reason, and later commands are answered`, async () => {
      // Sent as an outside service would, with a plain client; the messageId only lets the test find it.
      const messageId = `bad-${randomBytes(4).toString('hex')}`;
      const body = { pack, name: 'Post', payload: { channelId: 'C1', message: messageId }, ...fields };
      outside.publish(COMMANDS_EXCHANGE, `${pack}.Post`, Buffer.from(JSON.stringify(body)), {
        messageId,
        persistent: true,
      });
      const dead = await deadLetterOf(outside, messageId);
      assert.match(String(dead.properties.headers?.[DEAD_LETTER_REASON_HEADER]), reason);
      assert.ok(!system.posts.some((post) => post.message === messageId), 'the bad command did not run');

      const later = createEnvelope({
        kind: 'command',
        pack,
        name: 'Post',
        payload: { channelId: 'C1', message: 'later' },
      });
      await senderBus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, 'Post') }, later);
      const [result] = await events.waitFor((event) => event.causationId === later.id);
      assert.equal(result?.name, 'Posted');
    });
  }
});
