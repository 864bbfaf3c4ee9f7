import type { DatabaseSync } from 'node:sqlite';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Envelope } from '../../shared/envelope.ts';
import { inTransaction, openDatabase, openDatabaseReadOnly } from './database.ts';
import { Datastore, type DatastoreEntry } from './datastore.ts';
import {
  type Execution,
  type ExecutionFilter,
  type ExecutionPage,
  Executions,
  type NewExecution,
  type NewRetry,
  type PruneCursor,
  type RetryOutcome,
  type StepCount,
} from './executions.ts';
import { type Batch, GroupCommit, type GroupCommitOptions } from './group-commit.ts';
import { type Instance, Instances, type NewInstance } from './instances.ts';
import { type AnnouncedCommand, PackManifests } from './pack-manifests.ts';

export type { DatastoreEntry } from './datastore.ts';
export type {
  Execution,
  ExecutionFilter,
  ExecutionPage,
  ExecutionStatus,
  NewExecution,
  NewRetry,
  RetryOutcome,
  RetryRefusal,
  StepCount,
} from './executions.ts';
export { EXECUTION_STATUSES, isExecutionCursor, parseSince, retryRefusal } from './executions.ts';
export type { Instance, NewInstance } from './instances.ts';
export type { AnnouncedCommand } from './pack-manifests.ts';

export interface EngineStoreOptions {
  /** Where timestamps the store writes itself come from (createdAt, updatedAt, finishedAt). Default: the system clock. */
  clock?: () => Date;
  /**
   * Commit writes in batches (the engine's hot path): several times cheaper than a transaction per
   * write. A batch commits `intervalMs` (default: 2) after its first write; a session's `committed()`
   * says when its own writes are committed, or that the batch holding them was lost.
   * Default: off (each write commits on its own).
   */
  groupCommit?: GroupCommitOptions;
}

export interface PruneOptions {
  /**
   * Finished executions started longer ago than this go, and instances untouched as long with no
   * execution left.
   */
  maxAgeMs: number;
  /** Finished executions beyond the newest this many (pending ones count) go. */
  maxCount: number;
  /** Default: the store's clock. */
  now?: Date;
  /** Rows deleted per statement; the event loop gets a turn between statements. Default: 250. */
  batchRows?: number;
  /** Stops between two batches (the engine is stopping); what was deleted so far stays deleted. */
  signal?: AbortSignal;
}

/** A store's shared parts: its views (sessions) use the same connection, statements and batches. */
interface StoreParts {
  db: DatabaseSync;
  clock: () => Date;
  datastore: Datastore;
  instances: Instances;
  executions: Executions;
  packManifests: PackManifests;
  groupCommit: GroupCommit | undefined;
}

/** The store as one unit of work sees it (see EngineStore.session): everything but closing it. */
export type StoreSession = Omit<EngineStore, 'close' | 'session'>;

const DEFAULT_PRUNE_BATCH_ROWS = 250;

/**
 * The flow engine's persistent state in `<dataDir>/engine.sqlite`: the datastore, flow instances,
 * and the executions of their steps (the audit). Every method but prune is synchronous and atomic.
 */
export class EngineStore {
  readonly #parts: StoreParts;
  readonly #db: DatabaseSync;
  readonly #clock: () => Date;
  readonly #datastore: Datastore;
  readonly #instances: Instances;
  readonly #executions: Executions;
  readonly #packManifests: PackManifests;
  /** A session's: the batches its writes went into (without group commit, always empty). */
  readonly #held: Batch[] | undefined;

  private constructor(parts: StoreParts, held?: Batch[]) {
    this.#parts = parts;
    this.#db = parts.db;
    this.#clock = parts.clock;
    this.#datastore = parts.datastore;
    this.#instances = parts.instances;
    this.#executions = parts.executions;
    this.#packManifests = parts.packManifests;
    this.#held = held;
  }

