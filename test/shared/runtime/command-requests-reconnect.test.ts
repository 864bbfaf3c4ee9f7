import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import { CommandRequests } from '../../../shared/runtime/command-requests.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { connectTestBus, uniquePackName } from '../../support/bus.ts';
import { FakeOutsideSystem, startTestPack } from '../../support/test-pack.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../../support/throwaway-rabbitmq.ts';

// Drops every connection, so it runs a broker of its own.
let broker: ThrowawayBroker;
let packBus: AmqpBus;
let requesterBus: AmqpBus;
let runtime: PackRuntime;
let requests: CommandRequests;
const pack = uniquePackName('requests');
const outside = new FakeOutsideSystem();

before(async () => {
  broker = await startThrowawayBroker();
  packBus = await connectTestBus(broker.url, { publishTimeoutMs: 30_000 });
  requesterBus = await connectTestBus(broker.url, { publishTimeoutMs: 30_000 });
  runtime = await startTestPack(packBus, { name: pack, outside, commandTimeoutMs: 30_000 });
  requests = new CommandRequests(requesterBus);
});
after(async () => {
  await requests?.stop();
  await runtime?.stop({ graceMs: 1000 });
  await Promise.all([packBus?.close(), requesterBus?.close()]);
  await broker?.dispose();
});

const command = (name: string, payload: Record<string, unknown>): Envelope =>
  createEnvelope({ kind: 'command', pack, name, payload });

async function dropEveryConnection(): Promise<void> {
  await broker.ctl(['close_all_connections', 'test: a broker blip']);
  for (let tries = 0; tries < 100 && !(packBus.isConnected() && requesterBus.isConnected()); tries++)
    await sleep(100);
}

test('requests get their results after the connection dropped, and one in flight across the drop too', async () => {
  const before = await requests.request(command('Post', { channelId: 'C1', message: 'before' }), 10_000);
  assert.equal(before?.name, 'Posted', 'answered before the drop');

  // Slow takes 2 s: the drop happens while it runs, and its result is published after the reconnect.
  const slow = command('Slow', { ms: 2000 });
  const inFlight = requests.request(slow, 20_000);
  await sleep(500);
  await dropEveryConnection();

  for (let i = 0; i < 3; i++) {
    const result = await requests.request(
      command('Post', { channelId: 'C1', message: `after ${i}` }),
      10_000,
    );
    assert.equal(result?.name, 'Posted', `request ${i} after the drop got its result`);
  }
  const slowResult = await inFlight;
  assert.equal(slowResult?.name, 'SlowDone', 'the request in flight during the drop got its result');
  assert.equal(slowResult?.causationId, slow.id);
  assert.equal(
    outside.posts.filter((post) => post.commandId === slow.id).length,
    1,
    'the command in flight ran once',
  );
});
