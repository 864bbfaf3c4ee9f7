import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import type { DeadLetterHolderLimits } from '../../../shared/bus/amqp/dead-letter-holder.ts';
import {
  type DeadLetter,
  type DeadLetterError,
  type DeadLetterQueue,
  type InboundMessage,
  UnprocessableMessage,
} from '../../../shared/bus/bus.ts';
import {
  COMMANDS_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  EVENTS_EXCHANGE,
  packQueueName,
  REQUEUED_AT_HEADER,
} from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import { connectTestBus, testLogger, uniquePackName } from '../../support/bus.ts';
import { eventually } from '../../support/eventually.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../../support/throwaway-rabbitmq.ts';

// The console holds what is in switchboard.dead while it looks at it: on the broker the other tests share,
// it would take the letters they wait for. So this file runs a broker of its own.
let broker: ThrowawayBroker;
let bus: AmqpBus;
let outside: ChannelModel;
let channel: ConfirmChannel;
const otherBuses: AmqpBus[] = [];

before(async () => {
  broker = await startThrowawayBroker();
  bus = await connectTestBus(broker.url);
  outside = await amqp.connect(broker.url);
  channel = await outside.createConfirmChannel();
});
after(async () => {
  await Promise.allSettled(otherBuses.map((other) => other.close()));
  await bus?.close();
  await outside?.close().catch(() => {});
  await broker?.dispose();
});

/** The dead letters of the test bus, or of a bus of their own with other bounds and timeouts. */
async function deadLetters(limits?: DeadLetterHolderLimits): Promise<DeadLetterQueue> {
  if (!limits) return bus.deadLetters();
  const other = await AmqpBus.connect({
    url: broker.url,
    name: 'test',
    logger: testLogger,
    deadLetters: limits,
  });
  otherBuses.push(other);
  return other.deadLetters();
}

/** A pack queue whose consumer refuses each command the first time it sees it, and handles it after. */
async function refusingOncePack(pack: string): Promise<InboundMessage[]> {
  const seen = new Set<string>();
  const handled: InboundMessage[] = [];
  await bus.consume(
    {
      name: packQueueName(pack),
      durability: 'pack',
      bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: `${pack}.*` }],
      kind: 'command',
      prefetch: 10,
    },
    async (message) => {
      if (!seen.has(message.envelope.id)) {
        seen.add(message.envelope.id);
        throw new UnprocessableMessage('not the first time');
      }
      handled.push(message);
    },
  );
  return handled;
}

/** The broker gives held letters back asynchronously: these waits are longer than the default. */
const eventuallyWithin10s = <T>(check: () => Promise<T>) => eventually(check, 10_000);

async function listedLetter(view: DeadLetterQueue, id: string): Promise<DeadLetter> {
  return eventuallyWithin10s(async () => {
    const letter = (await view.list()).letters.find((candidate) => candidate.id === id);
    assert.ok(letter, `${id} is listed`);
    return letter;
  });
}

