import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { EngineStore } from '../../../engine/state/engine-store.ts';
import { newExecution, newInstance, resultOf, tempDir } from './fixtures.ts';

test('open creates the data directory and engine.sqlite, in WAL mode with a schema version', async (t) => {
  const dataDir = join(await tempDir(t), 'nested', 'data');
  EngineStore.open(dataDir).close();
  const file = join(dataDir, 'engine.sqlite');
  assert.ok(existsSync(file));
  const db = new DatabaseSync(file, { readOnly: true });
  assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
  assert.ok(Number(db.prepare('PRAGMA user_version').get()?.user_version) >= 1);
  db.close();
});

test('everything survives closing and opening again', async (t) => {
  const dataDir = await tempDir(t);
  const first = EngineStore.open(dataDir);
  first.datastoreSet('oncall', { name: 'alice' });
  first.createInstance(newInstance('c1', { context: { Msg: 'hi' } }));
  first.claimStep('c1', 'get_message', { Channel: 'C1' });
  first.recordExecution(newExecution('cmd-1', { correlationId: 'c1' }));
  first.recordExecution(newExecution('cmd-2', { correlationId: 'c1' }));
  first.completeExecution('cmd-1', resultOf('cmd-1'), 'succeeded');
  const instance = first.getInstance('c1');
  const executions = first.executionsOf('c1');
  const datastore = first.datastoreList();
  first.close();

  const second = EngineStore.open(dataDir);
  assert.deepEqual(second.datastoreList(), datastore);
  assert.deepEqual(second.getInstance('c1'), instance);
  assert.deepEqual(second.executionsOf('c1'), executions);
  assert.equal(second.claimStep('c1', 'get_message', {}), false);
  assert.ok(second.completeExecution('cmd-2', resultOf('cmd-2'), 'succeeded'));
  second.close();

  const reader = EngineStore.openReadOnly(dataDir);
  assert.deepEqual(
    reader.executionsOf('c1').map((e) => e.status),
    ['succeeded', 'succeeded'],
  );
  reader.close();
});

test('openReadOnly without a database fails naming the file it looked for', async (t) => {
  const dataDir = join(await tempDir(t), 'never-used');
  const file = join(dataDir, 'engine.sqlite');
  assert.throws(
    () => EngineStore.openReadOnly(dataDir),
    (error: Error) => error.message.includes(file),
  );
  assert.equal(existsSync(dataDir), false);
});

test('a reader sees what another store writes while both stay open', async (t) => {
  const dataDir = await tempDir(t);
  const writer = EngineStore.open(dataDir);
  writer.recordExecution(newExecution('cmd-1'));
  const reader = EngineStore.openReadOnly(dataDir);
  assert.deepEqual(
    reader.listExecutions({}).map((e) => e.id),
    ['cmd-1'],
  );

  writer.recordExecution(newExecution('cmd-2', { startedAt: '2024-05-01T12:00:01.000Z' }));
  writer.completeExecution('cmd-1', resultOf('cmd-1'), 'succeeded');
  writer.datastoreSet('k', 'v');
  writer.createInstance(newInstance('c1'));

  assert.deepEqual(
    reader.listExecutions({}).map((e) => [e.id, e.status]),
    [
      ['cmd-2', 'pending'],
      ['cmd-1', 'succeeded'],
    ],
  );
  assert.equal(reader.datastoreGet('k'), 'v');
  assert.equal(reader.getInstance('c1')?.correlationId, 'c1');
  reader.close();
  writer.close();
});

test('a read-only store refuses to write', async (t) => {
  const dataDir = await tempDir(t);
  EngineStore.open(dataDir).close();
  const reader = EngineStore.openReadOnly(dataDir);
  assert.throws(() => reader.datastoreSet('k', 1), /readonly/);
  reader.close();
});

test('a database from a newer Switchboard is refused rather than misread', async (t) => {
  const dataDir = await tempDir(t);
  EngineStore.open(dataDir).close();
  const file = join(dataDir, 'engine.sqlite');
  const db = new DatabaseSync(file);
  db.exec('PRAGMA user_version = 999');
  db.close();
  assert.throws(
    () => EngineStore.open(dataDir),
    (error: Error) => /999.*upgrade/.test(error.message),
  );
  assert.throws(
    () => EngineStore.openReadOnly(dataDir),
    (error: Error) => error.message.includes(file),
  );
});
