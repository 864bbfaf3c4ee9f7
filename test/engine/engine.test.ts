import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { runExecutionAgain } from '../../engine/engine.ts';
import type { Flow } from '../../engine/flow.ts';
import { EngineStore } from '../../engine/state/engine-store.ts';
import type { Bus } from '../../shared/bus/bus.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { EventCollector, testLogger, uniquePackName } from '../support/bus.ts';
import { createTestEngine, loadedFlow } from '../support/engine.ts';
import { whenDefined } from '../support/eventually.ts';
import { FakeOutsideSystem, startTestPack } from '../support/test-pack.ts';

/** Collects the commands published on the bus for the packs matching `pattern`. */
async function collectCommands(bus: Bus, pattern: string) {
  const commands: Envelope[] = [];
  await bus.consume(
    {
      durability: 'private',
      bindings: [{ exchange: COMMANDS_EXCHANGE, pattern }],
      kind: 'command',
      prefetch: 100,
    },
    async ({ envelope }) => {
      commands.push(envelope);
    },
  );
  return commands;
}

const publishEvent = (bus: Bus, event: Envelope) =>
  bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: routingKey(event.pack, event.name) }, event);

describe('the flow engine', () => {
  test('the shipped echo flow answers "echo hello world" with the mention and the quote', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const echo = JSON.parse(
      await readFile(new URL('../../flows/echo.json', import.meta.url), 'utf8'),
    ) as Flow;
    const engine = createTestEngine(bus, store, [loadedFlow(echo)]);
    await engine.start();
    const commands = await collectCommands(bus, 'slack.*');
    const event = createEnvelope({
      kind: 'event',
      pack: 'slack',
      name: 'ReceivedMessage',
      payload: { channelId: 'C1', user: { id: 'U1' }, message: 'echo hello world' },
    });
    await publishEvent(bus, event);
    const [command] = await whenDefined(
      () => (commands.length ? commands : undefined),
      'the SendMessage command',
    );
    assert.equal(command?.name, 'SendMessage');
    assert.equal(command?.pack, 'slack');
    assert.deepEqual(command?.payload, { channelId: 'C1', message: '<@U1>, you said:\n>>> hello world' });
    assert.equal(command?.causationId, event.id);
    const [execution] = store.executionsOf(command?.correlationId as string);
    assert.equal(execution?.status, 'pending');
    assert.equal(execution?.flowName, 'echo');
    // Not an echo: nothing fires.
    await publishEvent(
      bus,
      createEnvelope({
        kind: 'event',
        pack: 'slack',
        name: 'ReceivedMessage',
        payload: { channelId: 'C1', user: { id: 'U1' }, message: 'hello' },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(commands.length, 1);
    await engine.stop();
    store.close();
    await bus.close();
  });

  test('a multi-step instance follows dependsOn, with its accumulated context, and the failure branch', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const pack = uniquePackName('flow');
    const outside = new FakeOutsideSystem();
    const runtime = await startTestPack(bus, { name: pack, outside });
    const flow: Flow = {
      name: 'chain',
      steps: [
        {
          id: 'first',
          event: { packName: 'Trigger', name: 'Go' },
          context: { Who: '{{ Event.Payload.who }}' },
          command: {
            packName: pack,
            name: 'Post',
            input: { channelId: 'C1', message: 'first for {{ Context.Who }}' },
          },
        },
        {
          id: 'second',
          dependsOn: ['first'],
          event: { packName: pack, name: 'Posted' },
          context: { Ts: '{{ Event.Payload.timestamp }}' },
          command: {
            packName: pack,
            name: 'Post',
            input: { channelId: 'C1', message: 'second for {{ Context.Who }} after {{ Context.Ts }}' },
          },
        },
        {
          id: 'broken',
          dependsOn: ['second'],
          event: { packName: pack, name: 'Posted' },
          command: { packName: pack, name: 'Broken', input: {} },
        },
        {
          id: 'on_failure',
          dependsOn: ['broken'],
          event: { packName: pack, name: 'BrokenFailed' },
          command: {
            packName: pack,
            name: 'Post',
            input: { channelId: 'C1', message: 'it failed: {{ Event.Payload.errorCode }}' },
          },
        },
        {
          id: 'never',
          dependsOn: ['broken'],
          event: { packName: pack, name: 'BrokenSucceeded' },
          command: { packName: pack, name: 'Post', input: { channelId: 'C1', message: 'impossible' } },
        },
      ],
    };
    const engine = createTestEngine(bus, store, [loadedFlow(flow)]);
    await engine.start();
    await publishEvent(
      bus,
      createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: { who: 'ops' } }),
    );
    await whenDefined(() => (outside.posts.length >= 3 ? true : undefined), 'three posts');
    assert.deepEqual(
      outside.posts.map((post) => post.message),
      ['first for ops', 'second for ops after 1', 'it failed: not_found'],
    );
    const correlationId = store.listExecutions({ flow: 'chain' })[0]?.correlationId as string;
    const steps = await whenDefined(() => {
      const executions = store.executionsOf(correlationId);
      return executions.every((execution) => execution.status !== 'pending') && executions.length === 4
        ? executions
        : undefined;
    }, 'four finished executions');
    assert.deepEqual(
      steps.map((execution) => [execution.stepId, execution.status]),
      [
        ['first', 'succeeded'],
        ['second', 'succeeded'],
        ['broken', 'failed'],
        ['on_failure', 'succeeded'],
      ],
    );
    assert.equal(steps[2]?.error, 'channel C404 does not exist');
    await engine.stop();
    await runtime.stop({ graceMs: 1000 });
    store.close();
    await bus.close();
  });

  test('an event handled twice (redelivered) does not run its command twice', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const pack = uniquePackName('twice');
    const outside = new FakeOutsideSystem();
    const runtime = await startTestPack(bus, { name: pack, outside });
    const events = await EventCollector.start(bus, `${pack}.Posted`);
    const flow: Flow = {
      name: 'once',
      steps: [
        {
          event: { packName: 'trigger', name: 'Go' },
          command: { packName: pack, name: 'Post', input: { channelId: 'C', message: 'once' } },
        },
      ],
    };
    const engine = createTestEngine(bus, store, [loadedFlow(flow)]);
    const event = createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: {} });
    await engine.handleEvent(event);
    await engine.handleEvent(event);
    await events.waitFor(() => true, 2);
    assert.equal(outside.posts.length, 1, 'the pack ran it once');
    assert.equal(store.listExecutions({ flow: 'once' }).length, 1, 'one execution');
    await runtime.stop({ graceMs: 1000 });
    await events.stop();
    store.close();
    await bus.close();
  });

  test('a step whose template fails is recorded as failed, and the engine goes on', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const flow: Flow = {
      name: 'fragile',
      steps: [
        {
          event: { packName: 'trigger', name: 'Go' },
          command: {
            packName: 'target',
            name: 'Do',
            input: { parsed: '{{ Event.Payload.json | unmarshalJson }}' },
          },
        },
      ],
    };
    const engine = createTestEngine(bus, store, [loadedFlow(flow)]);
    const commands = await collectCommands(bus, 'target.*');
    await engine.handleEvent(
      createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: { json: '{not json' } }),
    );
    const [failed] = store.listExecutions({ flow: 'fragile', status: 'failed' });
    assert.match(String(failed?.error), /a template failed/);
    await engine.handleEvent(
      createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: { json: '{"a":1}' } }),
    );
    const [command] = await whenDefined(() => (commands.length ? commands : undefined), 'the next command');
    assert.deepEqual(command?.payload, { parsed: { a: 1 } });
    store.close();
    await bus.close();
  });

  test('the engine keeps what packs announce in PackStarted', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const engine = createTestEngine(bus, store, []);
    await engine.handleEvent(
      createEnvelope({
        kind: 'event',
        pack: 'slack',
        name: 'PackStarted',
        payload: {
          name: 'slack',
          commands: [
            {
              name: 'SendMessage',
              inputSchema: { required: ['channelId'] },
              events: ['MessageSent', 'SendMessageFailed'],
            },
          ],
        },
      }),
    );
    assert.deepEqual(
      store
        .packManifests()
        .get('slack')
        ?.map((command) => command.name),
      ['SendMessage'],
    );
    store.close();
    await bus.close();
  });

  test('a command without a result is marked timed_out', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const flow: Flow = {
      name: 'nobody',
      steps: [
        {
          event: { packName: 'trigger', name: 'Go' },
          command: { packName: 'absent', name: 'Do', input: {} },
        },
      ],
    };
    const engine = createTestEngine(bus, store, [loadedFlow(flow)], 300);
    await engine.start();
    await publishEvent(bus, createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: {} }));
    const [execution] = await whenDefined(() => {
      const found = store.listExecutions({ flow: 'nobody', status: 'timed_out' });
      return found.length ? found : undefined;
    }, 'a timed-out execution');
    assert.match(String(execution?.error), /no result within/);
    await engine.stop();
    store.close();
    await bus.close();
  });

  test('running instances keep the flow version they started with; new ones use the new version', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const pack = uniquePackName('version');
    const outside = new FakeOutsideSystem();
    const flowV = (text: string): Flow => ({
      name: 'versioned',
      steps: [
        {
          id: 'a',
          event: { packName: 'trigger', name: 'Go' },
          command: { packName: pack, name: 'Slow', input: { ms: 200 } },
        },
        {
          id: 'b',
          dependsOn: ['a'],
          event: { packName: pack, name: 'SlowDone' },
          command: { packName: pack, name: 'Post', input: { channelId: 'C', message: text } },
        },
      ],
    });
    const runtime = await startTestPack(bus, { name: pack, outside });
    const engine = createTestEngine(bus, store, [loadedFlow(flowV('from v1'), 'v1')]);
    await engine.start();
    await publishEvent(bus, createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: {} }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    engine.setFlows([loadedFlow(flowV('from v2'), 'v2')]);
    await publishEvent(bus, createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: {} }));
    await whenDefined(
      () => (outside.posts.filter((post) => post.channelId === 'C').length >= 2 ? true : undefined),
      'two posts',
    );
    assert.deepEqual(
      outside.posts
        .filter((post) => post.channelId === 'C')
        .map((post) => post.message)
        .sort(),
      ['from v1', 'from v2'],
    );
    await engine.stop();
    await runtime.stop({ graceMs: 1000 });
    store.close();
    await bus.close();
  });

  test('a failed step run again sends its command with a new id, and its result continues the instance', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const pack = uniquePackName('deploy');
    const flow: Flow = {
      name: 'deploy',
      steps: [
        {
          id: 'deploy',
          event: { packName: 'trigger', name: 'Go' },
          context: { Target: '{{ Event.Payload.target }}' },
          command: { packName: pack, name: 'Deploy', input: { target: '{{ Context.Target }}' } },
        },
        {
          id: 'announce',
          dependsOn: ['deploy'],
          event: { packName: pack, name: 'Deployed' },
          command: { packName: pack, name: 'Announce', input: { message: 'deployed {{ Context.Target }}' } },
        },
      ],
    };
    const engine = createTestEngine(bus, store, [loadedFlow(flow)]);
    await engine.start();
    // The test plays the pack: it answers each command by hand.
    const commands = await collectCommands(bus, `${pack}.*`);
    const answer = (command: Envelope, name: string, payload: unknown) =>
      publishEvent(
        bus,
        createEnvelope({
          kind: 'event',
          pack,
          name,
          payload,
          correlationId: command.correlationId,
          causationId: command.id,
        }),
      );
    await publishEvent(
      bus,
      createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: { target: 'prod' } }),
    );
    const [first] = await whenDefined(() => (commands.length ? commands : undefined), 'the Deploy command');
    assert.ok(first);
    await answer(first, 'DeployFailed', { errorCode: 'upstream_error', error: 'the server is down' });
    await whenDefined(
      () => (store.getExecution(first.id)?.status === 'failed' ? true : undefined),
      'the failed execution',
    );

    const outcome = await runExecutionAgain({ store, bus, logger: testLogger }, first.id);
    assert.ok('retry' in outcome, JSON.stringify(outcome));
    const { retry } = outcome;
    assert.notEqual(retry.id, first.id);
    const again = await whenDefined(() => commands.find((c) => c.id === retry.id), 'the command sent again');
    assert.equal(again.name, 'Deploy');
    assert.deepEqual(again.payload, first.payload);
    assert.equal(again.correlationId, first.correlationId);
    assert.equal(store.getExecution(first.id)?.retriedBy, retry.id);

    await answer(again, 'Deployed', { target: 'prod' });
    const announce = await whenDefined(
      () => commands.find((c) => c.name === 'Announce'),
      'the dependsOn step, fired by the result of the retry',
    );
    assert.deepEqual(announce.payload, { message: 'deployed prod' });
    assert.equal(announce.correlationId, first.correlationId);
    assert.deepEqual(
      store.executionsOf(first.correlationId as string).map((e) => [e.stepId, e.status, e.retryOf ?? '']),
      [
        ['deploy', 'failed', ''],
        ['deploy', 'succeeded', first.id],
        ['announce', 'pending', ''],
      ],
    );
    await engine.stop();
    store.close();
    await bus.close();
  });

  test('run again refuses what did not fail, what ran again already, and what it does not know', async () => {
    const bus = new MemoryBus();
    const store = EngineStore.open(':memory:');
    const parts = { store, bus, logger: testLogger };
    const commands = await collectCommands(bus, 'target.*');
    const flow: Flow = {
      name: 'once',
      steps: [{ event: { packName: 'trigger', name: 'Go' }, command: { packName: 'target', name: 'Do' } }],
    };
    const engine = createTestEngine(bus, store, [loadedFlow(flow)]);
    await engine.handleEvent(createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: {} }));
    const [pending] = store.listExecutions({ flow: 'once' });
    assert.ok(pending);
    assert.deepEqual(await runExecutionAgain(parts, pending.id), {
      refused: 'not_failed',
      execution: pending,
    });
    assert.deepEqual(await runExecutionAgain(parts, 'no-such-id'), {
      refused: 'unknown',
      execution: undefined,
    });
    store.timeOutPending(0, new Date(Date.now() + 1000));
    assert.ok('retry' in (await runExecutionAgain(parts, pending.id)));
    const second = await runExecutionAgain(parts, pending.id);
    assert.ok('refused' in second && second.refused === 'retried_already');
    await whenDefined(() => (commands.length === 2 ? true : undefined), 'the first command and one retry');
    assert.equal(commands.length, 2);
    store.close();
    await bus.close();
  });

  test('a retry whose command cannot be published is taken back, and can be run again', async () => {
    const store = EngineStore.open(':memory:');
    store.recordExecution({
      id: 'cmd-1',
      correlationId: 'c1',
      flowName: 'f',
      flowVersion: 'v1',
      stepId: 's',
      triggerEvent: createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: {} }),
      command: createEnvelope({ id: 'cmd-1', kind: 'command', pack: 'target', name: 'Do', payload: {} }),
      startedAt: new Date().toISOString(),
    });
    store.timeOutPending(0, new Date(Date.now() + 1000));
    const down = {
      publish: async () => {
        throw new Error('the broker connection is closed');
      },
    } as unknown as Bus;
    await assert.rejects(
      runExecutionAgain({ store, bus: down, logger: testLogger }, 'cmd-1'),
      /could not be published: the broker connection is closed/,
    );
    assert.equal(store.getExecution('cmd-1')?.retriedBy, undefined);
    assert.equal(store.executionsOf('c1').length, 1);
    const bus = new MemoryBus();
    assert.ok('retry' in (await runExecutionAgain({ store, bus, logger: testLogger }, 'cmd-1')));
    store.close();
    await bus.close();
  });
});
