import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import { DELIVERY_LIMIT } from '../../../shared/bus/amqp/declare.ts';
import {
  COMMANDS_EXCHANGE,
  DEAD_LETTER_REASON_HEADER,
  packQueueName,
  SENT_BY_HEADER,
} from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { brokerUrl, connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { deadLetterOf } from '../../support/dead-letters.ts';
import { FakeOutsideSystem, startTestPack } from '../../support/test-pack.ts';

/** What an outside service with nothing but a plain AMQP client does (docs/protocol.md). */
describe('the bus contract, seen from a plain AMQP client', () => {
  let bus: AmqpBus;
  let connection: ChannelModel;
  let channel: Channel;
  let runtime: PackRuntime;
  let events: EventCollector;
  const pack = uniquePackName('raw');
  const outside = new FakeOutsideSystem();

  before(async () => {
    bus = await connectTestBus();
    events = await EventCollector.start(bus, `${pack}.*`);
    runtime = await startTestPack(bus, { name: pack, outside });
    connection = await amqp.connect(brokerUrl());
    channel = await connection.createChannel();
  });
  after(async () => {
    await runtime.stop({ graceMs: 1000 });
    await events.stop();
    await bus.close();
    await connection.close();
  });

  test('a minimal command {id, pack, name, payload} is answered through direct reply-to', async () => {
    let reply: amqp.ConsumeMessage | undefined;
    await channel.consume(
      'amq.rabbitmq.reply-to',
      (message) => {
        reply = message ?? undefined;
      },
      { noAck: true },
    );
    const body = {
      id: 'outside-1',
      pack,
      name: 'Post',
      payload: { channelId: 'C9', message: 'from outside' },
    };
    channel.publish(COMMANDS_EXCHANGE, `${pack}.Post`, Buffer.from(JSON.stringify(body)), {
      replyTo: 'amq.rabbitmq.reply-to',
      contentType: 'application/json',
    });
    for (let i = 0; i < 100 && !reply; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(reply, 'a reply arrived');
    const result = JSON.parse(reply.content.toString());
    assert.equal(result.name, 'Posted');
    assert.equal(result.causationId, 'outside-1');
    assert.equal(result.correlationId, 'outside-1');
    assert.equal(reply.properties.contentType, 'application/json');
    assert.equal(reply.properties.type, 'Posted');
    assert.equal(reply.properties.messageId, result.id);
    assert.equal(reply.properties.correlationId, 'outside-1');
    assert.equal(typeof reply.properties.timestamp, 'number');
    assert.deepEqual(outside.posts.at(-1), {
      channelId: 'C9',
      message: 'from outside',
      commandId: 'outside-1',
    });
  });

  const garbage: Array<[string, Buffer, RegExp]> = [
    ['a body that is not JSON', Buffer.from('{"id": "x", pack'), /body is not JSON/],
    ['JSON that is not an envelope', Buffer.from('{"hello":"world"}'), /must have required property 'pack'/],
    [
      'an event sent as a command',
      Buffer.from(JSON.stringify({ id: 'e', kind: 'event', pack, name: 'Post', payload: {} })),
      /kind "event"/,
    ],
    [
      'a command for another pack',
      Buffer.from(JSON.stringify({ id: 'o', pack: 'other', name: 'Post', payload: {} })),
      /for the "other" pack/,
    ],
    ['a huge body', Buffer.alloc(5 * 1024 * 1024, 'x'), /more than the \d+ allowed/],
  ];
  for (const [what, body, reason] of garbage) {
    test(`${what} is dead-lettered with the reason in a header, and the pack goes on`, async () => {
      const messageId = `garbage-${Math.random()}`;
      channel.publish(COMMANDS_EXCHANGE, `${pack}.Post`, body, { messageId, persistent: true });
      const dead = await deadLetterOf(channel, messageId);
      assert.match(String(dead.properties.headers?.[DEAD_LETTER_REASON_HEADER]), reason);
      assert.equal(dead.properties.headers?.['x-switchboard-original-routing-key'], `${pack}.Post`);
      assert.equal(dead.content.length, body.length, 'the original bytes are kept');
      const command = createEnvelope({
        kind: 'command',
        pack,
        name: 'Post',
        payload: { channelId: 'C1', message: 'after' },
      });
      await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: `${pack}.Post` }, command);
      await events.waitFor((event) => event.causationId === command.id);
    });
  }

  test('a handler that fails (our own infrastructure) is tried again in place, with growing pauses, never dead-lettered', async () => {
    const queue = packQueueName(uniquePackName('infra'));
    const calls: Array<{ at: number; redelivered: boolean }> = [];
    let handled!: () => void;
    const done = new Promise<void>((resolve) => {
      handled = resolve;
    });
    const consumption = await bus.consume(
      { name: queue, durability: 'pack', bindings: [], kind: 'command', prefetch: 1 },
      async ({ redelivered }) => {
        calls.push({ at: Date.now(), redelivered });
        if (calls.length <= 3) throw new Error('the database is busy');
        handled();
      },
    );
    const messageId = `infra-${Math.random()}`;
    channel.sendToQueue(
      queue,
      Buffer.from(JSON.stringify({ id: messageId, pack: 'x', name: 'Y', payload: {} })),
      { messageId, persistent: true },
    );
    await done;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await consumption.stop();
    assert.equal(calls.length, 4);
    assert.deepEqual(
      calls.map((call) => call.redelivered),
      [false, false, false, false],
      'held, not returned to the queue between tries (a return counts toward the delivery limit)',
    );
    const pauses = calls.slice(1).map((call, i) => call.at - (calls[i] as { at: number }).at);
    assert.ok((pauses[0] as number) >= 500, `paused before the first retry: ${pauses}`);
    assert.ok((pauses[2] as number) > (pauses[0] as number) * 2, `pauses grow: ${pauses.join(', ')} ms`);
    assert.equal((await channel.checkQueue(queue)).messageCount, 0, 'acknowledged once it succeeded');
  });

  test('a message whose consumer dies with it again and again is dead-lettered after the delivery limit', async () => {
    const queue = packQueueName(uniquePackName('poison'));
    await bus.declareQueue(queue, []);
    const poison = createEnvelope({ kind: 'command', pack: 'x', name: 'Y', payload: {} });
    const messageId = poison.id;
    await bus.publish({ queue }, poison);
    // A consumer that crashes: its channel goes away with the message unacknowledged.
    let deliveries = 0;
    for (let tries = 0; tries < 100; tries++) {
      const crashing = await connection.createChannel();
      const message = await crashing.get(queue, { noAck: false });
      await crashing.close();
      if (message) deliveries++;
      else if ((await channel.checkQueue(queue)).messageCount === 0) break;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const dead = await deadLetterOf(channel, messageId);
    assert.ok(
      dead.properties.headers?.['x-death'] || dead.properties.headers?.['x-first-death-reason'],
      'RabbitMQ says why',
    );
    assert.ok(deliveries >= DELIVERY_LIMIT, `delivered ${deliveries} times before giving up`);
    assert.ok(deliveries <= DELIVERY_LIMIT + 1, `not looping: delivered ${deliveries} times`);
  });

  test('inspectQueue tells the ready messages and consumers of a queue, and undefined for none', async () => {
    assert.deepEqual(await bus.inspectQueue(packQueueName(pack)), { messages: 0, consumers: 1 });
    const idle = uniquePackName('idle');
    await bus.declareQueue(packQueueName(idle), [{ exchange: COMMANDS_EXCHANGE, pattern: `${idle}.*` }]);
    await bus.publish(
      { exchange: COMMANDS_EXCHANGE, routingKey: `${idle}.Post` },
      createEnvelope({ kind: 'command', pack: idle, name: 'Post', payload: {} }),
    );
    assert.deepEqual(await bus.inspectQueue(packQueueName(idle)), { messages: 1, consumers: 0 });
    assert.equal(await bus.inspectQueue(packQueueName(uniquePackName('never'))), undefined);
    await channel.deleteQueue(packQueueName(idle));
  });

  test('a consumer reads who sent a message from its x-switchboard-sent-by header', async () => {
    const to = uniquePackName('sentby');
    const seen: Array<string | undefined> = [];
    const consumption = await bus.consume(
      {
        durability: 'private',
        bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: `${to}.*` }],
        kind: 'command',
        prefetch: 10,
      },
      async ({ sentBy }) => {
        seen.push(sentBy);
      },
    );
    const send = (headers?: Record<string, string>) =>
      bus.publish(
        { exchange: COMMANDS_EXCHANGE, routingKey: `${to}.Post` },
        createEnvelope({ kind: 'command', pack: to, name: 'Post', payload: {} }),
        { headers },
      );
    await send({ [SENT_BY_HEADER]: 'github-actions' });
    await send();
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await consumption.stop();
    assert.deepEqual(seen, ['github-actions', undefined]);
  });
});
