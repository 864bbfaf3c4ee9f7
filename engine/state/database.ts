import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** The file name of the engine's database inside its data directory. */
export const DATABASE_FILE = 'engine.sqlite';

/** Opens in memory instead of `<dataDir>/engine.sqlite`; for tests. */
export const IN_MEMORY = ':memory:';

/**
 * Schema changes, oldest first; `PRAGMA user_version` holds how many have been applied.
 * Append new migrations, never edit a released one: databases in the field have run it already.
 *
 * Times are kept twice where queries compare them: the RFC 3339 text as given (`*_at`) and
 * epoch milliseconds (`*_ms`), because callers may write offsets other than `Z`, which do not sort
 * as text.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE datastore (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,  -- JSON
    updated_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE instances (
    correlation_id TEXT PRIMARY KEY,
    flow_name      TEXT NOT NULL,
    flow_version   TEXT NOT NULL,
    flow           TEXT NOT NULL,  -- JSON: the flow as it was when the instance started
    context        TEXT NOT NULL,  -- JSON object
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_ms     INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX instances_by_updated ON instances (updated_ms);

  -- One row per fired step: the primary key is what makes a step fire at most once per instance.
  CREATE TABLE instance_steps (
    correlation_id TEXT NOT NULL REFERENCES instances (correlation_id) ON DELETE CASCADE,
    step_id        TEXT NOT NULL,
    PRIMARY KEY (correlation_id, step_id)
  ) STRICT;

  CREATE TABLE executions (
    id             TEXT PRIMARY KEY,  -- the command envelope's id
    correlation_id TEXT NOT NULL,
    flow_name      TEXT NOT NULL,
    flow_version   TEXT NOT NULL,
    step_id        TEXT NOT NULL,
    trigger_event  TEXT NOT NULL,  -- JSON envelope
    command        TEXT NOT NULL,  -- JSON envelope
    result_event   TEXT,           -- JSON envelope
    status         TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'timed_out')),
    error          TEXT,
    started_at     TEXT NOT NULL,
    started_ms     INTEGER NOT NULL,
    finished_at    TEXT,
    duration_ms    INTEGER
  ) STRICT;
  CREATE INDEX executions_by_started ON executions (started_ms);
  CREATE INDEX executions_by_status ON executions (status, started_ms);
  CREATE INDEX executions_by_flow ON executions (flow_name, started_ms);
  CREATE INDEX executions_by_correlation ON executions (correlation_id, started_ms);
  `,
  `
  -- What each pack said it accepts in its last PackStarted, for \`switchboard flows check\`.
  CREATE TABLE pack_manifests (
    pack       TEXT PRIMARY KEY,
    manifest   TEXT NOT NULL,  -- JSON: the PackStarted payload
    updated_at TEXT NOT NULL
  ) STRICT;
  `,
  `
  -- Run again (the console): the retry is a new execution of the same step with a new command id,
  -- linked both ways. Looked up only by id, so no index.
  ALTER TABLE executions ADD COLUMN retry_of TEXT;    -- the execution this one runs again
  ALTER TABLE executions ADD COLUMN retried_by TEXT;  -- the execution that ran this one again
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * How a read-only handle reads a database whose schema is older, by the version it has: the engine
 * has not started since the upgrade (or still runs the previous Switchboard), and the CLI must not
 * refuse to read it for that. Each turns version N into what version N + 1 reads like, with TEMP
 * views private to the connection that show what migration N + 1 added as empty. A version without
 * one is refused with the advice to start the engine.
 */
const READ_OLDER: Readonly<Record<number, string>> = {
  // Run again's links: none yet. The view keeps rowid, which the listing orders and pages by. The
  // triggers only let the store prepare its writes (a read-only handle never runs them).
  2: `
  CREATE TEMP VIEW executions AS
    SELECT rowid AS rowid, *, NULL AS retry_of, NULL AS retried_by FROM main.executions;
  CREATE TEMP TRIGGER executions_update INSTEAD OF UPDATE ON executions
    BEGIN SELECT RAISE(ABORT, 'read-only'); END;
  CREATE TEMP TRIGGER executions_delete INSTEAD OF DELETE ON executions
    BEGIN SELECT RAISE(ABORT, 'read-only'); END;
  `,
};

/** How long a write waits for another connection's lock (the CLI reading, a second engine) before failing. */
const BUSY_TIMEOUT_MS = 5_000;

