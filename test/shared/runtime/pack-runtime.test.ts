import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Bus } from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import { definePack, type PackContext } from '../../../shared/runtime/pack-definition.ts';
import type { PackRuntimeOptions } from '../../../shared/runtime/pack-runtime.ts';
import { connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { createTestPack, FakeOutsideSystem, startPackRuntime } from '../../support/test-pack.ts';

/** The same guarantees, on RabbitMQ and on the in-memory bus that single-process mode uses. */
const buses: Array<[string, () => Promise<Bus>]> = [
  ['RabbitMQ', () => connectTestBus()],
  ['in-memory bus', async () => new MemoryBus()],
];

for (const [busName, makeBus] of buses) {
  describe(`pack runtime on the ${busName}`, () => {
    let bus: Bus;
    before(async () => {
      bus = await makeBus();
    });
    after(async () => {
      await bus.close();
    });

    async function startPack(options: Partial<PackRuntimeOptions> & { outside?: FakeOutsideSystem } = {}) {
      const name = uniquePackName();
      const outside = options.outside ?? new FakeOutsideSystem();
      const events = await EventCollector.start(bus, `${name}.*`);
      const runtime = await startPackRuntime(bus, createTestPack(name, outside), {
        prefetch: 50,
        commandTimeoutMs: 10_000,
        retry: { maxRetries: 3, minDelayMs: 10, maxDelayMs: 50 },
        ...options,
      });
      const send = async (
        command: string,
        payload: unknown,
        fields: Partial<Envelope> = {},
        replyTo?: string,
      ) => {
        const envelope = {
          ...createEnvelope({ kind: 'command', pack: name, name: command, payload }),
          ...fields,
        };
        await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(name, command) }, envelope, {
          replyTo,
        });
        return envelope;
      };
      const resultOf = async (command: Envelope) =>
        (await events.waitFor((event) => event.causationId === command.id))[0] as Envelope;
      const stop = async () => {
        await runtime.stop({ graceMs: 5000 });
        await events.stop();
      };
      return { name, outside, events, runtime, send, resultOf, stop };
    }

    test('announces itself with PackStarted, listing each command with its schema and events', async () => {
      const pack = await startPack({ labels: { env: 'test' } });
      const [started] = await pack.events.waitFor((event) => event.name === 'PackStarted');
      const payload = started?.payload as {
        name: string;
        labels: Record<string, string>;
        version: string;
        commands: Array<{ name: string; events: string[]; inputSchema: { required: string[] } }>;
      };
      assert.equal(payload.name, pack.name);
      assert.deepEqual(payload.labels, { env: 'test' });
      assert.equal(payload.version, '0.0.1-test');
      const post = payload.commands.find((command) => command.name === 'Post');
      assert.deepEqual(post?.events, ['Posted', 'PostFailed']);
      assert.deepEqual(post?.inputSchema.required, ['channelId', 'message']);
      await pack.stop();
    });

    test('a command gets one result event carrying the correlation and causation ids', async () => {
      const pack = await startPack();
      const command = await pack.send(
        'Post',
        { channelId: 'C1', message: 'hello' },
        { correlationId: 'flow-42' },
      );
      const result = await pack.resultOf(command);
      assert.equal(result.name, 'Posted');
      assert.equal(result.kind, 'event');
      assert.equal(result.pack, pack.name);
      assert.equal(result.correlationId, 'flow-42');
      assert.equal(result.causationId, command.id);
      assert.deepEqual(result.payload, { channelId: 'C1', message: 'hello', timestamp: '1' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(pack.events.events.filter((event) => event.causationId === command.id).length, 1);
      await pack.stop();
    });

    test('without a correlationId the result correlates to the command id', async () => {
      const pack = await startPack();
      const command = await pack.send('Post', { channelId: 'C1', message: 'x' });
      assert.equal((await pack.resultOf(command)).correlationId, command.id);
      await pack.stop();
    });

    test('the result is also sent to replyTo', async () => {
      const pack = await startPack();
      let reply: Envelope | undefined;
      const replies = await bus.consume(
        { durability: 'private', bindings: [], kind: 'event', prefetch: 1 },
        async (m) => {
          reply = m.envelope;
        },
      );
      const command = await pack.send('Post', { channelId: 'C1', message: 'r' }, {}, await replies.queue);
      const result = await pack.resultOf(command);
      for (let i = 0; i < 100 && !reply; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(reply?.id, result.id);
      await replies.stop();
      await pack.stop();
    });

    test('a command sent twice with the same id runs once and is answered from the record', async () => {
      const pack = await startPack();
      const first = await pack.send('Post', { channelId: 'C1', message: 'once' });
      const firstResult = await pack.resultOf(first);
      await pack.send('Post', { channelId: 'C1', message: 'once' }, { id: first.id });
      const results = await pack.events.waitFor((event) => event.causationId === first.id, 2);
      assert.equal(pack.outside.posts.length, 1, 'the side effect happened once');
      assert.deepEqual(
        results.map((result) => result.id),
        [firstResult.id, firstResult.id],
        'the recorded result event is sent again, same id',
      );
      await pack.stop();
    });

    test('an invalid payload gets the failure event with invalid_input and the reason in words', async () => {
      const pack = await startPack();
      const command = await pack.send('Post', { channelId: 42 });
      const result = await pack.resultOf(command);
      assert.equal(result.name, 'PostFailed');
      const payload = result.payload as Record<string, unknown>;
      assert.equal(payload.errorCode, 'invalid_input');
      assert.match(String(payload.error), /payload\.channelId must be string/);
      assert.match(String(payload.error), /must have the field "message"/);
      assert.equal(payload.channelId, 42, 'the failure carries the input fields');
      assert.equal(pack.outside.posts.length, 0);
      await pack.stop();
    });

    test('an unknown command gets CommandFailed with unknown_command', async () => {
      const pack = await startPack();
      const command = await pack.send('Teleport', { to: 'mars' });
      const result = await pack.resultOf(command);
      assert.equal(result.name, 'CommandFailed');
      const payload = result.payload as Record<string, unknown>;
      assert.equal(payload.errorCode, 'unknown_command');
      assert.equal(payload.command, 'Teleport');
      assert.match(String(payload.error), /no command "Teleport".*Post/);
      await pack.stop();
    });

    test('a transient failure is retried, waiting out Retry-After, then succeeds', async () => {
      const pack = await startPack();
      const command = await pack.send('Flaky', { failures: 2, retryAfterSeconds: 0.3 });
      const result = await pack.resultOf(command);
      assert.equal(result.name, 'FlakySucceeded');
      assert.deepEqual(result.payload, { attempts: 3 });
      const times = pack.outside.attemptTimes.get(command.id) ?? [];
      assert.equal(times.length, 3);
      assert.ok(
        (times[1] as number) - (times[0] as number) >= 300,
        'waited at least Retry-After before try 2',
      );
      assert.ok(
        (times[2] as number) - (times[1] as number) >= 300,
        'waited at least Retry-After before try 3',
      );
      await pack.stop();
    });

    test('retries stop at the limit and the failure event says rate_limited', async () => {
      const pack = await startPack();
      const command = await pack.send('Flaky', { failures: 100 });
      const result = await pack.resultOf(command);
      assert.equal(result.name, 'FlakyFailed');
      assert.equal((result.payload as Record<string, unknown>).errorCode, 'rate_limited');
      assert.equal(pack.outside.attempts.get(command.id), 4, 'first try plus maxRetries (3)');
      await pack.stop();
    });

    test('a permanent failure is not retried and keeps its code', async () => {
      const pack = await startPack();
      const result = await pack.resultOf(await pack.send('Broken', {}));
      assert.equal(result.name, 'BrokenFailed');
      assert.deepEqual(result.payload, { error: 'channel C404 does not exist', errorCode: 'not_found' });
      await pack.stop();
    });

    test('a handler bug becomes internal_error, and the pack goes on', async () => {
      const pack = await startPack();
      const crash = await pack.resultOf(await pack.send('Crash', {}));
      assert.equal((crash.payload as Record<string, unknown>).errorCode, 'internal_error');
      const next = await pack.resultOf(await pack.send('Post', { channelId: 'C1', message: 'still here' }));
      assert.equal(next.name, 'Posted');
      await pack.stop();
    });

    test('a command past its time limit fails with timeout', async () => {
      const pack = await startPack({ commandTimeoutMs: 200 });
      const result = await pack.resultOf(await pack.send('Slow', { ms: 2000 }));
      assert.equal(result.name, 'SlowFailed');
      assert.equal((result.payload as Record<string, unknown>).errorCode, 'timeout');
      await pack.stop();
    });

    test('stopping lets in-flight commands finish and announces PackStopped', async () => {
      const pack = await startPack();
      const command = await pack.send('Slow', { ms: 500 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      await pack.runtime.stop({ graceMs: 5000 });
      const result = await pack.resultOf(command);
      assert.equal(result.name, 'SlowDone');
      const [stopped] = await pack.events.waitFor((event) => event.name === 'PackStopped');
      assert.equal((stopped?.payload as Record<string, unknown> | undefined)?.name, pack.name);
      await pack.events.stop();
    });

    test('an observed event is published with the pack labels', async () => {
      const pack = await startPack({ labels: { team: 'ops' } });
      await pack.runtime.emit('Observed', { what: 'a message' });
      const [observed] = await pack.events.waitFor((event) => event.name === 'Observed');
      assert.deepEqual(observed?.payload, { what: 'a message' });
      assert.deepEqual(observed?.labels, { team: 'ops' });
      await pack.stop();
    });

    test('a pack can send a command to another pack and get its result; a repeat is answered from the record', async () => {
      const target = await startPack();
      let context: PackContext | undefined;
      const caller = await startPackRuntime(
        bus,
        definePack({
          name: uniquePackName('caller'),
          version: 'test',
          description: 'sends commands',
          commands: {},
          start: async (given) => {
            context = given;
          },
        }),
      );
      const request = {
        pack: target.name,
        name: 'Post',
        payload: { channelId: 'C1', message: 'hi' },
        id: randomUUID(),
      };
      const result = await context?.request(request, { timeoutMs: 10_000 });
      assert.equal(result?.name, 'Posted');
      assert.equal(result?.causationId, request.id);
      const again = await context?.request(request, { timeoutMs: 10_000 });
      assert.equal(again?.name, 'Posted');
      assert.equal(target.outside.posts.length, 1, 'run once');
      const nobody = await context?.request(
        { pack: uniquePackName('absent'), name: 'Post', payload: {} },
        { timeoutMs: 300 },
      );
      assert.equal(nobody, undefined);
      await caller.stop({ graceMs: 1000 });
      await target.stop();
    });

    test('an observation emitted twice under one dedupeKey keeps its event id; other keys get others', async () => {
      const pack = await startPack();
      await pack.runtime.emit('Observed', { what: 'once' }, { dedupeKey: 'Ev1' });
      await pack.runtime.emit('Observed', { what: 'once' }, { dedupeKey: 'Ev1' });
      await pack.runtime.emit('Observed', { what: 'another' }, { dedupeKey: 'Ev2' });
      const observed = await pack.events.waitFor((event) => event.name === 'Observed', 3);
      assert.equal(observed[0]?.id, observed[1]?.id);
      assert.notEqual(observed[0]?.id, observed[2]?.id);
      await pack.stop();
    });
  });
}
