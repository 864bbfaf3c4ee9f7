import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import { defineCommand, definePack } from '../../../shared/runtime/pack-definition.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { EventCollector, testLogger, uniquePackName } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../../support/throwaway-rabbitmq.ts';

// This test closes one instance's connection, so it runs a broker of its own.
let broker: ThrowawayBroker;
before(async () => {
  broker = await startThrowawayBroker();
});
after(async () => {
  await broker?.dispose();
});

/**
 * An outside service shaped like Slack: a post becomes visible only once the slow call returns, and a
 * redelivered command first looks for its post by command id (as the Slack pack searches history).
 */
class SlowChatService {
  readonly landed: Array<{ commandId: string; channelId: string }> = [];
  readonly started = new Set<string>();

  pack(name: string, sendMs: number) {
    return definePack({
      name,
      version: '0.0.1-test',
      description: 'a pack whose posts land slowly',
      commands: {
        Post: defineCommand<{ channelId: string }>({
          description: 'posts, slowly',
          inputSchema: {
            type: 'object',
            required: ['channelId'],
            properties: { channelId: { type: 'string' } },
          },
          success: 'Posted',
          failure: 'PostFailed',
          handler: async (input, { command, redelivered }) => {
            const earlier = redelivered && this.landed.find((post) => post.commandId === command.id);
            if (earlier) return { ...input, found: true };
            this.started.add(command.id);
            await sleep(sendMs);
            this.landed.push({ commandId: command.id, channelId: input.channelId });
            return { ...input, found: false };
          },
        }),
      },
    });
  }
}

/**
 * Longer than rabbitmqctl's two calls (about a second each) plus the 2 s a redelivered command waits, so
 * the second instance looks for the post while the first is still sending it.
 */
const SEND_MS = 8000;

function connect(name: string): Promise<AmqpBus> {
  return AmqpBus.connect({ url: broker.url, name, logger: testLogger, initialRetries: 3 });
}

/** Closes the broker side of the connection this process named `name` (RabbitMQ then requeues its deliveries). */
async function closeConnectionNamed(name: string): Promise<void> {
  const listing = await broker.ctl([
    'list_connections',
    'pid',
    'client_properties',
    '--quiet',
    '--no-table-headers',
  ]);
  const line = listing.split('\n').find((row) => row.includes(`"${name}"`));
  assert.ok(line, `no connection named ${name} in:\n${listing}`);
  const pid = line.split('\t')[0] as string;
  await broker.ctl(['close_connection', pid, 'test: a consume connection drops']);
}

test('with two instances, a consume connection dropped during a slow send posts once', async () => {
  const name = uniquePackName('claims');
  const service = new SlowChatService();
  const senderBus = await connect('sender');
  const busA = await connect('instance-a');
  const busB = await connect('instance-b');
  const runtimes: PackRuntime[] = [];
  try {
    const results = await EventCollector.start(senderBus, `${name}.*`);
    runtimes.push(await startPackRuntime(busA, service.pack(name, SEND_MS), { commandTimeoutMs: 30_000 }));
    const commands = ['C1', 'C2', 'C3'].map((channelId) =>
      createEnvelope({ kind: 'command', pack: name, name: 'Post', payload: { channelId } }),
    );
    for (const command of commands) {
      await senderBus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(name, 'Post') }, command);
    }
    while (service.started.size < commands.length) await sleep(20);
    // Instance B is up when A's deliveries go back to the queue, so the broker hands them to B.
    runtimes.push(await startPackRuntime(busB, service.pack(name, SEND_MS), { commandTimeoutMs: 30_000 }));
    await closeConnectionNamed('instance-a consumer');

    await results.waitFor((event) => event.name === 'Posted', commands.length, 30_000);
    // Both instances finish what they took before the posts are counted.
    for (const runtime of runtimes.splice(0)) await runtime.stop({ graceMs: 30_000 });
    for (const command of commands) {
      const posts = service.landed.filter((post) => post.commandId === command.id);
      assert.equal(posts.length, 1, `command ${command.id} was posted ${posts.length} times`);
    }
  } finally {
    for (const runtime of runtimes) await runtime.stop({ graceMs: 5000 });
    await Promise.allSettled([busA.close(), busB.close(), senderBus.close()]);
  }
});
