import type { DatabaseSync } from 'node:sqlite';

/** One transaction of group commit: the writes of every event handled during a few milliseconds. */
export interface Batch {
  /** Resolves once the batch is committed; rejects when it is lost (its COMMIT failed, or SQLite rolled it back). */
  readonly committed: Promise<void>;
}

export interface GroupCommitOptions {
  /** How long after its first write a batch commits, in milliseconds. Default: 2. */
  intervalMs?: number;
  /** Told once about each lost batch, with SQLite's reason. */
  onError: (error: Error) => void;
}

interface OpenBatch extends Batch {
  resolve(): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
}

/**
 * Commits writes in batches (several times cheaper than a transaction per write) and tells each writer
 * which batch holds its write, so that a caller can wait for exactly the batches it wrote into.
 *
 * A batch is lost when its COMMIT fails (disk full, I/O error, a deferred constraint) or when SQLite
 * rolls the transaction back by itself inside a statement (SQLITE_FULL, IOERR, NOMEM can; see
 * https://www.sqlite.org/lang_transaction.html, "Response To Errors Within A Transaction"). A lost
 * batch is reported once through onError and rejects its `committed`; the next write opens a new one.
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #intervalMs: number;
  readonly #onError: (error: Error) => void;
  #open: OpenBatch | undefined;

  constructor(db: DatabaseSync, options: GroupCommitOptions) {
    this.#db = db;
    this.#intervalMs = options.intervalMs ?? 2;
    this.#onError = options.onError;
  }

  /** Runs `body` in the open batch (opening one) and adds that batch to `held` unless it is there already. */
  write<T>(body: () => T, held?: Batch[]): T {
    const batch = this.#batchForWrite();
    if (held !== undefined && held[held.length - 1] !== batch) held.push(batch);
    try {
      return body();
    } catch (error) {
      // SQLite ended the whole transaction, not just this statement: every write of the batch is gone.
      if (!this.#db.isTransaction) this.#lose(batch, error as Error);
      throw error;
    }
  }

  /** Resolves once everything written so far is committed. */
  committed(): Promise<void> {
    return this.#open?.committed ?? Promise.resolve();
  }

  /** Commits the open batch now (before the database closes). */
  flush(): void {
    if (this.#open) this.#commit(this.#open);
  }

  #batchForWrite(): OpenBatch {
    const open = this.#open;
    if (open && this.#db.isTransaction) return open;
    // Rolled back by SQLite outside our writes (a read that ran out of memory, say).
    if (open) this.#lose(open, new Error('SQLite rolled the transaction back'));
    this.#db.exec('BEGIN IMMEDIATE');
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    // A batch can be lost with nobody waiting on it (housekeeping's writes): onError reports it, and
    // this keeps its rejection from being an unhandled one, which would end the process.
    promise.catch(() => {});
    const batch: OpenBatch = { committed: promise, resolve, reject };
    batch.timer = setTimeout(() => this.#commit(batch), this.#intervalMs);
    this.#open = batch;
    return batch;
  }

  #commit(batch: OpenBatch): void {
    if (this.#open !== batch) return;
    if (!this.#db.isOpen) {
      this.#lose(batch, new Error('the database was closed before the batch committed'));
      return;
    }
    if (!this.#db.isTransaction) {
      this.#lose(batch, new Error('SQLite rolled the transaction back'));
      return;
    }
    try {
      this.#db.exec('COMMIT');
    } catch (error) {
      // A failed COMMIT can leave the transaction open: end it, so that the next write starts afresh.
      try {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      } catch {
        // The batch is lost either way; a connection left in a transaction makes the next BEGIN fail loudly.
      }
      this.#lose(batch, error as Error);
      return;
    }
    this.#open = undefined;
    clearTimeout(batch.timer);
    batch.resolve();
  }

  #lose(batch: OpenBatch, cause: Error): void {
    if (this.#open === batch) this.#open = undefined;
    clearTimeout(batch.timer);
    const error = new Error(`a batch of engine state was lost: ${cause.message}`, { cause });
    this.#onError(error);
    batch.reject(error);
  }
}
