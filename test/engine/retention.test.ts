import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Flow } from '../../engine/flow.ts';
import { EngineStore } from '../../engine/state/engine-store.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { EVENTS_EXCHANGE } from '../../shared/bus/topology.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import { uniquePackName } from '../support/bus.ts';
import { createTestEngine, loadedFlow } from '../support/engine.ts';
import { FakeOutsideSystem, startTestPack } from '../support/test-pack.ts';

// Issue 12: under a burst larger than SWITCHBOARD_EXECUTIONS_MAX_COUNT, retention deleted executions
// whose results were still queued, and the instances waiting on them never continued.

const EVENTS = 1000;

test('a burst ten times the execution limit still completes every instance of a two-step flow', async (t) => {
  const bus = new MemoryBus();
  const store = EngineStore.open(':memory:', { groupCommit: { onError: (error) => assert.fail(error) } });
  const pack = uniquePackName('burst');
  const outside = new FakeOutsideSystem();
  const runtime = await startTestPack(bus, { name: pack, outside });
  const flow: Flow = {
    name: 'two-steps',
    steps: [
      {
        id: 'first',
        event: { packName: 'trigger', name: 'Go' },
        context: { N: '{{ Event.Payload.n }}' },
        // Slower than the engine, so that results queue up behind the burst, as a chat API makes them.
        command: { packName: pack, name: 'Slow', input: { ms: 2 } },
      },
      {
        id: 'second',
        dependsOn: ['first'],
        event: { packName: pack, name: 'SlowDone' },
        command: { packName: pack, name: 'Post', input: { channelId: 'done', message: 'n={{ Context.N }}' } },
      },
    ],
  };
  const engine = createTestEngine(bus, store, [loadedFlow(flow)], 60_000, {
    retention: { maxAgeMs: 86_400_000, maxCount: 100 },
    // Retention runs many times during the burst.
    sweepIntervalMs: 10,
  });
  await engine.start();
  t.after(async () => {
    await engine.stop();
    await runtime.stop({ graceMs: 1000 });
    store.close();
    await bus.close();
  });

  for (let n = 0; n < EVENTS; n++) {
    await bus.publish(
      { exchange: EVENTS_EXCHANGE, routingKey: 'trigger.Go' },
      createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: { n } }),
    );
  }

  const done = () => outside.posts.filter((post) => post.channelId === 'done');
  const deadline = Date.now() + 60_000;
  // Finished once every instance posted, or nothing moved for a while (instances stuck for good).
  let seen = -1;
  let stillSince = Date.now();
  while (done().length < EVENTS && Date.now() < deadline && Date.now() - stillSince < 3000) {
    if (done().length !== seen) {
      seen = done().length;
      stillSince = Date.now();
    }
    await sleep(20);
  }
  const completed = new Set(done().map((post) => post.message));
  assert.equal(completed.size, EVENTS, `${completed.size} of ${EVENTS} instances completed`);
  // Retention goes on working: once nothing is pending, the history comes down to the limit.
  const kept = () => store.listExecutions({ limit: 10 * EVENTS }).length;
  for (const until = Date.now() + 5000; kept() > 100 && Date.now() < until; ) await sleep(20);
  assert.equal(kept(), 100, 'retention pruned the finished executions down to the limit');
});