  static #create(db: DatabaseSync, clock: () => Date, groupCommit?: GroupCommitOptions): EngineStore {
    return new EngineStore({
      db,
      clock,
      datastore: new Datastore(db, clock),
      instances: new Instances(db, clock),
      executions: new Executions(db, clock),
      packManifests: new PackManifests(db, clock),
      groupCommit: groupCommit ? new GroupCommit(db, groupCommit) : undefined,
    });
  }

  /**
   * A view of this store for one unit of work (the engine: one event), whose committed() waits for
   * the batches that hold its own writes, and fails when one of them is lost.
   */
  session(): StoreSession {
    return new EngineStore(this.#parts, []);
  }

  /** Keeps the commands a pack announced in its PackStarted (the latest announcement wins). */
  savePackManifest(pack: string, commands: AnnouncedCommand[]): void {
    this.#write(() => this.#packManifests.save(pack, commands));
  }

  /** The commands of every pack that announced itself, by pack name. */
  packManifests(): Map<string, AnnouncedCommand[]> {
    return this.#packManifests.all();
  }

  /**
   * Opens (creating) `<dataDir>/engine.sqlite`; ':memory:' for tests. WAL mode, so
   * `switchboard executions` can read while the engine writes. Creates or migrates the schema.
   */
  static open(dataDir: string, options: EngineStoreOptions = {}): EngineStore {
    return EngineStore.#create(
      openDatabase(dataDir),
      options.clock ?? (() => new Date()),
      options.groupCommit,
    );
  }

  /** A read-only handle for the CLI; fails with an Error naming the file when there is no database yet. */
  static openReadOnly(dataDir: string): EngineStore {
    return EngineStore.#create(openDatabaseReadOnly(dataDir), () => new Date());
  }

  /** The JSON value stored under `key`; undefined when missing. */
  datastoreGet(key: string): unknown {
    return this.#datastore.get(key);
  }

  /** Stores any JSON value; fails on what JSON cannot hold (undefined, functions). */
  datastoreSet(key: string, value: unknown): void {
    this.#write(() => this.#datastore.set(key, value));
  }

  /** False when there was no such key. */
  datastoreDelete(key: string): boolean {
    return this.#write(() => this.#datastore.delete(key));
  }

  /** By key. */
  datastoreList(): DatastoreEntry[] {
    return this.#datastore.list();
  }

  /** Fails when an instance with this correlation id exists already. */
  createInstance(instance: NewInstance): void {
    this.#write(() => this.#instances.create(instance));
  }

  getInstance(correlationId: string): Instance | undefined {
    return this.#instances.get(correlationId);
  }

  /**
   * Records that the step fired, merging `context` over the instance's (key by key); returns false,
   * changing nothing, if that step already fired for this instance. Fails when there is no such instance.
   */
  claimStep(correlationId: string, stepId: string, context: Record<string, unknown>): boolean {
    return this.#write(() => this.#instances.claimStep(correlationId, stepId, context));
  }

  /** Records a fired step, pending; fails when an execution with that id is recorded already. */
  recordExecution(execution: NewExecution): void {
    this.#write(() => this.#executions.record(execution));
  }

  /** Records a step that fired but could not produce its command (a template failed), as failed. Atomic. */
  recordFailedExecution(execution: NewExecution, error: string): void {
    this.#write(() =>
      inTransaction(this.#db, () => {
        this.#executions.record(execution);
        this.#executions.fail(execution.id, error);
      }),
    );
  }

  /**
   * Completes the pending execution whose command id is `commandId` (= the result event's
   * causationId); returns it, or undefined when there is none pending (unknown, or already
   * completed or timed out).
   */
  completeExecution(
    commandId: string,
    result: Envelope,
    status: 'succeeded' | 'failed',
    error?: string,
  ): Execution | undefined {
    return this.#write(() => this.#executions.complete(commandId, result, status, error));
  }

  /** Marks every execution pending for longer than `timeoutMs` as timed_out; returns them, oldest first. */
  timeOutPending(timeoutMs: number, now: Date = this.#clock()): Execution[] {
    return this.#write(() => this.#executions.timeOutPending(timeoutMs, now));
  }

  getExecution(id: string): Execution | undefined {
    return this.#executions.get(id);
  }

  /** Newest first; at most 50 unless `limit` says otherwise. */
  listExecutions(filter: ExecutionFilter = {}): Execution[] {
    return this.#executions.list(filter);
  }

  /**
   * Newest first, a page of at most `limit` (50) at a time, with the cursor of the next page unless this
   * is the last; `filter.cursor` continues after the page that gave it. Fails on a cursor no page gave.
   */
  listExecutionsPage(filter: ExecutionFilter = {}): ExecutionPage {
    return this.#executions.page(filter);
  }

  /**
   * Run again: records `retry` (its command with a new id) as a new pending execution of the same
   * instance and step as execution `id`, linked both ways (`retryOf` on the new one, `retriedBy` on the
   * old one), unless that one is not failed or timed out, was run again already, or never sent its
   * command. Its result then completes it like any execution's. Atomic: of two calls, one records.
   */
  recordRetry(id: string, retry: NewRetry): RetryOutcome {
    return this.#write(() => this.#executions.recordRetry(id, retry));
  }

  /** Takes back a retry still pending (its command could not be published); false when there is none. */
  forgetRetry(retryId: string): boolean {
    return this.#write(() => this.#executions.forgetRetry(retryId));
  }

  /** How often each step of a flow fired and failed, over the executions still kept. */
  stepCounts(flowName: string): StepCount[] {
    return this.#executions.stepCounts(flowName);
  }

  /** The executions of one flow instance, oldest first. */
  executionsOf(correlationId: string): Execution[] {
    return this.#executions.ofInstance(correlationId);
  }

  /**
   * Retention: deletes finished executions older than `maxAgeMs` or beyond the newest `maxCount`,
   * then instances untouched for `maxAgeMs` with no execution left; returns how many executions went.
   * Never deletes a pending execution, nor any execution of an instance that still has one pending,
   * so an instance waiting for a result keeps all it needs to continue. Runs in statements of
   * `batchRows` rows with a turn of the event loop between them, so events go on being handled.
   */
  async prune(options: PruneOptions): Promise<number> {
    const { maxAgeMs, maxCount, batchRows = DEFAULT_PRUNE_BATCH_ROWS, signal } = options;
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
      throw new RangeError(`maxAgeMs must be a finite number of 0 or more, not ${maxAgeMs}`);
    }
    if (!Number.isSafeInteger(maxCount) || maxCount < 0) {
      throw new RangeError(`maxCount must be a whole number of 0 or more, not ${maxCount}`);
    }
    if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
      throw new RangeError(`batchRows must be a whole number of 1 or more, not ${batchRows}`);
    }
    const cutoffMs = (options.now ?? this.#clock()).getTime() - maxAgeMs;
    let deleted = 0;
    let cursor: PruneCursor | undefined = this.#executions.pruneStart(cutoffMs, maxCount);
    while (cursor && !signal?.aborted) {
      const from: PruneCursor = cursor;
      const step = this.#write(() => this.#executions.deleteFinished(from, batchRows));
      deleted += step.deleted;
      cursor = step.next;
      await nextTurn();
    }
    while (!signal?.aborted) {
      const removed = this.#write(() => this.#instances.deleteAbandoned(cutoffMs, batchRows));
      if (removed < batchRows) break;
      await nextTurn();
    }
    return deleted;
  }

  /** Creates the instance unless it exists (an event handled again); true when it was created. */
  createInstanceIfAbsent(instance: NewInstance): boolean {
    return this.#write(() => {
      if (this.#instances.exists(instance.correlationId)) return false;
      this.#instances.create(instance);
      return true;
    });
  }

  /** Closes the database, committing the open batch first. */
  close(): void {
    this.#parts.groupCommit?.flush();
    this.#db.close();
  }

  /**
   * A session's: resolves once the batches that hold its writes are committed, and rejects when one
   * of them was lost (at once without group commit, where a write that fails throws). The engine
   * awaits it before acknowledging an event, so an acknowledged event's state is on disk. On the store
   * itself: once everything written so far is committed.
   */
  committed(): Promise<void> {
    const held = this.#held;
    if (held === undefined) return this.#parts.groupCommit?.committed() ?? Promise.resolve();
    if (held.length === 0) return Promise.resolve();
    if (held.length === 1) return (held[0] as Batch).committed;
    return Promise.all(held.map((batch) => batch.committed)).then(() => undefined);
  }

  /** With group commit, a write goes into the open batch, which its session then waits for. */
  #write<T>(body: () => T): T {
    const groupCommit = this.#parts.groupCommit;
    return groupCommit ? groupCommit.write(body, this.#held) : body();
  }
}
