import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineStore } from '../../../engine/state/engine-store.ts';
import { ManualClock, newExecution, newInstance, resultOf } from './fixtures.ts';

const T0 = '2024-05-01T12:00:00.000Z';

function at(offsetMs: number): string {
  return new Date(Date.parse(T0) + offsetMs).toISOString();
}

test('a recorded execution is pending until its result arrives', () => {
  const store = EngineStore.open(':memory:');
  const execution = newExecution('cmd-1');
  store.recordExecution(execution);
  assert.deepEqual(store.getExecution('cmd-1'), { ...execution, status: 'pending' });
  assert.equal(store.getExecution('cmd-2'), undefined);
  store.close();
});

test('a command id cannot be recorded twice', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('cmd-1', { stepId: 'first' }));
  assert.throws(() => store.recordExecution(newExecution('cmd-1', { stepId: 'second' })), /cmd-1/);
  assert.equal(store.getExecution('cmd-1')?.stepId, 'first');
  store.close();
});

test('a start time that is not RFC 3339 is refused', () => {
  const store = EngineStore.open(':memory:');
  assert.throws(() => store.recordExecution(newExecution('cmd-1', { startedAt: 'yesterday' })), /startedAt/);
  store.close();
});

test('completing an execution keeps its result, end time and duration', () => {
  const clock = new ManualClock(T0);
  const store = EngineStore.open(':memory:', { clock: clock.now });
  const execution = newExecution('cmd-1', { startedAt: T0 });
  store.recordExecution(execution);
  clock.advance(1_500);
  const result = resultOf('cmd-1');

  const completed = store.completeExecution('cmd-1', result, 'succeeded');
  const expected = {
    ...execution,
    status: 'succeeded',
    resultEvent: result,
    finishedAt: '2024-05-01T12:00:01.500Z',
    durationMs: 1_500,
  };
  assert.deepEqual(completed, expected);
  assert.deepEqual(store.getExecution('cmd-1'), expected);
  store.close();
});

test('a failed execution keeps its reason', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('cmd-1'));
  const result = resultOf('cmd-1', 'SendMessageFailed', { error: 'channel_not_found' });
  const completed = store.completeExecution('cmd-1', result, 'failed', 'channel_not_found');
  assert.equal(completed?.status, 'failed');
  assert.equal(completed?.error, 'channel_not_found');
  assert.equal(typeof completed?.durationMs, 'number');
  store.close();
});

test('only a pending execution can be completed', () => {
  const store = EngineStore.open(':memory:');
  assert.equal(store.completeExecution('unknown', resultOf('unknown'), 'succeeded'), undefined);

  store.recordExecution(newExecution('cmd-1'));
  const first = resultOf('cmd-1');
  store.completeExecution('cmd-1', first, 'succeeded');
  const redelivered = resultOf('cmd-1', 'SendMessageFailed', { error: 'late' });
  assert.equal(store.completeExecution('cmd-1', redelivered, 'failed', 'late'), undefined);
  assert.equal(store.getExecution('cmd-1')?.status, 'succeeded');
  assert.deepEqual(store.getExecution('cmd-1')?.resultEvent, first);
  store.close();
});

test('timeOutPending times out what has waited longer than the timeout, oldest first', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('newer', { startedAt: at(10_000) }));
  store.recordExecution(newExecution('older', { startedAt: at(0) }));
  store.recordExecution(newExecution('done', { startedAt: at(0) }));
  store.completeExecution('done', resultOf('done'), 'succeeded');
  store.recordExecution(newExecution('just-in-time', { startedAt: at(30_000) }));

  const now = new Date(Date.parse(T0) + 90_000);
  const timedOut = store.timeOutPending(60_000, now);

  assert.deepEqual(
    timedOut.map((e) => [e.id, e.status, e.error, e.finishedAt, e.durationMs]),
    [
      ['older', 'timed_out', 'no result within 60 s', now.toISOString(), 90_000],
      ['newer', 'timed_out', 'no result within 60 s', now.toISOString(), 80_000],
    ],
  );
  assert.equal(store.getExecution('older')?.status, 'timed_out');
  assert.equal(store.getExecution('done')?.status, 'succeeded');
  assert.equal(store.getExecution('just-in-time')?.status, 'pending');
  assert.deepEqual(store.timeOutPending(60_000, now), []);
  store.close();
});

