import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { packQueueName } from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import { connectTestBus, uniquePackName } from '../../support/bus.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../../support/throwaway-rabbitmq.ts';

// Stops and starts its broker, so it runs one of its own.
let broker: ThrowawayBroker;
before(async () => {
  broker = await startThrowawayBroker();
});
after(async () => {
  await broker?.dispose();
});

test('a consumer stopped while its channel is being reopened hands nothing to its handler afterwards', async () => {
  const queue = packQueueName(uniquePackName('reopen'));
  const consumerBus = await connectTestBus(broker.url);
  const senderBus = await connectTestBus(broker.url);
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const calls: number[] = [];
  const consumption = await consumerBus.consume(
    { name: queue, durability: 'pack', bindings: [], kind: 'command', prefetch: 1 },
    async () => {
      calls.push(Date.now());
      // The first message holds the only prefetch slot, so the others stay ready in the queue.
      if (calls.length === 1) await held;
    },
  );
  for (let i = 0; i < 5; i++) {
    await senderBus.publish(
      { queue },
      createEnvelope({ kind: 'command', pack: 'x', name: 'Y', payload: { i } }),
    );
  }
  for (let tries = 0; tries < 50 && calls.length === 0; tries++) await sleep(100);
  assert.equal(calls.length, 1);

  // The channel dies with the broker; its keeper waits for the connection to open a new one.
  await broker.stop();
  release();
  await sleep(1500);
  await consumption.stop();
  const stoppedAt = Date.now();

  await broker.start();
  // A busy process (these busy waits) reads the broker's frames in batches, as a loaded pack does: the
  // first deliveries then arrive in the same read as the consume-ok of the reopened channel.
  for (const until = Date.now() + 15_000; Date.now() < until; ) {
    for (const busy = Date.now() + 40; Date.now() < busy; );
    await sleep(1);
  }
  assert.ok(consumerBus.isConnected(), 'the bus reconnected');
  assert.deepEqual(
    calls.filter((at) => at >= stoppedAt),
    [],
    'no message reached the handler after stop() resolved',
  );
  await Promise.all([consumerBus.close(), senderBus.close()]);
});
