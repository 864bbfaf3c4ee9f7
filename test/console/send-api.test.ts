import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import type { Bus } from '../../shared/bus/bus.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, packQueueName, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { connectTestBus, EventCollector, testLogger, uniquePackName } from '../support/bus.ts';
import { startTestPack } from '../support/test-pack.ts';

interface Answer {
  id?: string;
  correlationId?: string;
  result?: Envelope;
  errorCode?: string;
  reason?: string;
  error?: { code: string; message: string };
}

async function post(
  console: RunningConsole,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; answer: Answer }> {
  const response = await fetch(`${console.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, answer: (await response.json()) as Answer };
}

/** A pack that announced itself but that nothing runs: its commands wait, unanswered, in its queue. */
async function announceIdlePack(bus: Bus, name: string): Promise<void> {
  await bus.declareQueue(packQueueName(name), [{ exchange: COMMANDS_EXCHANGE, pattern: `${name}.*` }]);
  await bus.publish(
    { exchange: EVENTS_EXCHANGE, routingKey: routingKey(name, 'PackStarted') },
    createEnvelope({
      kind: 'event',
      pack: name,
      name: 'PackStarted',
      payload: {
        name,
        instanceId: `${name}-1`,
        version: '1.0.0',
        labels: {},
        commands: [
          {
            name: 'Ring',
            description: 'rings a bell',
            inputSchema: { type: 'object', properties: { times: { type: 'integer' } } },
            events: ['Rang', 'RingFailed'],
          },
        ],
      },
    }),
  );
}

async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('POST /api/commands/<pack>/<Command> on the in-memory bus', () => {
  const bus = new MemoryBus();
  const name = uniquePackName('send');
  const idle = uniquePackName('idle');
  let console: RunningConsole;
  let pack: PackRuntime;
  let events: EventCollector;

  before(async () => {
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
    });
    events = await EventCollector.start(bus, `${name}.*`);
    pack = await startTestPack(bus, { name });
    await announceIdlePack(bus, idle);
    // Known to the console once its PackStarted has gone through.
    await eventually(async () => {
      const response = await fetch(`${console.url}/api/commands`);
      const { packs } = (await response.json()) as { packs: Array<{ pack: string }> };
      assert.deepEqual(packs.map((each) => each.pack).sort(), [idle, name].sort());
    });
  });
  after(async () => {
    await pack.stop({ graceMs: 100 });
    await events.stop();
    await console.close();
    await bus.close();
  });

  test('GET /api/commands lists what each pack announced, with the schemas and running instances', async () => {
    const response = await fetch(`${console.url}/api/commands`);
    assert.equal(response.status, 200);
    const { packs } = (await response.json()) as {
      packs: Array<{
        pack: string;
        runningInstances: number;
        commands: Array<{ name: string; inputSchema: { required?: string[] }; events: string[] }>;
      }>;
    };
    const announced = packs.find((each) => each.pack === name);
    assert.equal(announced?.runningInstances, 1);
    const postCommand = announced?.commands.find((command) => command.name === 'Post');
    assert.deepEqual(postCommand?.inputSchema.required, ['channelId', 'message']);
    assert.deepEqual(postCommand?.events, ['Posted', 'PostFailed']);
  });

  test('a valid payload is published and answered 202 with its id; the pack runs it', async () => {
    const { status, answer } = await post(console, `/api/commands/${name}/Post`, {
      channelId: 'C1',
      message: 'from the console',
    });
    assert.equal(status, 202);
    assert.ok(answer.id);
    assert.equal(answer.correlationId, answer.id);
    const [result] = await events.waitFor((event) => event.causationId === answer.id);
    assert.equal(result?.name, 'Posted');
    assert.equal(result?.correlationId, answer.id);
  });

  test('the command says it came from the console, in an AMQP header', async () => {
    const { status, answer } = await post(console, `/api/commands/${idle}/Ring`, { times: 2 });
    assert.equal(status, 202);
    const [waiting] = bus.peek(packQueueName(idle));
    assert.equal(waiting?.headers['x-switchboard-sent-by'], 'console');
    const command = JSON.parse(waiting?.body.toString('utf8') ?? '{}') as Envelope;
    assert.deepEqual(
      {
        id: command.id,
        pack: command.pack,
        name: command.name,
        payload: command.payload,
        labels: command.labels,
      },
      { id: answer.id, pack: idle, name: 'Ring', payload: { times: 2 }, labels: undefined },
    );
  });

  test('a payload that fails the announced schema gets 422 naming the field, and is not published', async () => {
    const before = events.events.length;
    const wrongType = await post(console, `/api/commands/${name}/Post`, { channelId: 5, message: 'hi' });
    assert.equal(wrongType.status, 422);
    assert.equal(wrongType.answer.error?.code, 'invalid_input');
    assert.match(wrongType.answer.error?.message ?? '', /payload\.channelId must be string/);
    const missing = await post(console, `/api/commands/${name}/Post`, { channelId: 'C1' });
    assert.equal(missing.status, 422);
    assert.match(missing.answer.error?.message ?? '', /must have the field "message"/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(events.events.length, before, 'no command ran');
  });

  test('an unknown pack gets 404 naming the known packs; an unknown command, naming its commands', async () => {
    const pack404 = await post(console, '/api/commands/nosuchpack/Post', {});
    assert.equal(pack404.status, 404);
    assert.equal(pack404.answer.error?.code, 'unknown_pack');
    assert.match(pack404.answer.error?.message ?? '', new RegExp(`known are .*${name}`));
    const command404 = await post(console, `/api/commands/${name}/Launch`, {});
    assert.equal(command404.status, 404);
    assert.equal(command404.answer.error?.code, 'unknown_command');
    assert.match(command404.answer.error?.message ?? '', /its commands are Post, Flaky, Slow, Broken, Crash/);
  });

  test('?wait= answers 200 with the success event', async () => {
    const { status, answer } = await post(console, `/api/commands/${name}/Post?wait=5`, {
      channelId: 'C1',
      message: 'waited for',
    });
    assert.equal(status, 200);
    assert.equal(answer.result?.name, 'Posted');
    assert.equal(answer.result?.causationId, answer.id);
    assert.equal((answer.result?.payload as { message?: string } | undefined)?.message, 'waited for');
  });

  test('?wait= answers 422 with the failure event, its errorCode and reason', async () => {
    const { status, answer } = await post(console, `/api/commands/${name}/Broken?wait=5`, {});
    assert.equal(status, 422);
    assert.equal(answer.error?.code, 'command_failed');
    assert.equal(answer.errorCode, 'not_found');
    assert.equal(answer.reason, 'channel C404 does not exist');
    assert.match(answer.error?.message ?? '', /BrokenFailed: not_found: channel C404 does not exist/);
    assert.equal(answer.result?.name, 'BrokenFailed');
  });

  test('?wait= answers 504 when no result comes in time', async () => {
    const { status, answer } = await post(console, `/api/commands/${idle}/Ring?wait=0.2`, {});
    assert.equal(status, 504);
    assert.equal(answer.error?.code, 'no_result');
    assert.match(answer.error?.message ?? '', /within 0\.2 s/);
    assert.ok(answer.id);
  });

  test('a wait that is not a number of seconds up to 60 gets 400', async () => {
    for (const wait of ['61', '0', 'soon', '']) {
      const { status, answer } = await post(console, `/api/commands/${name}/Post?wait=${wait}`, {
        channelId: 'C1',
        message: 'hi',
      });
      assert.equal(status, 400, wait);
      assert.equal(answer.error?.code, 'invalid_wait');
    }
  });

  test('a POST from another origin is refused before anything is sent', async () => {
    const before = bus.peek(packQueueName(idle)).length;
    const { status, answer } = await post(
      console,
      `/api/commands/${idle}/Ring`,
      {},
      {
        origin: 'https://evil.example',
      },
    );
    assert.equal(status, 403);
    assert.equal(answer.error?.code, 'cross_origin');
    assert.equal(bus.peek(packQueueName(idle)).length, before);
  });
});

describe('POST /api/commands on RabbitMQ', () => {
  let bus: Bus;
  let console: RunningConsole;
  before(async () => {
    bus = await connectTestBus();
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
    });
  });
  after(async () => {
    await console.close();
    await bus.close();
  });

  test('publishes with confirms and answers with the result', async () => {
    const name = uniquePackName('send');
    const pack = await startTestPack(bus, { name });
    try {
      await eventually(async () => {
        const { status, answer } = await post(console, `/api/commands/${name}/Post?wait=10`, {
          channelId: 'C1',
          message: 'over RabbitMQ',
        });
        assert.equal(status, 200, JSON.stringify(answer));
        assert.equal(answer.result?.name, 'Posted');
      });
    } finally {
      await pack.stop({ graceMs: 100 });
    }
  });

  test('a pack whose queue is missing gets 503 instead of a command RabbitMQ would drop', async () => {
    const name = uniquePackName('gone');
    await bus.publish(
      { exchange: EVENTS_EXCHANGE, routingKey: routingKey(name, 'PackStarted') },
      createEnvelope({
        kind: 'event',
        pack: name,
        name: 'PackStarted',
        payload: {
          name,
          instanceId: `${name}-1`,
          commands: [{ name: 'Ring', inputSchema: { type: 'object' }, events: ['Rang', 'RingFailed'] }],
        },
      }),
    );
    await eventually(async () => {
      const { status, answer } = await post(console, `/api/commands/${name}/Ring`, {});
      assert.equal(status, 503, JSON.stringify(answer));
      assert.equal(answer.error?.code, 'pack_queue_missing');
      assert.match(answer.error?.message ?? '', new RegExp(`switchboard\\.pack\\.${name}`));
    });
  });
});