test('a result arriving after the timeout does not complete the execution', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('cmd-1', { startedAt: at(0) }));
  store.timeOutPending(1_000, new Date(Date.parse(T0) + 5_000));
  assert.equal(store.completeExecution('cmd-1', resultOf('cmd-1'), 'succeeded'), undefined);
  assert.equal(store.getExecution('cmd-1')?.status, 'timed_out');
  store.close();
});

test('timeOutPending uses the store clock when no time is given', () => {
  const clock = new ManualClock(T0);
  const store = EngineStore.open(':memory:', { clock: clock.now });
  store.recordExecution(newExecution('cmd-1', { startedAt: T0 }));
  clock.advance(1_000);
  assert.deepEqual(store.timeOutPending(1_000), []);
  clock.advance(1);
  assert.deepEqual(
    store.timeOutPending(1_000).map((e) => [e.id, e.error]),
    [['cmd-1', 'no result within 1 s']],
  );
  store.close();
});

test('listExecutions gives the newest first, at most 50 unless told', () => {
  const store = EngineStore.open(':memory:');
  for (let i = 0; i < 60; i++) {
    store.recordExecution(newExecution(`cmd-${i}`, { startedAt: at(i * 1_000) }));
  }
  const listed = store.listExecutions({});
  assert.equal(listed.length, 50);
  assert.equal(listed[0]?.id, 'cmd-59');
  assert.equal(listed[49]?.id, 'cmd-10');
  assert.deepEqual(
    store.listExecutions({ limit: 3 }).map((e) => e.id),
    ['cmd-59', 'cmd-58', 'cmd-57'],
  );
  assert.equal(store.listExecutions({ limit: 100 }).length, 60);
  store.close();
});

test('listExecutions breaks ties on the start time by the order of recording', () => {
  const store = EngineStore.open(':memory:');
  for (const id of ['a', 'b', 'c']) store.recordExecution(newExecution(id, { startedAt: T0 }));
  assert.deepEqual(
    store.listExecutions({}).map((e) => e.id),
    ['c', 'b', 'a'],
  );
  store.close();
});

test('listExecutions filters by flow, status and start time, alone or together', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('echo-old', { flowName: 'echo', startedAt: at(0) }));
  store.recordExecution(newExecution('echo-new', { flowName: 'echo', startedAt: at(2_000) }));
  store.recordExecution(newExecution('deploy-old', { flowName: 'deploy', startedAt: at(1_000) }));
  store.recordExecution(newExecution('deploy-new', { flowName: 'deploy', startedAt: at(3_000) }));
  store.completeExecution('echo-new', resultOf('echo-new'), 'succeeded');
  store.completeExecution('deploy-old', resultOf('deploy-old', 'Failed', { error: 'x' }), 'failed', 'x');
  const since = new Date(Date.parse(T0) + 2_000);
  const ids = (filter: Parameters<EngineStore['listExecutions']>[0]) =>
    store.listExecutions(filter).map((e) => e.id);

  assert.deepEqual(ids({ flow: 'echo' }), ['echo-new', 'echo-old']);
  assert.deepEqual(ids({ status: 'pending' }), ['deploy-new', 'echo-old']);
  assert.deepEqual(ids({ status: 'failed' }), ['deploy-old']);
  assert.deepEqual(ids({ since }), ['deploy-new', 'echo-new']);
  assert.deepEqual(ids({ flow: 'deploy', status: 'pending' }), ['deploy-new']);
  assert.deepEqual(ids({ flow: 'echo', since }), ['echo-new']);
  assert.deepEqual(ids({ status: 'succeeded', since }), ['echo-new']);
  assert.deepEqual(ids({ flow: 'echo', status: 'pending', since }), []);
  assert.deepEqual(ids({ flow: 'nope' }), []);
  store.close();
});

test('listExecutions compares start times as instants, whatever their offset', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('utc', { startedAt: '2024-05-01T12:30:00Z' }));
  store.recordExecution(newExecution('paris', { startedAt: '2024-05-01T14:00:00+02:00' }));
  assert.deepEqual(
    store.listExecutions({}).map((e) => e.id),
    ['utc', 'paris'],
  );
  assert.equal(store.getExecution('paris')?.startedAt, '2024-05-01T14:00:00+02:00');
  store.close();
});

