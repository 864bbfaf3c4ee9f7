import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { brokerUrl, connectTestBus } from '../support/bus.ts';
import { CLI, ROOT, type Spawned, spawnNode } from '../support/processes.ts';

// `switchboard engine` as users run it: its own process, RabbitMQ, a watched flows directory.
let bus: AmqpBus;
let engine: Spawned;
let flowsDir: string;
let dataDir: string;
const commands: Envelope[] = [];

before(async () => {
  flowsDir = await mkdtemp(join(tmpdir(), 'sb-flows-'));
  dataDir = await mkdtemp(join(tmpdir(), 'sb-data-'));
  await copyFile(join(ROOT, 'flows/echo.json'), join(flowsDir, 'echo.json'));
  bus = await connectTestBus();
  await bus.consume(
    {
      durability: 'private',
      bindings: [
        { exchange: COMMANDS_EXCHANGE, pattern: 'slack.SendMessage' },
        { exchange: COMMANDS_EXCHANGE, pattern: 'e2e-target.*' },
      ],
      kind: 'command',
      prefetch: 100,
    },
    async ({ envelope }) => {
      commands.push(envelope);
    },
  );
  engine = spawnNode(CLI, ['engine', '--flows', flowsDir, '--data-dir', dataDir], {
    ...process.env,
    AMQP_URL: brokerUrl(),
    LOG_LEVEL: 'info',
    SWITCHBOARD_CONSOLE_PORT: '0',
  });
  await engine.waitForOutput(/"msg":"engine started"/, 30_000);
  consoleUrl = JSON.parse(await engine.waitForOutput(/\{[^\n]*"msg":"console listening"[^\n]*\}/)).url;
});

let consoleUrl: string;

after(async () => {
  engine.child.kill('SIGTERM');
  assert.equal(await engine.exit, 0, 'the engine stops cleanly on SIGTERM');
  await bus.close();
  await rm(flowsDir, { recursive: true });
  await rm(dataDir, { recursive: true });
});

async function commandCausedBy(event: Envelope, timeoutMs = 15_000): Promise<Envelope> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = commands.find((command) => command.causationId === event.id);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no command caused by ${event.pack}.${event.name}; engine output:\n${engine.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const publishEvent = async (pack: string, name: string, payload: unknown) => {
  const event = createEnvelope({ kind: 'event', pack, name, payload });
  await bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: routingKey(pack, name) }, event);
  return event;
};

test('slack.ReceivedMessage "echo hi" yields slack.SendMessage with the echo reply', async () => {
  const event = await publishEvent('slack', 'ReceivedMessage', {
    channelId: 'C1',
    user: { id: 'U1' },
    message: 'echo hi',
  });
  const command = await commandCausedBy(event);
  assert.equal(command.name, 'SendMessage');
  assert.deepEqual(command.payload, { channelId: 'C1', message: '<@U1>, you said:\n>>> hi' });
});

test('a flow added to the directory takes effect without a restart; a bad edit is reported and the old version stays', async () => {
  const flow = (message: string) =>
    JSON.stringify({
      name: 'hot',
      steps: [
        {
          event: { packName: 'e2e-source', name: 'Ping' },
          command: { packName: 'e2e-target', name: 'Pong', input: { message } },
        },
      ],
    });
  await writeFile(join(flowsDir, 'hot.json'), flow('first version'));
  await engine.waitForOutput(/hot@[0-9a-f]+"\][^\n]*"msg":"flows reloaded"/);
  const first = await commandCausedBy(await publishEvent('e2e-source', 'Ping', {}));
  assert.deepEqual(first.payload, { message: 'first version' });

  await writeFile(join(flowsDir, 'hot.json'), '{"name": "hot", "steps": [{"event": {}}]}');
  await engine.waitForOutput(/"file":"hot.json","path":"\/steps\/0[^"]*","reason":"[^"]+"/);
  const still = await commandCausedBy(await publishEvent('e2e-source', 'Ping', {}));
  assert.deepEqual(still.payload, { message: 'first version' }, 'the previous version stays in force');
});

test('with SWITCHBOARD_CONSOLE_PORT set, the engine serves the web console on loopback', async () => {
  assert.match(consoleUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  const response = await fetch(`${consoleUrl}/api/packs`);
  assert.equal(response.status, 200);
  assert.ok(Array.isArray(((await response.json()) as { packs: unknown }).packs));
});
