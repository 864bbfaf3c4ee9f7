import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DELIVERY_LIMIT } from '../../../shared/bus/amqp/declare.ts';
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

test('a malformed body is dead-lettered with its reason; a failing one after the delivery limit', async () => {
  const bus = new MemoryBus();
  let deliveries = 0;
  await bus.consume(spec(1), async () => {
    deliveries++;
    throw new Error('database down');
  });
  bus.publishRaw({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, Buffer.from('not json'));
  await bus.publish(
    { exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' },
    createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: {} }),
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const dead = bus.peek(DEAD_LETTER_QUEUE);
  assert.equal(dead.length, 2);
  assert.match(String(dead[0]?.headers[DEAD_LETTER_REASON_HEADER]), /body is not JSON/);
  assert.match(String(dead[1]?.headers[DEAD_LETTER_REASON_HEADER]), /delivery limit reached: database down/);
  assert.equal(deliveries, DELIVERY_LIMIT);
  await bus.close();
});
