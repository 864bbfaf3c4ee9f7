import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineStore, type NewRetry } from '../../../engine/state/engine-store.ts';
import { ManualClock, newExecution, resultOf, tempDir } from './fixtures.ts';

const T0 = '2024-05-01T12:00:00.000Z';

/** The retry the console would send for execution `id`: its command again, with the id `retryId`. */
function retryOf(store: EngineStore, id: string, retryId: string): NewRetry {
  const command = store.getExecution(id)?.command ?? newExecution(id).command;
  return { command: { ...command, id: retryId }, startedAt: '2024-05-01T12:05:00.000Z' };
}

function failedStore(): EngineStore {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('cmd-1', { startedAt: T0 }));
  store.completeExecution('cmd-1', resultOf('cmd-1', 'SendMessageFailed', { error: 'no' }), 'failed', 'no');
  return store;
}

test('a failed execution run again is a new pending execution of the same step, linked both ways', () => {
  const store = failedStore();
  const original = store.getExecution('cmd-1');
  const outcome = store.recordRetry('cmd-1', retryOf(store, 'cmd-1', 'retry-1'));
  assert.ok('recorded' in outcome, JSON.stringify(outcome));
  const retry = store.getExecution('retry-1');
  assert.deepEqual(outcome.recorded, retry);
  assert.equal(retry?.status, 'pending');
  assert.equal(retry?.retryOf, 'cmd-1');
  assert.equal(retry?.command.id, 'retry-1');
  assert.deepEqual(retry?.command.payload, original?.command.payload);
  for (const field of ['correlationId', 'flowName', 'flowVersion', 'stepId', 'triggerEvent'] as const) {
    assert.deepEqual(retry?.[field], original?.[field], field);
  }
  assert.deepEqual(store.getExecution('cmd-1'), { ...original, retriedBy: 'retry-1' });
  assert.deepEqual(outcome.of, store.getExecution('cmd-1'));
  assert.deepEqual(
    store.executionsOf('instance-1').map((execution) => execution.id),
    ['cmd-1', 'retry-1'],
  );
  store.close();
});

test('the result of a retry completes the retry, and leaves the failed one as it was', () => {
  const clock = new ManualClock('2024-05-01T12:05:01.000Z');
  const store = EngineStore.open(':memory:', { clock: clock.now });
  store.recordExecution(newExecution('cmd-1', { startedAt: T0 }));
  store.completeExecution('cmd-1', resultOf('cmd-1', 'SendMessageFailed', { error: 'no' }), 'failed', 'no');
  store.recordRetry('cmd-1', retryOf(store, 'cmd-1', 'retry-1'));
  const completed = store.completeExecution('retry-1', resultOf('retry-1'), 'succeeded');
  assert.equal(completed?.status, 'succeeded');
  assert.equal(completed?.durationMs, 1000);
  assert.equal(completed?.retryOf, 'cmd-1');
  assert.equal(store.getExecution('cmd-1')?.status, 'failed');
  store.close();
});

test('an execution is run again once: a second request is refused, naming why', () => {
  const store = failedStore();
  assert.ok('recorded' in store.recordRetry('cmd-1', retryOf(store, 'cmd-1', 'retry-1')));
  const second = store.recordRetry('cmd-1', retryOf(store, 'cmd-1', 'retry-2'));
  assert.deepEqual(second, { refused: 'retried_already', execution: store.getExecution('cmd-1') });
  assert.equal(store.getExecution('retry-2'), undefined);
  assert.equal(store.getExecution('cmd-1')?.retriedBy, 'retry-1');
  store.close();
});

test('only what failed or timed out, and sent its command, can be run again', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('pending', { startedAt: T0 }));
  store.recordExecution(newExecution('succeeded', { startedAt: T0 }));
  store.completeExecution('succeeded', resultOf('succeeded'), 'succeeded');
  store.recordFailedExecution(newExecution('unrendered', { startedAt: T0 }), 'a template failed: x');
  for (const [id, refused] of [
    ['pending', 'not_failed'],
    ['succeeded', 'not_failed'],
    ['unrendered', 'never_sent'],
  ] as const) {
    const outcome = store.recordRetry(id, retryOf(store, id, `retry-of-${id}`));
    assert.deepEqual(outcome, { refused, execution: store.getExecution(id) }, id);
    assert.equal(store.getExecution(`retry-of-${id}`), undefined, id);
  }
  assert.deepEqual(store.recordRetry('unknown', retryOf(store, 'unknown', 'r')), {
    refused: 'unknown',
    execution: undefined,
  });
  store.close();
});

test('a timed-out execution can be run again, and a failed retry too', () => {
  const store = EngineStore.open(':memory:');
  store.recordExecution(newExecution('cmd-1', { startedAt: T0 }));
  store.timeOutPending(1000, new Date('2024-05-01T12:10:00.000Z'));
  assert.ok('recorded' in store.recordRetry('cmd-1', retryOf(store, 'cmd-1', 'retry-1')));
  store.completeExecution('retry-1', resultOf('retry-1', 'Failed', { error: 'again' }), 'failed', 'again');
  assert.ok('recorded' in store.recordRetry('retry-1', retryOf(store, 'retry-1', 'retry-2')));
  assert.equal(store.getExecution('retry-2')?.retryOf, 'retry-1');
  assert.equal(store.getExecution('retry-1')?.retriedBy, 'retry-2');
  store.close();
});

test('forgetRetry takes back a retry still pending, so the failed execution can be run again', () => {
  const store = failedStore();
  store.recordRetry('cmd-1', retryOf(store, 'cmd-1', 'retry-1'));
  assert.equal(store.forgetRetry('retry-1'), true);
  assert.equal(store.getExecution('retry-1'), undefined);
  assert.equal(store.getExecution('cmd-1')?.retriedBy, undefined);
  assert.equal(store.forgetRetry('retry-1'), false);
  assert.ok('recorded' in store.recordRetry('cmd-1', retryOf(store, 'cmd-1', 'retry-1')));
  // Once its result came, a retry is history and stays.
  store.completeExecution('retry-1', resultOf('retry-1'), 'succeeded');
  assert.equal(store.forgetRetry('retry-1'), false);
  assert.equal(store.getExecution('retry-1')?.status, 'succeeded');
  // Nor does it take back an execution the engine fired.
  store.recordExecution(newExecution('fired', { startedAt: T0 }));
  assert.equal(store.forgetRetry('fired'), false);
  assert.equal(store.getExecution('fired')?.status, 'pending');
  store.close();
});

test('the retry links survive closing and opening the store', async (t) => {
  const dir = await tempDir(t);
  const store = EngineStore.open(dir);
  store.recordExecution(newExecution('cmd-1', { startedAt: T0 }));
  store.completeExecution('cmd-1', resultOf('cmd-1', 'Failed', { error: 'no' }), 'failed', 'no');
  store.recordRetry('cmd-1', retryOf(store, 'cmd-1', 'retry-1'));
  store.close();
  const reader = EngineStore.openReadOnly(dir);
  assert.equal(reader.getExecution('cmd-1')?.retriedBy, 'retry-1');
  assert.equal(reader.getExecution('retry-1')?.retryOf, 'cmd-1');
  reader.close();
});
