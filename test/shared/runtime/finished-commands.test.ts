import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
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

const done = (i: number) => createEnvelope({ kind: 'event', pack: 'p', name: 'Done', payload: { i } });
const answered = (record: FinishedCommands, ids: string[]) =>
  ids.map((id) => (record.get(id)?.payload as { i: number } | undefined)?.i);

test('after the disk refused a write, later results are recorded and survive a restart', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sb-state-'));
  const file = join(stateDir, 'p.finished-commands.jsonl');
  const record = await FinishedCommands.open({ pack: 'p', stateDir });
  await record.add('c1', done(1));
  // The record's file cannot be written for a while (a directory stands in its place), then can again.
  await rm(file);
  await mkdir(file);
  await assert.rejects(record.add('c2', done(2)));
  await rm(file, { recursive: true });
  await record.add('c3', done(3));
  await record.add('c4', done(4));
  const reloaded = await FinishedCommands.open({ pack: 'p', stateDir });
  assert.deepEqual(answered(reloaded, ['c1', 'c2', 'c3', 'c4']), [1, 2, 3, 4]);
  await rm(stateDir, { recursive: true });
});

test('a write cut short by a full disk loses nothing written after it', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sb-state-'));
  let diskFull = false;
  const record = await FinishedCommands.open({
    pack: 'p',
    stateDir,
    appendFile: async (file, text) => {
      if (!diskFull) return appendFile(file, text);
      diskFull = false;
      await appendFile(file, text.slice(0, text.length / 2));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    },
  });
  await record.add('c1', done(1));
  diskFull = true;
  await assert.rejects(record.add('c2', done(2)), /ENOSPC/);
  await record.add('c3', done(3));
  const reloaded = await FinishedCommands.open({ pack: 'p', stateDir });
  assert.deepEqual(answered(reloaded, ['c1', 'c2', 'c3']), [1, 2, 3]);
  await rm(stateDir, { recursive: true });
});

test('restarted after every few commands, the record stays bounded on disk', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sb-state-'));
  const file = join(stateDir, 'p.finished-commands.jsonl');
  const capacity = 10;
  const lineBytes = Buffer.byteLength(`${JSON.stringify({ commandId: 'r00-c0', result: done(0) })}\n`);
  let record: FinishedCommands | undefined;
  // Each run finishes fewer commands than the capacity, as a pack restarted often does.
  for (let run = 0; run < 30; run++) {
    record = await FinishedCommands.open({ pack: 'p', stateDir, capacity });
    for (let i = 0; i < 4; i++) {
      await record.add(`r${String(run).padStart(2, '0')}-c${i}`, done(run * 4 + i));
    }
  }
  const { size } = await stat(file);
  assert.ok(size <= 2 * capacity * lineBytes, `the file holds ${size} bytes, ${size / lineBytes} lines`);
  const reloaded = await FinishedCommands.open({ pack: 'p', stateDir, capacity });
  assert.deepEqual(answered(reloaded, ['r27-c2', 'r27-c3', 'r28-c0', 'r29-c3']), [110, 111, 112, 119]);
  assert.equal(reloaded.size, capacity);
  await rm(stateDir, { recursive: true });
});
