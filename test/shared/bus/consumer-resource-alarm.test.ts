import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import {
  COMMANDS_EXCHANGE,
  DEAD_LETTER_QUEUE,
  packQueueName,
  routingKey,
} from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import { connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { FakeOutsideSystem, startTestPack } from '../../support/test-pack.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../../support/throwaway-rabbitmq.ts';

// A memory alarm (vm_memory_high_watermark 0) blocks every connection that publishes, while consumers go
// on receiving: the pack runs its commands and cannot publish their results. It alarms the broker, so it
// runs one of its own.
let broker: ThrowawayBroker;
let dir: string;
const buses: AmqpBus[] = [];

before(async () => {
  broker = await startThrowawayBroker();
  dir = await mkdtemp(join(tmpdir(), 'sb-alarm-'));
});
afterEach(async () => {
  await broker.ctl(['set_vm_memory_high_watermark', '0.4']);
});
after(async () => {
  await Promise.allSettled(buses.map((bus) => bus.close()));
  await broker?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function bus(publishTimeoutMs: number): Promise<AmqpBus> {
  const connected = await connectTestBus(broker.url, { publishTimeoutMs });
  buses.push(connected);
  return connected;
}

/** Ready (not yet delivered) and unacknowledged messages of a queue, from rabbitmqctl. */
async function queueDepth(queue: string): Promise<{ ready: number; unacked: number }> {
  const listing = await broker.ctl(['list_queues', 'name', 'messages_ready', 'messages_unacknowledged']);
  for (const line of listing.split('\n')) {
    const [name, ready, unacked] = line.trim().split(/\s+/);
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked) };
  }
  return { ready: 0, unacked: 0 };
}

async function publishCommands(sender: AmqpBus, pack: string, count: number): Promise<Envelope[]> {
  const commands = Array.from({ length: count }, (_, i) =>
    createEnvelope({ kind: 'command', pack, name: 'Slow', payload: { ms: 20 + (i % 5) } }),
  );
  await Promise.all(
    commands.map((command) =>
      sender.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, 'Slow') }, command),
    ),
  );
  return commands;
}

async function waitForResults(
  results: EventCollector,
  commands: Envelope[],
  timeoutMs: number,
): Promise<void> {
  const ids = new Set(commands.map((command) => command.id));
  const answered = () =>
    new Set(results.events.map((event) => event.causationId).filter((id) => ids.has(id as string)));
  for (const deadline = Date.now() + timeoutMs; answered().size < ids.size && Date.now() < deadline; )
    await sleep(200);
  assert.equal(
    answered().size,
    ids.size,
    `${ids.size - answered().size} of ${ids.size} commands got no result`,
  );
}

function assertRanOnce(outside: FakeOutsideSystem, commands: Envelope[]): void {
  const runs = new Map<string, number>();
  for (const post of outside.posts) runs.set(post.commandId, (runs.get(post.commandId) ?? 0) + 1);
  assert.equal(runs.size, commands.length, 'every command ran');
  assert.deepEqual(
    [...runs].filter(([, count]) => count > 1),
    [],
    'no side effect happened twice',
  );
}

test('through a 30 s memory alarm every command gets its result, runs once, and nothing is dead-lettered', async () => {
  const pack = uniquePackName('alarm');
  const outside = new FakeOutsideSystem();
  // Short publish timeout: the results' publishes really fail, many times, during the alarm.
  const packBus = await bus(2000);
  const senderBus = await bus(120_000);
  const results = await EventCollector.start(senderBus, `${pack}.*`, {
    durableQueue: `test.${pack}.results`,
  });
  const runtime = await startTestPack(packBus, {
    name: pack,
    outside,
    prefetch: 10,
    commandTimeoutMs: 60_000,
  });

  // A backlog of about 2.5 s at 10 at a time; the alarm strikes in the middle of it.
  const commands = await publishCommands(senderBus, pack, 1000);
  await sleep(1000);
  await broker.ctl(['set_vm_memory_high_watermark', '0']);
  await sleep(30_000);
  assert.deepEqual(
    await queueDepth(DEAD_LETTER_QUEUE),
    { ready: 0, unacked: 0 },
    'nothing dead-lettered during the alarm',
  );
  await broker.ctl(['set_vm_memory_high_watermark', '0.4']);

  await waitForResults(results, commands, 60_000);
  assertRanOnce(outside, commands);
  assert.deepEqual(await queueDepth(DEAD_LETTER_QUEUE), { ready: 0, unacked: 0 }, 'nothing dead-lettered');
  await runtime.stop({ graceMs: 2000 });
  await results.stop();
});

test('a pack stopped during an alarm puts the commands it held back in the queue, and the next instance answers them', async () => {
  const pack = uniquePackName('alarm-stop');
  const outside = new FakeOutsideSystem();
  const stateDir = join(dir, pack);
  const packBus = await bus(2000);
  const senderBus = await bus(120_000);
  const results = await EventCollector.start(senderBus, `${pack}.*`, {
    durableQueue: `test.${pack}.results`,
  });
  const first = await startTestPack(packBus, { name: pack, outside, prefetch: 10, stateDir });
  const commands = await publishCommands(senderBus, pack, 1000);
  await sleep(500);
  await broker.ctl(['set_vm_memory_high_watermark', '0']);
  await sleep(5000);
  const stopping = Date.now();
  await first.stop({ graceMs: 2000 });
  assert.ok(Date.now() - stopping < 15_000, `stop took ${Date.now() - stopping} ms`);
  // The broker's queue statistics lag by a few seconds.
  let depth = await queueDepth(packQueueName(pack));
  for (const deadline = Date.now() + 15_000; depth.unacked > 0 && Date.now() < deadline; await sleep(500))
    depth = await queueDepth(packQueueName(pack));
  assert.equal(depth.unacked, 0, 'no message is held after stop');
  assert.ok(depth.ready > 0, 'the held commands are back in the queue');
  await broker.ctl(['set_vm_memory_high_watermark', '0.4']);

  const second = await startTestPack(packBus, { name: pack, outside, prefetch: 10, stateDir });
  await waitForResults(results, commands, 60_000);
  assertRanOnce(outside, commands);
  assert.deepEqual(await queueDepth(DEAD_LETTER_QUEUE), { ready: 0, unacked: 0 }, 'nothing dead-lettered');
  await second.stop({ graceMs: 2000 });
  await results.stop();
});