async function rejects(promise: Promise<unknown>, code: string): Promise<DeadLetterError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}`),
    (error: DeadLetterError) => error,
  );
  assert.equal(error.code, code, error.message);
  return error;
}

/** Puts a letter in switchboard.dead as an outside publisher could, saying where it was going. */
async function setAside(id: string, exchange: string, routingKey: string): Promise<void> {
  channel.sendToQueue(DEAD_LETTER_QUEUE, Buffer.from(`{"letter":"${id}"}`), {
    messageId: id,
    persistent: true,
    headers: {
      [DEAD_LETTER_REASON_HEADER]: 'set aside by the test',
      'x-switchboard-original-exchange': exchange,
      'x-switchboard-original-routing-key': routingKey,
    },
  });
  await channel.waitForConfirms();
}

async function deadQueueDepth(): Promise<number> {
  return (await channel.checkQueue(DEAD_LETTER_QUEUE)).messageCount;
}

test('a refused command is listed with its reason and origin; requeued, it reaches its pack queue and is handled', async () => {
  const pack = uniquePackName('dl');
  const handled = await refusingOncePack(pack);
  const view = await deadLetters();
  const command = createEnvelope({ kind: 'command', pack, name: 'Do', payload: {} });
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: `${pack}.Do` }, command);
  const letter = await listedLetter(view, command.id);
  assert.equal(letter.reason, 'not the first time');
  assert.equal(letter.originalExchange, COMMANDS_EXCHANGE);
  assert.equal(letter.originalRoutingKey, `${pack}.Do`);
  assert.ok(letter.deadLetteredAt && Date.now() - Date.parse(letter.deadLetteredAt) < 10_000);
  assert.equal(JSON.parse(letter.body.toString()).id, command.id);

  assert.deepEqual(await view.requeue(letter.id), { exchange: COMMANDS_EXCHANGE, routingKey: `${pack}.Do` });
  await eventuallyWithin10s(async () => assert.equal(handled.length, 1));
  assert.equal(handled[0]?.envelope.id, command.id, 'the same id, so a pack can tell a message it saw');
  assert.deepEqual((await view.list()).letters, []);
  await view.release();
  assert.equal(await deadQueueDepth(), 0, 'removed from the queue, not only from the list');
});

test('letters held by the console go back to the queue when it lets go; a discarded one does not', async () => {
  const view = await deadLetters();
  await setAside('keep-1', EVENTS_EXCHANGE, 'x.Happened');
  await setAside('drop-1', EVENTS_EXCHANGE, 'x.Happened');
  assert.deepEqual(
    (await view.list()).letters.map((letter) => letter.id),
    ['keep-1', 'drop-1'],
  );
  assert.equal(await deadQueueDepth(), 0, 'held: RabbitMQ counts them unacknowledged, not ready');
  assert.equal((await bus.inspectQueue(DEAD_LETTER_QUEUE))?.messages, 2, 'the bus still counts them waiting');
  await view.discard('drop-1');
  await rejects(view.discard('drop-1'), 'unknown_letter');
  await view.release();
  await eventuallyWithin10s(async () => assert.equal(await deadQueueDepth(), 1, 'keep-1 is back'));
  const again = await deadLetters();
  assert.deepEqual(
    (await again.list()).letters.map((letter) => letter.id),
    ['keep-1'],
  );
  await again.discard('keep-1');
  await again.release();
});

test('a letter whose requeue is not confirmed (a memory alarm) or not routable stays listed', async () => {
  const pack = uniquePackName('alarm');
  const handled = await refusingOncePack(pack);
  const view = await deadLetters({ timeoutMs: 1500 });
  const command = createEnvelope({ kind: 'command', pack, name: 'Do', payload: {} });
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: `${pack}.Do` }, command);
  await listedLetter(view, command.id);
  await setAside('nobody-listens', EVENTS_EXCHANGE, 'nobody.Listens');
  await setAside('no-exchange', 'switchboard.gone', 'x.Y');

  assert.match((await rejects(view.requeue('nobody-listens'), 'unroutable')).message, /nobody\.Listens/);
  assert.match((await rejects(view.requeue('no-exchange'), 'requeue_failed')).message, /switchboard\.gone/);
  await broker.ctl(['set_vm_memory_high_watermark', '0']);
  try {
    assert.match((await rejects(view.requeue(command.id), 'requeue_failed')).message, /did not confirm/);
    assert.deepEqual(
      (await view.list()).letters.map((letter) => letter.id).sort(),
      [command.id, 'no-exchange', 'nobody-listens'].sort(),
    );
  } finally {
    await broker.ctl(['set_vm_memory_high_watermark', '0.4']);
  }
  // The copy that was never confirmed may arrive now; the letter is still there to requeue.
  await view.requeue(command.id);
  await eventuallyWithin10s(async () => assert.ok(handled.length >= 1));
  assert.ok(handled.every((message) => message.envelope.id === command.id));
  await view.discard('nobody-listens');
  await view.discard('no-exchange');
  assert.deepEqual((await view.list()).letters, []);
  await view.release();
});

test("a command for a pack that has no queue stays, though a console's tap receives every command", async () => {
  const tapped: string[] = [];
  const tap = await bus.consume(
    {
      durability: 'private',
      bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: '#' }],
      kind: 'command',
      prefetch: 10,
    },
    async ({ routingKey }) => {
      tapped.push(routingKey);
    },
  );
  try {
    const view = await deadLetters();
    await setAside('ghost-command', COMMANDS_EXCHANGE, 'ghost.Do');
    assert.match(
      (await rejects(view.requeue('ghost-command'), 'unroutable')).message,
      /no queue switchboard\.pack\.ghost/,
    );
    assert.deepEqual(
      (await view.list()).letters.map((letter) => letter.id),
      ['ghost-command'],
    );
    await view.discard('ghost-command');
    assert.deepEqual(tapped, [], 'not published at all');
    await view.release();
  } finally {
    await tap.stop();
  }
});

test('a message RabbitMQ dead-lettered itself (delivery limit) is read from x-death and goes back without it', async () => {
  const queue = packQueueName(uniquePackName('poison'));
  await bus.declareQueue(queue, []);
  const poison = createEnvelope({ kind: 'command', pack: 'x', name: 'Y', payload: {} });
  await bus.publish({ queue }, poison);
  // A consumer that dies with it every time, until the quorum queue's delivery limit sets it aside.
  for (let tries = 0; tries < 100; tries++) {
    const crashing = await outside.createChannel();
    const message = await crashing.get(queue, { noAck: false });
    await crashing.close();
    if (!message && (await channel.checkQueue(queue)).messageCount === 0) break;
    if (!message) await sleep(50);
  }
  const view = await deadLetters();
  const letter = await listedLetter(view, poison.id);
  assert.match(letter.reason ?? '', /RabbitMQ set it aside from .*delivered too many times/);
  assert.equal(letter.originalExchange, '');
  assert.equal(letter.originalRoutingKey, queue);
  assert.ok(letter.deadLetteredAt);

  await view.requeue(poison.id);
  const back = await eventuallyWithin10s(async () => {
    const message = await channel.get(queue, { noAck: false });
    assert.ok(message, 'back in its queue');
    return message;
  });
  channel.ack(back);
  assert.equal(back.properties.messageId, poison.id);
  assert.equal(back.properties.headers?.['x-death'], undefined, 'its dead-letter history is not sent back');
  assert.ok(!Number.isNaN(Date.parse(String(back.properties.headers?.[REQUEUED_AT_HEADER]))));
  await view.release();
});

test('past its bound, a view lists the oldest letters and counts the rest', async () => {
  const view = await deadLetters({ maxLetters: 2 });
  for (const id of ['bound-1', 'bound-2', 'bound-3']) await setAside(id, EVENTS_EXCHANGE, 'x.Happened');
  const { letters, total } = await view.list();
  assert.deepEqual(
    letters.map((letter) => letter.id),
    ['bound-1', 'bound-2'],
  );
  assert.equal(total, 3);
  await view.discard('bound-1');
  const after = await view.list();
  assert.deepEqual(
    after.letters.map((letter) => letter.id),
    ['bound-2', 'bound-3'],
    'the next one is taken',
  );
  assert.equal(after.total, 2);
  await view.discard('bound-2');
  await view.discard('bound-3');
  await view.release();
});

test('a letter looked at again and again is never dropped by a delivery limit on switchboard.dead', async () => {
  // RabbitMQ 4.0 to 4.2 give quorum queues a delivery limit of 20 by default, and count every time held
  // letters go back; a policy brings the same to this broker, with a limit of 2.
  await broker.ctl([
    'set_policy',
    'dead-limit',
    '^switchboard\\.dead$',
    '{"delivery-limit":2}',
    '--apply-to',
    'queues',
  ]);
  try {
    await eventuallyWithin10s(async () => {
      const listing = await broker.ctl(['list_queues', 'name', 'policy']);
      assert.match(listing, /switchboard\.dead\s+dead-limit/);
    });
    await setAside('looked-at', EVENTS_EXCHANGE, 'x.Happened');
    for (let visit = 0; visit < 5; visit++) {
      const view = await deadLetters();
      assert.deepEqual(
        (
          await eventuallyWithin10s(async () => {
            const { letters } = await view.list();
            assert.equal(letters.length, 1, `visit ${visit}: still there`);
            return letters;
          })
        ).map((letter) => letter.id),
        ['looked-at'],
      );
      await view.release();
    }
    const last = await deadLetters();
    await listedLetter(last, 'looked-at');
    await last.discard('looked-at');
    await last.release();
  } finally {
    await broker.ctl(['clear_policy', 'dead-limit']);
  }
});

test('after a lost connection, the letters are listed again', async () => {
  const view = await deadLetters();
  await setAside('across-reconnect', EVENTS_EXCHANGE, 'x.Happened');
  await listedLetter(view, 'across-reconnect');
  await broker.ctl(['close_all_connections', 'test']);
  await listedLetter(view, 'across-reconnect');
  await view.discard('across-reconnect');
  assert.deepEqual((await view.list()).letters, []);
  await view.release();
});
