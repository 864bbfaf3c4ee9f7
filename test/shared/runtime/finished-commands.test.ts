import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import { FinishedCommands } from '../../../shared/runtime/finished-commands.ts';
import { EventCollector, uniquePackName } from '../../support/bus.ts';
import { FakeOutsideSystem, startTestPack } from '../../support/test-pack.ts';

test('with a state directory, a command re-sent after a restart is answered, not run again', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sb-state-'));
  const bus = new MemoryBus();
  const pack = uniquePackName();
  const outside = new FakeOutsideSystem();
  const events = await EventCollector.start(bus, `${pack}.*`);
  const start = () => startTestPack(bus, { name: pack, outside, stateDir });
  const command = createEnvelope({
    kind: 'command',
    pack,
    name: 'Post',
    payload: { channelId: 'C1', message: 'once' },
  });
  const publish = () =>
    bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, 'Post') }, command);

  const first = await start();
  await publish();
  const [original] = await events.waitFor((event) => event.causationId === command.id);
  await first.stop({ graceMs: 1000 });

  const second = await start();
  await publish();
  const results = await events.waitFor((event) => event.causationId === command.id, 2);
  assert.equal(outside.posts.length, 1, 'the side effect happened once across the restart');
  assert.equal(results[1]?.id, original?.id, 'the answer is the recorded result event');
  await second.stop({ graceMs: 1000 });
  await events.stop();
  await rm(stateDir, { recursive: true });
});

test('the record keeps the newest results within its capacity, on disk as in memory', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sb-state-'));
  const record = await FinishedCommands.open({ pack: 'p', stateDir, capacity: 3 });
  for (let i = 1; i <= 7; i++) {
    await record.add(`c${i}`, createEnvelope({ kind: 'event', pack: 'p', name: 'Done', payload: { i } }));
  }
  assert.equal(record.size, 3);
  const reloaded = await FinishedCommands.open({ pack: 'p', stateDir, capacity: 3 });
  assert.deepEqual(
    ['c4', 'c5', 'c6', 'c7'].map((id) => (reloaded.get(id)?.payload as { i: number } | undefined)?.i),
    [undefined, 5, 6, 7],
  );
  await rm(stateDir, { recursive: true });
});
