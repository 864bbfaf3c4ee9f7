import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EngineStore } from '../../../engine/state/engine-store.ts';
import type { Bus, Destination, PublishOptions } from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import { DEFAULT_ALIVE_INTERVAL_MS } from '../../../shared/runtime/heartbeat.ts';
import { connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { createTestEngine } from '../../support/engine.ts';
import { startTestPack } from '../../support/test-pack.ts';

const buses: Array<[string, () => Promise<Bus>]> = [
  ['RabbitMQ', () => connectTestBus()],
  ['in-memory bus', async () => new MemoryBus()],
];

for (const [busName, makeBus] of buses) {
  describe(`PackAlive on the ${busName}`, () => {
    test('a running instance says it is alive every interval, with its identity and no command list', async () => {
      const bus = await makeBus();
      const name = uniquePackName('alive');
      const events = await EventCollector.start(bus, `${name}.*`);
      const pack = await startTestPack(bus, { name, labels: { env: 'test' }, aliveIntervalMs: 50 });
      const alive = await events.waitFor((event) => event.name === 'PackAlive', 3, 5000);
      for (const event of alive) {
        assert.deepEqual(event.payload, {
          name,
          instanceId: pack.instanceId,
          version: '0.0.1-test',
          labels: { env: 'test' },
          aliveIntervalMs: 50,
        });
        assert.deepEqual(event.labels, { env: 'test' });
      }
      const [started] = events.named('PackStarted');
      assert.equal((started?.payload as { aliveIntervalMs?: number } | undefined)?.aliveIntervalMs, 50);

      await pack.stop({ graceMs: 100, reason: 'test over' });
      await events.waitFor((event) => event.name === 'PackStopped');
      const stoppedAt = events.events.findIndex((event) => event.name === 'PackStopped');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(
        events.events.slice(stoppedAt + 1).map((event) => event.name),
        [],
        'nothing after PackStopped',
      );
      await events.stop();
      await bus.close();
    });
  });
}

test('PackStarted announces the default interval, 30 s, when none is given', async () => {
  const bus = new MemoryBus();
  const name = uniquePackName('alive');
  const events = await EventCollector.start(bus, `${name}.*`);
  const pack = await startTestPack(bus, { name });
  const [started] = await events.waitFor((event) => event.name === 'PackStarted');
  assert.equal(DEFAULT_ALIVE_INTERVAL_MS, 30_000);
  assert.equal((started?.payload as { aliveIntervalMs?: number } | undefined)?.aliveIntervalMs, 30_000);
  await pack.stop({ graceMs: 100 });
  await bus.close();
});

test('an interval that is not a positive number refuses to start, naming the option', async () => {
  const bus = new MemoryBus();
  for (const aliveIntervalMs of [0, -5, Number.NaN]) {
    await assert.rejects(
      startTestPack(bus, { name: uniquePackName('alive'), aliveIntervalMs }),
      /aliveIntervalMs/,
      String(aliveIntervalMs),
    );
  }
  await bus.close();
});

test('a PackAlive that cannot be published is logged and the next one goes out', async () => {
  const memory = new MemoryBus();
  let refused = 0;
  // The broker refuses the first two PackAlive (a publish timeout during an alarm, say).
  const refusingPublish = (destination: Destination, envelope: Envelope, options?: PublishOptions) => {
    if (envelope.name === 'PackAlive' && refused < 2) {
      refused++;
      return Promise.reject(new Error('publish not confirmed within 30 s'));
    }
    return memory.publish(destination, envelope, options);
  };
  // Everything else goes to the in-memory bus itself (its methods use its private fields).
  const bus = new Proxy(memory, {
    get(target, property) {
      if (property === 'publish') return refusingPublish;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Bus;
  const name = uniquePackName('alive');
  const events = await EventCollector.start(memory, `${name}.*`);
  const pack = await startTestPack(bus, { name, aliveIntervalMs: 30 });
  await events.waitFor((event) => event.name === 'PackAlive', 2, 5000);
  assert.equal(refused, 2);
  // Still taking commands.
  const command = createEnvelope({
    kind: 'command',
    pack: name,
    name: 'Post',
    payload: { channelId: 'C1', message: 'hi' },
  });
  await memory.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(name, 'Post') }, command);
  const [result] = await events.waitFor((event) => event.causationId === command.id);
  assert.equal(result?.name, 'Posted');
  await pack.stop({ graceMs: 100 });
  await memory.close();
});

test('the engine, bound to every event (#), keeps the commands a pack announced when PackAlive passes', async () => {
  const bus = new MemoryBus();
  const store = EngineStore.open(':memory:');
  const engine = createTestEngine(bus, store, []);
  await engine.start();
  const name = uniquePackName('alive');
  const events = await EventCollector.start(bus, `${name}.*`);
  const pack = await startTestPack(bus, { name, aliveIntervalMs: 20 });
  const [alive] = await events.waitFor((event) => event.name === 'PackAlive', 3, 5000);
  // Handled once more here, so the test does not depend on when the engine's queue got to it.
  await engine.handleEvent(alive as Envelope);
  const commands = store.packManifests().get(name);
  assert.deepEqual(
    commands?.map((command) => command.name),
    ['Post', 'Flaky', 'Slow', 'Broken', 'Crash'],
  );
  assert.deepEqual(store.listExecutions(), []);
  await pack.stop({ graceMs: 100 });
  await engine.stop();
  store.close();
  await bus.close();
});
