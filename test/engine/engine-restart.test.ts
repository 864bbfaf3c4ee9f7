import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Flow } from '../../engine/flow.ts';
import { EngineStore } from '../../engine/state/engine-store.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { EVENTS_EXCHANGE } from '../../shared/bus/topology.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import { uniquePackName } from '../support/bus.ts';
import { createTestEngine } from '../support/engine.ts';
import { FakeOutsideSystem, startTestPack } from '../support/test-pack.ts';

test('an instance continues after an engine restart, with its context, from the data directory', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sb-engine-'));
  const bus = new MemoryBus();
  const pack = uniquePackName('restart');
  const outside = new FakeOutsideSystem();
  const runtime = await startTestPack(bus, { name: pack, outside });
  const flow: Flow = {
    name: 'survives',
    steps: [
      {
        id: 'slow',
        event: { packName: 'trigger', name: 'Go' },
        context: { Who: '{{ Event.Payload.who }}' },
        command: { packName: pack, name: 'Slow', input: { ms: 400 } },
      },
      {
        id: 'after',
        dependsOn: ['slow'],
        event: { packName: pack, name: 'SlowDone' },
        command: {
          packName: pack,
          name: 'Post',
          input: { channelId: 'C', message: 'done for {{ Context.Who }}' },
        },
      },
    ],
  };
  const start = (store: EngineStore) =>
    createTestEngine(bus, store, [{ flow, file: 'survives.json', version: 'v1' }]);

  // Group commit, as the engine runs it: close() must commit what the last turn wrote.
  const groupCommit = { onError: (error: Error) => assert.fail(error) };
  const firstStore = EngineStore.open(dataDir, { groupCommit });
  const first = start(firstStore);
  await first.start();
  await bus.publish(
    { exchange: EVENTS_EXCHANGE, routingKey: 'trigger.Go' },
    createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: { who: 'night shift' } }),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  await first.stop();
  firstStore.close();

  // The Slow command finishes while no engine runs; its result waits in the engine's queue.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const secondStore = EngineStore.open(dataDir, { groupCommit });
  const second = start(secondStore);
  await second.start();
  for (let i = 0; i < 100 && !outside.posts.some((post) => post.channelId === 'C'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(
    outside.posts.filter((post) => post.channelId === 'C').map((post) => post.message),
    ['done for night shift'],
  );
  await second.stop();
  secondStore.close();
  await runtime.stop({ graceMs: 1000 });
  await bus.close();
  await rm(dataDir, { recursive: true });
});
