import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QueueSpec } from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import {
  COMMANDS_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  EVENTS_EXCHANGE,
} from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import { EventCollector } from '../../support/bus.ts';
import { FakeOutsideSystem, startTestPack } from '../../support/test-pack.ts';

const spec = (prefetch: number): QueueSpec => ({
  name: 'switchboard.pack.p',
  durability: 'pack',
  bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: 'p.*' }],
  kind: 'command',
  prefetch,
});
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

test('competing consumers share a queue, each message going to one of them', async () => {
  const bus = new MemoryBus();
  const seen: string[] = [];
  await bus.consume(spec(1), async () => {
    seen.push('a');
  });
  await bus.consume(spec(1), async () => {
    seen.push('b');
  });
  for (let i = 0; i < 10; i++) {
    await bus.publish(
      { exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' },
      createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: {} }),
    );
  }
  await settle();
  assert.equal(seen.length, 10);
  assert.ok(seen.includes('a') && seen.includes('b'), `both consumers got work: ${seen}`);
  await bus.close();
});

test('prefetch bounds the messages a consumer handles at once', async () => {
  const bus = new MemoryBus();
  let running = 0;
  let most = 0;
  await bus.consume(spec(3), async () => {
    most = Math.max(most, ++running);
    await settle();
    running--;
  });
  for (let i = 0; i < 10; i++) {
    await bus.publish(
      { exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' },
      createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: {} }),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 400));
  assert.equal(most, 3);
  await bus.close();
});

test('a malformed body is dead-lettered with its reason', async () => {
  const bus = new MemoryBus();
  await bus.consume(spec(1), async () => {});
  bus.publishRaw({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, Buffer.from('not json'));
  await settle();
  const dead = bus.peek(DEAD_LETTER_QUEUE);
  assert.equal(dead.length, 1);
  assert.match(String(dead[0]?.headers[DEAD_LETTER_REASON_HEADER]), /body is not JSON/);
  await bus.close();
});

test('a handler that fails (our own infrastructure) is tried again in place after a pause, never dead-lettered', async () => {
  const bus = new MemoryBus();
  const calls: Array<{ at: number; redelivered: boolean }> = [];
  await bus.consume(spec(1), async ({ redelivered }) => {
    calls.push({ at: Date.now(), redelivered });
    if (calls.length <= 2) throw new Error('database busy');
  });
  await bus.publish(
    { exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' },
    createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: {} }),
  );
  await new Promise((resolve) => setTimeout(resolve, 3500));
  assert.deepEqual(
    calls.map((call) => call.redelivered),
    [false, false, false],
  );
  assert.ok((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0) >= 900, 'paused before trying again');
  assert.ok((calls[2]?.at ?? 0) - (calls[1]?.at ?? 0) >= 1900, 'paused longer the second time');
  assert.equal(bus.peek(DEAD_LETTER_QUEUE).length, 0);
  await bus.close();
});

test('stop() puts a message waiting to be tried again back in the queue, for the next consumer', async () => {
  const bus = new MemoryBus();
  const failing = await bus.consume(spec(1), async () => {
    throw new Error('database busy');
  });
  await bus.publish(
    { exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' },
    createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: {} }),
  );
  await settle();
  const began = Date.now();
  await failing.stop();
  assert.ok(Date.now() - began < 500, 'stop did not wait out the pause');
  const seen: boolean[] = [];
  await bus.consume(spec(1), async ({ redelivered }) => {
    seen.push(redelivered);
  });
  await settle();
  assert.deepEqual(seen, [true]);
  await bus.close();
});

const post = (pack: string, message: string) =>
  createEnvelope({ kind: 'command', pack, name: 'Post', payload: { channelId: 'C1', message } });

test('a command for a pack that is not running yet waits, counted, and is answered once the pack starts', async () => {
  const bus = new MemoryBus();
  const results = await EventCollector.start(bus, 'waits.*');
  const tailed: string[] = [];
  await bus.consume(
    {
      durability: 'private',
      bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: 'waits.*' }],
      kind: 'command',
      prefetch: 10,
    },
    async ({ envelope }) => {
      tailed.push(envelope.id);
    },
  );
  const first = post('waits', 'one');
  const second = post('waits', 'two');
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'waits.Post' }, first);
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'waits.Post' }, second);
  await settle();
  assert.deepEqual(tailed, [first.id, second.id], 'a tail sees them, but they still wait for the pack');
  const waiting = bus.waitingCommands();
  assert.deepEqual(
    waiting.map(({ routingKey, count }) => ({ routingKey, count })),
    [{ routingKey: 'waits.Post', count: 2 }],
  );
  assert.ok(
    Date.now() - Date.parse(String(waiting[0]?.oldestAt)) < 1000,
    `oldestAt: ${waiting[0]?.oldestAt}`,
  );

  const outside = new FakeOutsideSystem();
  const runtime = await startTestPack(bus, { name: 'waits', outside });
  const posted = await results.waitFor((event) => event.name === 'Posted', 2);
  assert.deepEqual(
    posted.map((event) => event.causationId),
    [first.id, second.id],
  );
  assert.deepEqual(
    outside.posts.map((p) => p.message),
    ['one', 'two'],
  );
  assert.deepEqual(bus.waitingCommands(), []);
  await results.stop();
  await runtime.stop({ graceMs: 1000 });
  await bus.close();
});

test('past the bound, publishing a command for a pack that is not running rejects, naming the pack and the limit', async () => {
  const bus = new MemoryBus({ maxWaitingCommands: 3 });
  for (const message of ['1', '2', '3']) {
    await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'full.Post' }, post('full', message));
  }
  await assert.rejects(
    bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'full.Post' }, post('full', '4')),
    /"full\.Post" refused: no instance of pack "full" .* 3 commands \(the limit\)/,
  );
  assert.equal(bus.waitingCommands()[0]?.count, 3);
  const seen: string[] = [];
  await bus.consume(
    {
      ...spec(10),
      name: 'switchboard.pack.full',
      bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: 'full.*' }],
    },
    async ({ envelope }) => {
      seen.push(String((envelope.payload as { message: string }).message));
    },
  );
  await settle();
  assert.deepEqual(seen, ['1', '2', '3']);
  assert.deepEqual(bus.waitingCommands(), []);
  await bus.close();
});

test('an event nobody listens to is dropped, not kept for a later listener', async () => {
  const bus = new MemoryBus();
  await bus.publish(
    { exchange: EVENTS_EXCHANGE, routingKey: 'quiet.Happened' },
    createEnvelope({ kind: 'event', pack: 'quiet', name: 'Happened', payload: {} }),
  );
  const late = await EventCollector.start(bus, 'quiet.*');
  await settle();
  assert.deepEqual(late.events, []);
  assert.deepEqual(bus.waitingCommands(), []);
  await late.stop();
  await bus.close();
});

test('inspectQueue tells the ready messages and consumers of a queue, and undefined for none', async () => {
  const bus = new MemoryBus();
  await bus.declareQueue('switchboard.pack.p', spec(1).bindings);
  await bus.publish(
    { exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' },
    createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: {} }),
  );
  assert.deepEqual(await bus.inspectQueue('switchboard.pack.p'), { messages: 1, consumers: 0 });
  assert.equal(await bus.inspectQueue('switchboard.pack.none'), undefined);
  await bus.close();
});