/** Opens (creating it and `dataDir`) the engine's database and brings its schema up to date. */
export function openDatabase(dataDir: string): DatabaseSync {
  let location: string = IN_MEMORY;
  if (dataDir !== IN_MEMORY) {
    mkdirSync(dataDir, { recursive: true });
    location = join(dataDir, DATABASE_FILE);
  }
  const db = new DatabaseSync(location, { timeout: BUSY_TIMEOUT_MS });
  try {
    // WAL lets `switchboard executions` read while the engine writes. It cannot be set inside a
    // transaction, so before migrating. (In memory the answer is 'memory', which is fine.)
    db.exec('PRAGMA journal_mode = WAL');
    // In WAL mode NORMAL still survives a crash of the process; only a power loss can take the last
    // commits, and every step is on the bus already. FULL would fsync on each of the several writes an
    // event costs.
    db.exec('PRAGMA synchronous = NORMAL');
    // Checkpoint every ~40 MB of WAL rather than 4 MB: checkpoints run inside commits, on the hot path
    // (about 12% more events per second in the benchmark).
    db.exec('PRAGMA wal_autocheckpoint = 10000');
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db, location);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Opens an existing database read-only; it must already have the current schema. */
export function openDatabaseReadOnly(dataDir: string): DatabaseSync {
  if (dataDir === IN_MEMORY) throw new Error('An in-memory engine database cannot be opened read-only');
  const file = join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) {
    throw new Error(`No engine database at ${file}: the engine has not run with this data directory yet`);
  }
  const db = new DatabaseSync(file, { readOnly: true, timeout: BUSY_TIMEOUT_MS });
  try {
    const version = schemaVersion(db);
    const readable = version < SCHEMA_VERSION && readsAsCurrent(db, version);
    if (version !== SCHEMA_VERSION && !readable) {
      throw new Error(
        version < SCHEMA_VERSION
          ? `The engine database ${file} has schema version ${version}, older than ${SCHEMA_VERSION}: start the engine once to migrate it`
          : `The engine database ${file} has schema version ${version}, newer than ${SCHEMA_VERSION} which this Switchboard knows: upgrade Switchboard`,
      );
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Runs `body` in one transaction, committed when it returns and rolled back when it throws.
 * IMMEDIATE takes the write lock up front, so a read-then-write body (claimStep) cannot interleave
 * with another connection's write between its read and its write.
 */
export function inTransaction<T>(db: DatabaseSync, body: () => T): T {
  // Inside a transaction already (the engine commits a batch per event-loop turn): a savepoint keeps
  // this body all-or-nothing within it.
  if (db.isTransaction) return inSavepoint(db, body);
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = body();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

function inSavepoint<T>(db: DatabaseSync, body: () => T): T {
  db.exec('SAVEPOINT nested');
  try {
    const result = body();
    db.exec('RELEASE nested');
    return result;
  } catch (error) {
    // SQLite may have rolled the whole transaction back (SQLITE_FULL, RAISE(ROLLBACK)): the savepoint
    // is gone with it, and the caller must see the error that did it.
    if (db.isTransaction) {
      db.exec('ROLLBACK TO nested');
      db.exec('RELEASE nested');
    }
    throw error;
  }
}

/** Runs `body` in a read transaction, so several SELECTs see one snapshot while another connection writes. */
export function inReadTransaction<T>(db: DatabaseSync, body: () => T): T {
  if (db.isTransaction) return body();
  db.exec('BEGIN DEFERRED');
  try {
    return body();
  } finally {
    if (db.isTransaction) db.exec('COMMIT');
  }
}

function migrate(db: DatabaseSync, location: string): void {
  inTransaction(db, () => {
    const version = schemaVersion(db);
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `The engine database ${location} has schema version ${version}, newer than ${SCHEMA_VERSION} which this Switchboard knows: upgrade Switchboard`,
      );
    }
    for (const [index, sql] of MIGRATIONS.entries()) {
      if (index >= version) db.exec(sql);
    }
    // PRAGMA takes no bound parameters; SCHEMA_VERSION is a number of our own.
    if (version < SCHEMA_VERSION) db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  });
}

/** Applies READ_OLDER from `version` up to the current schema; false (changing nothing) when one is missing. */
function readsAsCurrent(db: DatabaseSync, version: number): boolean {
  const steps: string[] = [];
  for (let from = version; from < SCHEMA_VERSION; from++) {
    const step = READ_OLDER[from];
    if (step === undefined) return false;
    steps.push(step);
  }
  for (const step of steps) db.exec(step);
  return true;
}

function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get();
  return Number(row?.user_version ?? 0);
}
