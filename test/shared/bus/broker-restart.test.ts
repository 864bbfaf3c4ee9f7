import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import { connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { FakeOutsideSystem, startTestPack } from '../../support/test-pack.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../../support/throwaway-rabbitmq.ts';

// This test restarts its broker, so it runs its own instead of the shared one (AMQP_URL).
let broker: ThrowawayBroker;
before(async () => {
  broker = await startThrowawayBroker();
});
after(async () => {
  await broker?.dispose();
});

for (const [outage, interrupt] of [
  ['a clean broker restart', () => broker.restart()],
  [
    'a broker crash (SIGKILL) and start',
    async () => {
      await broker.kill();
      await broker.start();
    },
  ],
] as const) {
  test(`every command gets its result and runs once across ${outage}`, async () => {
    const total = 300;
    const pack = uniquePackName('restart');
    const outside = new FakeOutsideSystem();
    const packBus = await connectTestBus(broker.url, { publishTimeoutMs: 90_000 });
    const senderBus = await connectTestBus(broker.url, { publishTimeoutMs: 90_000 });
    // A durable queue, so results published while the collector reconnects wait for it.
    const results = await EventCollector.start(senderBus, `${pack}.Posted`, {
      durableQueue: `test.${pack}.results`,
    });
    const runtime = await startTestPack(packBus, {
      name: pack,
      outside,
      prefetch: 50,
      commandTimeoutMs: 90_000,
    });

    const commands: Envelope[] = [];
    const publishes: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      const command = createEnvelope({
        kind: 'command',
        pack,
        name: 'Post',
        payload: { channelId: 'C1', message: `m${i}` },
      });
      commands.push(command);
      publishes.push(
        senderBus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, 'Post') }, command),
      );
      if (i === total / 3) await interrupt();
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(publishes);
    // One result per command is awaited; a duplicate (the same event sent again after the outage) does not count.
    const ids = new Set(commands.map((command) => command.id));
    const answeredCount = () =>
      new Set(results.events.map((event) => event.causationId).filter((id) => ids.has(id as string))).size;
    for (const deadline = Date.now() + 90_000; answeredCount() < total && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const answered = new Map<string, Set<string>>();
    for (const event of results.events) {
      answered.set(
        event.causationId as string,
        (answered.get(event.causationId as string) ?? new Set()).add(event.id),
      );
    }
    const unanswered = commands.filter((command) => !answered.has(command.id));
    assert.equal(unanswered.length, 0, `${unanswered.length} of ${total} commands got no result`);
    const postsPerCommand = new Map<string, number>();
    for (const post of outside.posts)
      postsPerCommand.set(post.commandId, (postsPerCommand.get(post.commandId) ?? 0) + 1);
    assert.equal(postsPerCommand.size, total, 'every command ran');
    assert.deepEqual(
      [...postsPerCommand].filter(([, count]) => count > 1),
      [],
      'no command ran twice',
    );
    assert.deepEqual(
      [...answered].filter(([, ids]) => ids.size > 1),
      [],
      'a command answered twice is answered with the same event',
    );

    await runtime.stop({ graceMs: 2000 });
    await results.stop();
    await Promise.all([packBus.close(), senderBus.close()]);
  });
}

test('a publish waits for the broker only as long as its timeout, then fails with a clear error', async () => {
  const bus = await connectTestBus(broker.url, { publishTimeoutMs: 1500 });
  const event = () => createEnvelope({ kind: 'event', pack: 'outage', name: 'Happened', payload: {} });
  await broker.stop();
  const began = Date.now();
  await assert.rejects(
    bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: 'outage.Happened' }, event()),
    /RabbitMQ did not confirm the message within 1500 ms/,
  );
  assert.ok(Date.now() - began < 5000, 'it did not wait past its timeout');
  assert.equal(bus.isConnected(), false);
  await broker.start();
  // Once the broker is back the bus reconnects by itself (backoff up to 10 s).
  const waitForBroker = createEnvelope({ kind: 'event', pack: 'outage', name: 'Happened', payload: {} });
  for (let tries = 0; tries < 30 && !bus.isConnected(); tries++)
    await new Promise((resolve) => setTimeout(resolve, 500));
  await bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: 'outage.Happened' }, waitForBroker);
  assert.equal(bus.isConnected(), true);
  await bus.close();
});
