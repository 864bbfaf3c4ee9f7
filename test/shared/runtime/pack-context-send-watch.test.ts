import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus } from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { PackDirectory } from '../../../shared/commands/pack-directory.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import { definePack, type PackContext } from '../../../shared/runtime/pack-definition.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { connectTestBus, EventCollector, testLogger, uniquePackName } from '../../support/bus.ts';
import { FakeOutsideSystem, startPackRuntime, startTestPack } from '../../support/test-pack.ts';

/** A pack that does nothing but hand the test its context. */
async function startCaller(bus: Bus): Promise<{ context: PackContext; runtime: PackRuntime }> {
  let context: PackContext | undefined;
  const runtime = await startPackRuntime(
    bus,
    definePack({
      name: uniquePackName('caller'),
      version: 'test',
      description: 'sends and watches',
      commands: {},
      start: async (given) => {
        context = given;
      },
    }),
  );
  assert.ok(context);
  return { context, runtime };
}

async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

const buses: Array<[string, () => Promise<Bus>]> = [
  ['RabbitMQ', () => connectTestBus()],
  ['in-memory bus', async () => new MemoryBus()],
];

for (const [busName, makeBus] of buses) {
  describe(`PackContext.send and watch on the ${busName}`, () => {
    let bus: Bus;
    const target = uniquePackName('target');
    const outside = new FakeOutsideSystem();
    let targetPack: PackRuntime;
    let caller: { context: PackContext; runtime: PackRuntime };
    before(async () => {
      bus = await makeBus();
      targetPack = await startTestPack(bus, { name: target, outside });
      caller = await startCaller(bus);
    });
    after(async () => {
      await caller.runtime.stop({ graceMs: 1000 });
      await targetPack.stop({ graceMs: 1000 });
      await bus.close();
    });

    test('send resolves once the broker has the command, with its id and correlationId; the pack runs it', async () => {
      const events = await EventCollector.start(bus, `${target}.*`);
      const sent = await caller.context.send({
        pack: target,
        name: 'Post',
        payload: { channelId: 'C1', message: 'sent' },
      });
      assert.equal(sent.correlationId, sent.id);
      assert.equal(await sent.result, undefined, 'not asked to wait');
      const [result] = await events.waitFor((event) => event.causationId === sent.id);
      assert.equal(result?.name, 'Posted');
      await events.stop();
    });

    test('with waitMs, the result event; a repeat of the id, the same event from the record, run once; concurrent waits all get it', async () => {
      const id = randomUUID();
      const command = { pack: target, name: 'Post', payload: { channelId: 'C2', message: 'once' }, id };
      const first = await caller.context.send(command, { waitMs: 10_000 });
      const result = await first.result;
      assert.equal(result?.name, 'Posted');
      assert.equal(result?.causationId, id);
      const repeats = await Promise.all([1, 2].map(() => caller.context.send(command, { waitMs: 10_000 })));
      const answers = await Promise.all(repeats.map((repeat) => repeat.result));
      assert.deepEqual(
        answers.map((answer) => answer?.id),
        [result?.id, result?.id],
      );
      assert.equal(outside.posts.filter((post) => post.commandId === id).length, 1);
    });

    test('a wait ends with undefined when nothing answers in time, or when its signal aborts', async () => {
      const absent = uniquePackName('absent');
      const timedOut = await caller.context.send(
        { pack: absent, name: 'Post', payload: {} },
        { waitMs: 200 },
      );
      assert.equal(await timedOut.result, undefined);
      const controller = new AbortController();
      const aborted = await caller.context.send(
        { pack: absent, name: 'Post', payload: {} },
        { waitMs: 60_000, signal: controller.signal },
      );
      controller.abort();
      assert.equal(await aborted.result, undefined);
    });

    test('watch follows the events matching its patterns, survives a failing handler, and stops', async () => {
      const seen: string[] = [];
      const watch = await caller.context.watch([`${target}.Posted`, `${target}.PostFailed`], (event) => {
        seen.push(event.name);
        if (seen.length === 1) throw new Error('a reader bug');
      });
      assert.ok(watch.queue);
      for (const message of ['a', 'b']) {
        await caller.context.send(
          { pack: target, name: 'Post', payload: { channelId: 'C3', message } },
          { waitMs: 10_000 },
        );
      }
      await caller.context.send({ pack: target, name: 'Slow', payload: { ms: 0 } }, { waitMs: 10_000 });
      await eventually(() => assert.deepEqual(seen, ['Posted', 'Posted']));
      await watch.stop();
      await (
        await caller.context.send(
          { pack: target, name: 'Post', payload: { channelId: 'C3', message: 'c' } },
          { waitMs: 10_000 },
        )
      ).result;
      await sleep(100);
      assert.deepEqual(seen, ['Posted', 'Posted'], 'nothing after stop, and SlowDone never matched');
    });
  });
}

test('a directory started after a pack learns of it by asking: its commands, and the instance running', async () => {
  const bus = await connectTestBus();
  const name = uniquePackName('before');
  const pack = await startTestPack(bus, { name });
  const directory = await PackDirectory.start(bus, testLogger);
  try {
    await eventually(() =>
      assert.deepEqual(
        directory.announcement(name)?.commands.map((command) => command.name),
        ['Post', 'Flaky', 'Slow', 'Broken', 'Crash'],
      ),
    );
    assert.equal(directory.list().find((instance) => instance.name === name)?.state, 'running');
  } finally {
    await directory.stop();
    await pack.stop({ graceMs: 100 });
    await bus.close();
  }
});

test('only the asker gets the answer: a watcher of PackStarted sees one, however often others ask', async () => {
  const bus = new MemoryBus();
  const name = uniquePackName('once');
  const events = await EventCollector.start(bus, `${name}.*`);
  const pack = await startTestPack(bus, { name });
  for (let i = 0; i < 3; i++) {
    await bus.publish(
      { exchange: EVENTS_EXCHANGE, routingKey: routingKey('asker', 'AnnouncementsRequested') },
      createEnvelope({ kind: 'event', pack: 'asker', name: 'AnnouncementsRequested', payload: {} }),
      { replyTo: 'nobody' },
    );
  }
  const directory = await PackDirectory.start(bus, testLogger);
  await eventually(() => assert.ok(directory.announcement(name)));
  await sleep(50);
  assert.equal(events.named('PackStarted').length, 1);
  await directory.stop();
  await pack.stop({ graceMs: 100 });
  await events.stop();
  await bus.close();
});

test('send passes AMQP headers with the command (read where the in-memory bus keeps it)', async () => {
  const bus = new MemoryBus();
  const caller = await startCaller(bus);
  const name = uniquePackName('headers');
  const queue = `test.${name}`;
  await bus.declareQueue(queue, [{ exchange: COMMANDS_EXCHANGE, pattern: `${name}.*` }]);
  const sent = await caller.context.send(
    { pack: name, name: 'Ring', payload: {} },
    { headers: { 'x-switchboard-sent-by': 'tekton' } },
  );
  const [message] = bus.peek(queue);
  assert.equal(message?.headers['x-switchboard-sent-by'], 'tekton');
  assert.equal((JSON.parse(message?.body.toString('utf8') ?? '{}') as Envelope).id, sent.id);
  await caller.runtime.stop({ graceMs: 100 });
  await bus.close();
});
