import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { DATABASE_FILE, SCHEMA_VERSION } from '../../../engine/state/database.ts';
import {
  EngineStore,
  type ExecutionFilter,
  isExecutionCursor,
  parseSince,
} from '../../../engine/state/engine-store.ts';
import { newExecution, resultOf, tempDir } from './fixtures.ts';

const T0 = '2024-05-01T12:00:00.000Z';
const at = (offsetMs: number) => new Date(Date.parse(T0) + offsetMs).toISOString();

/** Every page of a listing, as lists of ids, following nextCursor to the end. */
function allPages(store: EngineStore, filter: ExecutionFilter): string[][] {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = store.listExecutionsPage({ ...filter, cursor });
    pages.push(page.executions.map((execution) => execution.id));
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages.length < 100);
  return pages;
}

test('listExecutionsPage pages newest first, the last page without a next cursor', () => {
  const store = EngineStore.open(':memory:');
  for (let i = 0; i < 7; i++) store.recordExecution(newExecution(`cmd-${i}`, { startedAt: at(i * 1000) }));
  assert.deepEqual(allPages(store, { limit: 3 }), [
    ['cmd-6', 'cmd-5', 'cmd-4'],
    ['cmd-3', 'cmd-2', 'cmd-1'],
    ['cmd-0'],
  ]);
  // A history that ends on a page boundary has no empty page after it.
  assert.deepEqual(allPages(store, { limit: 7 }), [
    ['cmd-6', 'cmd-5', 'cmd-4', 'cmd-3', 'cmd-2', 'cmd-1', 'cmd-0'],
  ]);
  assert.equal(store.listExecutionsPage({}).nextCursor, undefined);
  store.close();
});

test('paging through executions started in the same millisecond loses and repeats none', () => {
  const store = EngineStore.open(':memory:');
  for (const id of ['a', 'b', 'c', 'd', 'e']) store.recordExecution(newExecution(id, { startedAt: T0 }));
  assert.deepEqual(allPages(store, { limit: 2 }), [['e', 'd'], ['c', 'b'], ['a']]);
  store.close();
});

test('the next page continues where the last one ended, whatever was recorded since', () => {
  const store = EngineStore.open(':memory:');
  for (let i = 0; i < 4; i++) store.recordExecution(newExecution(`cmd-${i}`, { startedAt: at(i * 1000) }));
  const first = store.listExecutionsPage({ limit: 2 });
  store.recordExecution(newExecution('newer', { startedAt: at(10_000) }));
  const second = store.listExecutionsPage({ limit: 2, cursor: first.nextCursor });
  assert.deepEqual(
    second.executions.map((execution) => execution.id),
    ['cmd-1', 'cmd-0'],
  );
  store.close();
});

test('pages keep to the filters of flow, status and start time', () => {
  const store = EngineStore.open(':memory:');
  for (let i = 0; i < 10; i++) {
    const id = `${i % 2 ? 'deploy' : 'echo'}-${i}`;
    store.recordExecution(newExecution(id, { flowName: i % 2 ? 'deploy' : 'echo', startedAt: at(i * 1000) }));
    if (i % 3 === 0) store.completeExecution(id, resultOf(id, 'Failed', { error: 'x' }), 'failed', 'x');
  }
  assert.deepEqual(allPages(store, { flow: 'echo', limit: 2 }), [
    ['echo-8', 'echo-6'],
    ['echo-4', 'echo-2'],
    ['echo-0'],
  ]);
  assert.deepEqual(allPages(store, { status: 'failed', limit: 3 }), [
    ['deploy-9', 'echo-6', 'deploy-3'],
    ['echo-0'],
  ]);
  assert.deepEqual(allPages(store, { flow: 'deploy', status: 'failed', limit: 1 }), [
    ['deploy-9'],
    ['deploy-3'],
  ]);
  assert.deepEqual(allPages(store, { since: new Date(at(5000)), limit: 4 }), [
    ['deploy-9', 'echo-8', 'deploy-7', 'echo-6'],
    ['deploy-5'],
  ]);
  store.close();
});

test('a cursor no listing gave is refused, naming the cursor', () => {
  const store = EngineStore.open(':memory:');
  for (let i = 0; i < 3; i++) store.recordExecution(newExecution(`cmd-${i}`, { startedAt: at(i) }));
  const given = store.listExecutionsPage({ limit: 1 }).nextCursor as string;
  assert.equal(isExecutionCursor(given), true);
  for (const bad of ['', 'not-a-cursor', Buffer.from('1.2.3').toString('base64url'), `${given}x`]) {
    assert.equal(isExecutionCursor(bad), false, bad);
    assert.throws(() => store.listExecutionsPage({ cursor: bad }), /cursor/, bad);
  }
  store.close();
});

test('parseSince takes an RFC 3339 time or a duration back from now, and nothing else', () => {
  const now = new Date(T0);
  assert.equal(parseSince('15m', now)?.toISOString(), '2024-05-01T11:45:00.000Z');
  assert.equal(parseSince('2h', now)?.toISOString(), '2024-05-01T10:00:00.000Z');
  assert.equal(parseSince('7d', now)?.toISOString(), '2024-04-24T12:00:00.000Z');
  assert.equal(parseSince('30s', now)?.toISOString(), '2024-05-01T11:59:30.000Z');
  assert.equal(parseSince('2024-05-01T14:00:00+02:00', now)?.toISOString(), T0);
  for (const bad of ['', 'yesterday', '15 m', '-2h', '2w'])
    assert.equal(parseSince(bad, now), undefined, bad);
});

test('a database from before Run again is read as it is, and migrated by the engine keeping its executions', async (t) => {
  const dir = await tempDir(t);
  const store = EngineStore.open(dir);
  const recorded = newExecution('cmd-1');
  store.recordExecution(recorded);
  store.close();
  // Back to the schema before the retry links, as a database in the field has it.
  const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`);
  db.exec('ALTER TABLE executions DROP COLUMN retry_of; ALTER TABLE executions DROP COLUMN retried_by');
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION - 1}`);
  db.close();

  // The CLI reads it before the engine migrates it (the engine has not started since the upgrade).
  const reader = EngineStore.openReadOnly(dir);
  assert.deepEqual(reader.getExecution('cmd-1'), { ...recorded, status: 'pending' });
  assert.deepEqual(
    reader.listExecutionsPage({}).executions.map((execution) => execution.id),
    ['cmd-1'],
  );
  assert.throws(() => reader.recordExecution(newExecution('cmd-2')), /read-only|cannot modify/);
  reader.close();

  const migrated = EngineStore.open(dir);
  assert.deepEqual(migrated.getExecution('cmd-1'), { ...recorded, status: 'pending' });
  migrated.completeExecution('cmd-1', resultOf('cmd-1', 'Failed', { error: 'x' }), 'failed', 'x');
  const retry = migrated.recordRetry('cmd-1', {
    command: { ...newExecution('r').command, id: 'r' },
    startedAt: T0,
  });
  assert.ok('recorded' in retry);
  migrated.close();
});
