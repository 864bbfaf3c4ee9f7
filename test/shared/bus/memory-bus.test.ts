import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QueueSpec } from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import {
  COMMANDS_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
} from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';

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