test('listExecutions refuses a bad limit', () => {
  const store = EngineStore.open(':memory:');
  assert.throws(() => store.listExecutions({ limit: -1 }), /limit/);
  assert.throws(() => store.listExecutions({ limit: 1.5 }), /limit/);
  store.close();
});

test('executionsOf gives one instance, oldest first', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('second', { correlationId: 'c1', startedAt: at(2_000) }));
  store.recordExecution(newExecution('other', { correlationId: 'c2', startedAt: at(1_000) }));
  store.recordExecution(newExecution('first', { correlationId: 'c1', startedAt: at(0) }));
  assert.deepEqual(
    store.executionsOf('c1').map((e) => e.id),
    ['first', 'second'],
  );
  assert.deepEqual(store.executionsOf('none'), []);
  store.close();
});

/** Records an execution that has finished, as retention may delete it. */
function recordFinished(
  store: EngineStore,
  id: string,
  fields: Parameters<typeof newExecution>[1] = {},
): void {
  store.recordExecution(newExecution(id, fields));
  store.completeExecution(id, resultOf(id), 'succeeded');
}

const allExecutions = (store: EngineStore) => store.listExecutions({ limit: 100_000 }).map((e) => e.id);

test('prune deletes finished executions older than the maximum age', async () => {
  const store = EngineStore.open(':memory:');
  recordFinished(store, 'old', { correlationId: 'c-old', startedAt: at(0) });
  recordFinished(store, 'edge', { correlationId: 'c-edge', startedAt: at(10_000) });
  recordFinished(store, 'new', { correlationId: 'c-new', startedAt: at(20_000) });
  const now = new Date(Date.parse(T0) + 30_000);
  assert.equal(await store.prune({ maxAgeMs: 20_000, maxCount: 100, now }), 1);
  assert.deepEqual(allExecutions(store), ['new', 'edge']);
  store.close();
});

test('prune keeps only the newest executions beyond the maximum count', async () => {
  const store = EngineStore.open(':memory:');
  for (let i = 0; i < 5; i++)
    recordFinished(store, `cmd-${i}`, { correlationId: `c-${i}`, startedAt: at(i * 1_000) });
  const now = new Date(Date.parse(T0) + 10_000);
  assert.equal(await store.prune({ maxAgeMs: 3_600_000, maxCount: 2, now }), 3);
  assert.deepEqual(allExecutions(store), ['cmd-4', 'cmd-3']);
  assert.equal(await store.prune({ maxAgeMs: 3_600_000, maxCount: 2, now }), 0);
  store.close();
});

test('prune never deletes a pending execution, however old, nor one beyond the maximum count', async () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('waiting-old', { correlationId: 'c-1', startedAt: at(0) }));
  recordFinished(store, 'done-old', { correlationId: 'c-2', startedAt: at(1_000) });
  for (let i = 0; i < 3; i++)
    recordFinished(store, `done-${i}`, { correlationId: `c-new-${i}`, startedAt: at(50_000 + i) });
  const now = new Date(Date.parse(T0) + 60_000);
  assert.equal(await store.prune({ maxAgeMs: 30_000, maxCount: 1, now }), 3);
  assert.deepEqual(allExecutions(store), ['done-2', 'waiting-old']);
  // Its result still completes it.
  assert.equal(
    store.completeExecution('waiting-old', resultOf('waiting-old'), 'succeeded')?.status,
    'succeeded',
  );
  store.close();
});

test('prune keeps every execution and the instance of a flow instance still waiting for a result', async () => {
  const clock = new ManualClock(T0);
  const store = EngineStore.open(':memory:', { clock: clock.now });
  // Mid-way through two steps: the first finished long ago, the second waits for its result.
  store.createInstance(newInstance('mid-way', { stepsDone: ['first', 'second'] }));
  recordFinished(store, 'first', { correlationId: 'mid-way', stepId: 'first', startedAt: at(0) });
  store.recordExecution(
    newExecution('second', { correlationId: 'mid-way', stepId: 'second', startedAt: at(1_000) }),
  );
  recordFinished(store, 'other', { correlationId: 'finished', startedAt: at(2_000) });
  clock.advance(3_600_000);
  const now = clock.now();
  assert.equal(await store.prune({ maxAgeMs: 60_000, maxCount: 0, now }), 1);
  assert.deepEqual(
    store.executionsOf('mid-way').map((e) => [e.id, e.status]),
    [
      ['first', 'succeeded'],
      ['second', 'pending'],
    ],
  );
  assert.ok(store.getInstance('mid-way'), 'the instance can continue when the result comes');
  store.close();
});

