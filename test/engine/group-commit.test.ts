import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Flow } from '../../engine/flow.ts';
import { DATABASE_FILE } from '../../engine/state/database.ts';
import { EngineStore } from '../../engine/state/engine-store.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { createTestEngine, loadedFlow } from '../support/engine.ts';
import { tempDir } from './state/fixtures.ts';

// Issue 12: a batch of the engine's group commit that is lost (COMMIT fails, or SQLite rolls the
// transaction back by itself) must fail exactly the events whose writes it held.

const flow: Flow = {
  name: 'relay',
  steps: [
    {
      event: { packName: 'trigger', name: 'Go' },
      command: { packName: 'target', name: 'Do', input: { message: '{{ Event.Payload.message }}' } },
    },
  ],
};

const go = (message: string): Envelope =>
  createEnvelope({ kind: 'event', pack: 'trigger', name: 'Go', payload: { message } });

/**
 * Faults injected by SQLite itself, through triggers on the executions table:
 * - message "fails at commit": a deferred foreign-key violation, so the batch's COMMIT fails
 *   (and leaves the transaction open, as a failing COMMIT can);
 * - message "rolls back": RAISE(ROLLBACK), so SQLite rolls the whole transaction back inside a
 *   write, as it does on SQLITE_FULL, IOERR or NOMEM.
 */
const FAULTS = `
  CREATE TABLE fault_parent (id INTEGER PRIMARY KEY);
  CREATE TABLE fault_child (parent INTEGER REFERENCES fault_parent (id) DEFERRABLE INITIALLY DEFERRED);
  CREATE TRIGGER fault_at_commit AFTER INSERT ON executions
    WHEN json_extract(NEW.command, '$.payload.message') = 'fails at commit'
    BEGIN INSERT INTO fault_child VALUES (1); END;
  CREATE TRIGGER fault_rollback AFTER INSERT ON executions
    WHEN json_extract(NEW.command, '$.payload.message') = 'rolls back'
    BEGIN SELECT RAISE(ROLLBACK, 'injected: SQLite rolled the transaction back'); END;
`;

/** A store with group commit on a database carrying the FAULTS; `errors` collects what onError heard. */
async function faultyStore(t: TestContext, intervalMs: number) {
  const dataDir = await tempDir(t);
  EngineStore.open(dataDir).close();
  const file = join(dataDir, DATABASE_FILE);
  const db = new DatabaseSync(file);
  db.exec(FAULTS);
  db.close();
  const errors: Error[] = [];
  const store = EngineStore.open(dataDir, { groupCommit: { intervalMs, onError: (e) => errors.push(e) } });
  t.after(() => store.close());
  /** Removes the fault, as freeing the disk would. */
  const heal = () => {
    const healer = new DatabaseSync(file);
    healer.exec('DROP TRIGGER fault_at_commit; DROP TRIGGER fault_rollback;');
    healer.close();
  };
  return { store, errors, heal };
}

/** The in-memory bus, with publishes confirmed only after `ms`, as a broker's confirms take their time. */
class SlowConfirmBus extends MemoryBus {
  readonly #ms: number;

  constructor(ms: number) {
    super();
    this.#ms = ms;
  }

  override async publish(...args: Parameters<MemoryBus['publish']>): Promise<void> {
    await super.publish(...args);
    await sleep(this.#ms);
  }
}

/** Records unhandled rejections while the test runs (one would kill the engine's process). */
function watchUnhandledRejections(t: TestContext): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  t.after(() => process.off('unhandledRejection', listener));
  return seen;
}

/** How a handler ended within `ms`: 'resolved', the rejection's message, or 'still pending'. */
async function outcomeWithin(handling: Promise<void>, ms: number): Promise<string> {
  const timeout = sleep(ms).then(() => 'still pending');
  return Promise.race([
    handling.then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    ),
    timeout,
  ]);
}

const messagesRecorded = (store: EngineStore) =>
  store
    .listExecutions({ flow: 'relay' })
    .map((execution) => (execution.command.payload as { message: string }).message)
    .sort();

