import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Bus } from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope, type Labels } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { FakeOutsideSystem, startTestPack } from '../../support/test-pack.ts';

const buses: Array<[string, () => Promise<Bus>]> = [
  ['RabbitMQ', () => connectTestBus()],
  ['in-memory bus', async () => new MemoryBus()],
];

for (const [busName, makeBus] of buses) {
  describe(`labels on the ${busName}`, () => {
    test('a labelled command runs only on an instance whose labels include it; an unlabelled one anywhere', async () => {
      const bus = await makeBus();
      const pack = uniquePackName('labels');
      const events = await EventCollector.start(bus, `${pack}.Posted`);
      const instances = new Map<string, FakeOutsideSystem>();
      const runtimes: PackRuntime[] = [];
      for (const [key, labels] of [
        ['prod-eu', { env: 'prod', region: 'eu' }],
        ['dev', { env: 'dev' }],
        ['plain', {}],
      ] as Array<[string, Labels]>) {
        const outside = new FakeOutsideSystem();
        instances.set(key, outside);
        runtimes.push(await startTestPack(bus, { name: pack, outside, labels }));
      }
      const send = async (message: string, labels?: Labels) => {
        const command = createEnvelope({
          kind: 'command',
          pack,
          name: 'Post',
          payload: { channelId: 'C', message },
          labels,
        });
        await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, 'Post') }, command);
        return command;
      };
      const sent: Envelope[] = [];
      for (let i = 0; i < 10; i++) {
        sent.push(await send(`prod-${i}`, { env: 'prod' }));
        sent.push(await send(`prod-eu-${i}`, { env: 'prod', region: 'eu' }));
        sent.push(await send(`dev-${i}`, { env: 'dev' }));
        sent.push(await send(`any-${i}`));
      }
      const results = await events.waitFor(
        (event) => sent.some((command) => command.id === event.causationId),
        40,
      );
      const messagesOf = (key: string) => (instances.get(key)?.posts ?? []).map((post) => post.message);
      assert.ok(
        messagesOf('prod-eu').some((m) => m.startsWith('prod-')),
        'prod-eu ran prod commands',
      );
      assert.ok(
        messagesOf('prod-eu').every((m) => m.startsWith('prod-') || m.startsWith('any-')),
        `prod-eu ran only its own: ${messagesOf('prod-eu')}`,
      );
      assert.ok(
        messagesOf('dev').every((m) => m.startsWith('dev-') || m.startsWith('any-')),
        `dev ran only its own: ${messagesOf('dev')}`,
      );
      assert.equal(
        messagesOf('dev').filter((m) => m.startsWith('dev-')).length,
        10,
        'dev ran every dev command',
      );
      assert.ok(
        messagesOf('plain').every((m) => m.startsWith('any-')),
        `plain ran only unlabelled: ${messagesOf('plain')}`,
      );
      const allPosts = [...instances.values()].flatMap((outside) => outside.posts);
      assert.equal(allPosts.length, 40, 'each command ran exactly once');
      assert.equal(new Set(results.map((result) => result.causationId)).size, 40);
      for (const runtime of runtimes) await runtime.stop({ graceMs: 1000 });
      await events.stop();
      await bus.close();
    });

    test('a labelled command waits for a matching instance that starts later', async () => {
      const bus = await makeBus();
      const pack = uniquePackName('later');
      const events = await EventCollector.start(bus, `${pack}.Posted`);
      const plain = await startTestPack(bus, { name: pack });
      const command = createEnvelope({
        kind: 'command',
        pack,
        name: 'Post',
        payload: { channelId: 'C', message: 'for gpu' },
        labels: { gpu: 'yes' },
      });
      await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, 'Post') }, command);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(events.events.length, 0, 'the unlabelled instance did not run it');
      const outside = new FakeOutsideSystem();
      const gpu = await startTestPack(bus, { name: pack, outside, labels: { gpu: 'yes' } });
      await events.waitFor((event) => event.causationId === command.id);
      assert.equal(outside.posts[0]?.message, 'for gpu');
      await plain.stop({ graceMs: 1000 });
      await gpu.stop({ graceMs: 1000 });
      await events.stop();
      await bus.close();
    });
  });
}
