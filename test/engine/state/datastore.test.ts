import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineStore } from '../../../engine/state/engine-store.ts';
import { ManualClock } from './fixtures.ts';

test('a missing key reads as undefined', () => {
  const store = EngineStore.open(':memory:');
  assert.equal(store.datastoreGet('nothing'), undefined);
  store.close();
});

test('any JSON value comes back as it was stored', () => {
  const store = EngineStore.open(':memory:');
  const values: Record<string, unknown> = {
    object: { channels: ['C1', 'C2'], nested: { on: true } },
    array: [1, 'two', null],
    text: 'hello',
    number: 5,
    boolean: false,
    null: null,
  };
  for (const [key, value] of Object.entries(values)) store.datastoreSet(key, value);
  for (const [key, value] of Object.entries(values)) assert.deepEqual(store.datastoreGet(key), value, key);
  store.close();
});

test('setting a key again replaces its value and its time', () => {
  const clock = new ManualClock('2024-05-01T12:00:00.000Z');
  const store = EngineStore.open(':memory:', { clock: clock.now });
  store.datastoreSet('oncall', 'alice');
  clock.advance(60_000);
  store.datastoreSet('oncall', 'bob');
  assert.equal(store.datastoreGet('oncall'), 'bob');
  assert.deepEqual(store.datastoreList(), [
    { key: 'oncall', value: 'bob', updatedAt: '2024-05-01T12:01:00.000Z' },
  ]);
  store.close();
});

test('delete says whether there was a key to delete', () => {
  const store = EngineStore.open(':memory:');
  store.datastoreSet('k', 1);
  assert.equal(store.datastoreDelete('k'), true);
  assert.equal(store.datastoreGet('k'), undefined);
  assert.equal(store.datastoreDelete('k'), false);
  store.close();
});

test('list gives every entry, by key', () => {
  const clock = new ManualClock('2024-05-01T12:00:00.000Z');
  const store = EngineStore.open(':memory:', { clock: clock.now });
  store.datastoreSet('b', { n: 2 });
  store.datastoreSet('a', [1]);
  assert.deepEqual(store.datastoreList(), [
    { key: 'a', value: [1], updatedAt: '2024-05-01T12:00:00.000Z' },
    { key: 'b', value: { n: 2 }, updatedAt: '2024-05-01T12:00:00.000Z' },
  ]);
  store.close();
});

test('a value JSON cannot hold is refused, naming the key', () => {
  const store = EngineStore.open(':memory:');
  assert.throws(() => store.datastoreSet('later', undefined), /"later".*not a JSON value/);
  assert.throws(() => store.datastoreSet('fn', () => 1), /not a JSON value/);
  assert.equal(store.datastoreGet('later'), undefined);
  store.close();
});