test('an event whose batch fails to commit is not acknowledged, nothing crashes, and the engine goes on', async (t) => {
  const unhandled = watchUnhandledRejections(t);
  const { store, errors, heal } = await faultyStore(t, 1);
  // Confirms slower than the batch interval: the batch commits (and fails) while the event still waits.
  const engine = createTestEngine(new SlowConfirmBus(20), store, [loadedFlow(flow)]);

  const doomed = go('fails at commit');
  assert.match(
    await outcomeWithin(engine.handleEvent(doomed), 2000),
    /rejected: .*FOREIGN KEY constraint failed/,
  );
  assert.equal(errors.length, 1, 'the lost batch is reported once');
  assert.match(String(errors[0]?.message), /FOREIGN KEY constraint failed/);
  assert.deepEqual(messagesRecorded(store), [], 'nothing of the failed batch is kept');

  assert.equal(await outcomeWithin(engine.handleEvent(go('next')), 2000), 'resolved');
  heal();
  // The broker delivers the unacknowledged event again; now it goes through.
  assert.equal(await outcomeWithin(engine.handleEvent(doomed), 2000), 'resolved');
  assert.deepEqual(messagesRecorded(store), ['fails at commit', 'next']);
  await sleep(10);
  assert.deepEqual(unhandled, []);
});

test('a batch SQLite rolls back by itself fails the events that wrote into it, and only those', async (t) => {
  const unhandled = watchUnhandledRejections(t);
  const { store, errors } = await faultyStore(t, 20);
  const engine = createTestEngine(new SlowConfirmBus(100), store, [loadedFlow(flow)]);

  // Its writes commit in a batch of their own; it is still waiting for its confirm when the next batch is lost.
  const earlier = outcomeWithin(engine.handleEvent(go('earlier')), 2000);
  await sleep(40);
  const sharing = outcomeWithin(engine.handleEvent(go('shares the lost batch')), 2000);
  const doomed = outcomeWithin(engine.handleEvent(go('rolls back')), 2000);
  const [earlierOutcome, sharingOutcome, doomedOutcome] = await Promise.all([earlier, sharing, doomed]);
  assert.equal(earlierOutcome, 'resolved');
  assert.match(sharingOutcome, /rejected: .*injected: SQLite rolled the transaction back/);
  assert.match(doomedOutcome, /rejected: .*injected: SQLite rolled the transaction back/);
  assert.equal(errors.length, 1, 'the lost batch is reported once');
  assert.deepEqual(messagesRecorded(store), ['earlier']);

  assert.equal(await outcomeWithin(engine.handleEvent(go('later')), 2000), 'resolved');
  assert.deepEqual(messagesRecorded(store), ['earlier', 'later']);
  assert.deepEqual(unhandled, []);
});

test('after SQLite rolls a batch back, the events waiting on it settle even when new writes follow at once', async (t) => {
  const unhandled = watchUnhandledRejections(t);
  const { store, errors } = await faultyStore(t, 20);
  // Confirms at once: the events wait for the batch itself, as on a fast broker.
  const engine = createTestEngine(new MemoryBus(), store, [loadedFlow(flow)]);

  const sharing = outcomeWithin(engine.handleEvent(go('shares the lost batch')), 2000);
  const doomed = outcomeWithin(engine.handleEvent(go('rolls back')), 2000);
  await sleep(5);
  // Writes after the rollback open a new batch before the lost one's commit was due.
  const after = outcomeWithin(engine.handleEvent(go('after the rollback')), 2000);
  const [sharingOutcome, doomedOutcome, afterOutcome] = await Promise.all([sharing, doomed, after]);
  assert.match(sharingOutcome, /rejected: .*injected: SQLite rolled the transaction back/);
  assert.match(doomedOutcome, /rejected: .*injected: SQLite rolled the transaction back/);
  assert.equal(afterOutcome, 'resolved');
  assert.equal(errors.length, 1, 'the lost batch is reported once');
  assert.deepEqual(messagesRecorded(store), ['after the rollback']);
  assert.deepEqual(unhandled, []);
});
