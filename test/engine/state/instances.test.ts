import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineStore } from '../../../engine/state/engine-store.ts';
import { echoFlow, ManualClock, newInstance, tempDir } from './fixtures.ts';

test('an instance comes back with its flow, context and times', () => {
  const clock = new ManualClock('2024-05-01T12:00:00.000Z');
  const store = EngineStore.open(':memory:', { clock: clock.now });
  store.createInstance(newInstance('c1', { context: { Msg: 'hi' }, stepsDone: ['get_message'] }));
  assert.deepEqual(store.getInstance('c1'), {
    correlationId: 'c1',
    flowName: 'echo',
    flowVersion: 'a1b2c3d4e5f6',
    flow: echoFlow,
    context: { Msg: 'hi' },
    stepsDone: ['get_message'],
    createdAt: '2024-05-01T12:00:00.000Z',
    updatedAt: '2024-05-01T12:00:00.000Z',
  });
  assert.equal(store.getInstance('unknown'), undefined);
  store.close();
});

test('a correlation id cannot start two instances', () => {
  const store = EngineStore.open(':memory:');
  store.createInstance(newInstance('c1', { context: { first: true } }));
  assert.throws(() => store.createInstance(newInstance('c1')), /c1 exists already/);
  assert.deepEqual(store.getInstance('c1')?.context, { first: true });
  store.close();
});

test('claimStep fires a step once and merges its context over the instance', () => {
  const clock = new ManualClock('2024-05-01T12:00:00.000Z');
  const store = EngineStore.open(':memory:', { clock: clock.now });
  store.createInstance(newInstance('c1', { context: { Msg: 'hi', Channel: 'C1' }, stepsDone: ['start'] }));
  clock.advance(1_000);
  assert.equal(store.claimStep('c1', 'reply', { Msg: 'bye', Thread: 't1' }), true);
  clock.advance(1_000);
  assert.equal(store.claimStep('c1', 'audit', {}), true);

  const instance = store.getInstance('c1');
  assert.deepEqual(instance?.context, { Msg: 'bye', Channel: 'C1', Thread: 't1' });
  assert.deepEqual(instance?.stepsDone, ['start', 'reply', 'audit']);
  assert.equal(instance?.createdAt, '2024-05-01T12:00:00.000Z');
  assert.equal(instance?.updatedAt, '2024-05-01T12:00:02.000Z');
  store.close();
});

test('claiming a step that already fired returns false and changes nothing', () => {
  const clock = new ManualClock('2024-05-01T12:00:00.000Z');
  const store = EngineStore.open(':memory:', { clock: clock.now });
  store.createInstance(newInstance('c1', { stepsDone: ['start'] }));
  assert.equal(store.claimStep('c1', 'start', { ignored: true }), false);
  store.claimStep('c1', 'reply', { n: 1 });
  const before = store.getInstance('c1');
  clock.advance(5_000);
  assert.equal(store.claimStep('c1', 'reply', { n: 2 }), false);
  assert.deepEqual(store.getInstance('c1'), before);
  store.close();
});

test('claiming a step of an unknown instance fails, naming it', () => {
  const store = EngineStore.open(':memory:');
  assert.throws(() => store.claimStep('ghost', 'reply', {}), /ghost/);
  store.close();
});

test('two stores on one database fire a step at most once between them', async (t) => {
  const dir = await tempDir(t);
  const first = EngineStore.open(dir);
  const second = EngineStore.open(dir);
  first.createInstance(newInstance('c1'));
  const claims = [
    first.claimStep('c1', 'reply', { by: 'first' }),
    second.claimStep('c1', 'reply', { by: 'second' }),
    second.claimStep('c1', 'reply', { by: 'second again' }),
    first.claimStep('c1', 'reply', { by: 'first again' }),
  ];
  assert.deepEqual(claims, [true, false, false, false]);
  assert.deepEqual(second.getInstance('c1')?.context, { by: 'first' });
  assert.deepEqual(second.getInstance('c1')?.stepsDone, ['reply']);
  first.close();
  second.close();
});

test('a claim that fails half way leaves no trace: the step can still fire', () => {
  const store = EngineStore.open(':memory:');
  store.createInstance(newInstance('c1', { context: { Msg: 'hi' } }));
  assert.throws(() => store.claimStep('c1', 'reply', { big: 1n }), /BigInt/);
  assert.deepEqual(store.getInstance('c1')?.stepsDone, []);
  assert.equal(store.claimStep('c1', 'reply', { ok: true }), true);
  assert.deepEqual(store.getInstance('c1')?.context, { Msg: 'hi', ok: true });
  store.close();
});