test('prune deletes old instances that have no execution left, and only those', async () => {
  const clock = new ManualClock(T0);
  const store = EngineStore.open(':memory:', { clock: clock.now });
  store.createInstance(newInstance('old-pruned', { stepsDone: ['get_message'] }));
  recordFinished(store, 'cmd-old', { correlationId: 'old-pruned', startedAt: at(0) });
  store.createInstance(newInstance('old-kept'));
  recordFinished(store, 'cmd-kept', { correlationId: 'old-kept', startedAt: at(50_000) });
  clock.advance(50_000);
  store.createInstance(newInstance('young-empty'));

  const now = new Date(Date.parse(T0) + 60_000);
  assert.equal(await store.prune({ maxAgeMs: 30_000, maxCount: 100, now }), 1);
  assert.equal(store.getInstance('old-pruned'), undefined);
  assert.ok(store.getInstance('old-kept'));
  assert.ok(store.getInstance('young-empty'));
  // The pruned instance's fired steps went with it: the id can start afresh.
  store.createInstance(newInstance('old-pruned'));
  assert.equal(store.claimStep('old-pruned', 'get_message', {}), true);
  store.close();
});

test('prune works through a large history in small batches, giving the event loop a turn between them', async () => {
  const store = EngineStore.open(':memory:');
  for (let i = 0; i < 2_000; i++)
    recordFinished(store, `cmd-${i}`, { correlationId: `c-${i}`, startedAt: at(i) });
  const pruning = store.prune({
    maxAgeMs: 3_600_000,
    maxCount: 0,
    now: new Date(Date.parse(T0) + 10_000),
    batchRows: 100,
  });
  await new Promise(setImmediate);
  const midway = allExecutions(store).length;
  assert.ok(midway > 0 && midway < 2_000, `other work ran while ${2_000 - midway} of 2000 were deleted`);
  assert.equal(await pruning, 2_000);
  assert.deepEqual(allExecutions(store), []);
  store.close();
});

test('prune stops between batches when told to', async () => {
  const store = EngineStore.open(':memory:');
  for (let i = 0; i < 1_000; i++)
    recordFinished(store, `cmd-${i}`, { correlationId: `c-${i}`, startedAt: at(i) });
  const stop = new AbortController();
  const pruning = store.prune({
    maxAgeMs: 0,
    maxCount: 0,
    now: new Date(Date.parse(T0) + 10_000),
    batchRows: 100,
    signal: stop.signal,
  });
  stop.abort();
  assert.equal(await pruning, 100);
  assert.equal(allExecutions(store).length, 900);
  store.close();
});

test('prune refuses limits that are not numbers of 0 or more', async () => {
  const store = EngineStore.open(':memory:');
  await assert.rejects(store.prune({ maxAgeMs: -1, maxCount: 10 }), /maxAgeMs/);
  await assert.rejects(store.prune({ maxAgeMs: 1_000, maxCount: Number.NaN }), /maxCount/);
  await assert.rejects(store.prune({ maxAgeMs: 1_000, maxCount: 10, batchRows: 0 }), /batchRows/);
  store.close();
});

test('stepCounts tells per step of a flow how often it fired and how often that failed', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('cmd-1', { stepId: 'ask' }));
  store.recordExecution(newExecution('cmd-2', { stepId: 'ask' }));
  store.recordExecution(newExecution('cmd-3', { stepId: 'answer' }));
  store.recordExecution(newExecution('cmd-4', { stepId: 'ask', flowName: 'other' }));
  store.completeExecution('cmd-1', resultOf('cmd-1'), 'succeeded');
  store.completeExecution('cmd-2', resultOf('cmd-2', 'SendMessageFailed'), 'failed', 'no');
  assert.deepEqual(store.stepCounts('echo'), [
    { stepId: 'answer', fired: 1, failed: 0 },
    { stepId: 'ask', fired: 2, failed: 1 },
  ]);
  assert.deepEqual(store.stepCounts('nothing'), []);
  store.close();
});
