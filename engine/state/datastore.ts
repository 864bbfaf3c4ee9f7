import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { changes, json, type Row, text, toJson } from './rows.ts';

export interface DatastoreEntry {
  key: string;
  value: unknown;
  updatedAt: string;
}

/** Flyte's datastore: JSON values by key, read by the `datastore('key')` template function. */
export class Datastore {
  readonly #now: () => Date;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #delete: StatementSync;
  readonly #list: StatementSync;

  constructor(db: DatabaseSync, now: () => Date) {
    this.#now = now;
    this.#get = db.prepare('SELECT value FROM datastore WHERE key = ?');
    this.#set = db.prepare(
      `INSERT INTO datastore (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.#delete = db.prepare('DELETE FROM datastore WHERE key = ?');
    this.#list = db.prepare('SELECT key, value, updated_at FROM datastore ORDER BY key');
  }

  get(key: string): unknown {
    const row = this.#get.get(key);
    return row === undefined ? undefined : json(row, 'value');
  }

  set(key: string, value: unknown): void {
    this.#set.run(
      key,
      toJson(value, `the datastore value of ${JSON.stringify(key)}`),
      this.#now().toISOString(),
    );
  }

  delete(key: string): boolean {
    return changes(this.#delete.run(key)) > 0;
  }

  list(): DatastoreEntry[] {
    return this.#list.all().map((row: Row) => ({
      key: text(row, 'key'),
      value: json(row, 'value'),
      updatedAt: text(row, 'updated_at'),
    }));
  }
}
