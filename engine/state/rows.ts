import type { SQLOutputValue } from 'node:sqlite';

/** A row as node:sqlite returns it: a null-prototype object; integers as number or bigint. */
export type Row = Record<string, SQLOutputValue>;

/**
 * Reading columns out of rows, checking their type so that a schema mistake fails loudly here
 * rather than as an odd value far away.
 */
export function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new TypeError(`column ${column} is ${describe(value)}, not text`);
  return value;
}

export function optionalText(row: Row, column: string): string | undefined {
  return row[column] === null ? undefined : text(row, column);
}

/** Integers come back as bigint when a statement reads big ints; ours all fit in a double. */
export function integer(row: Row, column: string): number {
  const value = row[column];
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value);
  throw new TypeError(`column ${column} is ${describe(value)}, not an integer`);
}

export function optionalInteger(row: Row, column: string): number | undefined {
  return row[column] === null ? undefined : integer(row, column);
}

export function json<T>(row: Row, column: string): T {
  return JSON.parse(text(row, column)) as T;
}

export function optionalJson<T>(row: Row, column: string): T | undefined {
  return row[column] === null ? undefined : json<T>(row, column);
}

/** The count of rows a statement changed, as a number. */
export function changes(result: { changes: number | bigint }): number {
  return Number(result.changes);
}

/** JSON text for a column; refuses what JSON cannot hold instead of storing `undefined`. */
export function toJson(value: unknown, what: string): string {
  const encoded = JSON.stringify(value);
  if (encoded === undefined) throw new TypeError(`${what} is not a JSON value (got ${typeof value})`);
  return encoded;
}

/** Epoch milliseconds of an RFC 3339 time, refusing what does not parse. */
export function epochMs(time: string, what: string): number {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) throw new RangeError(`${what} is not an RFC 3339 time: ${JSON.stringify(time)}`);
  return ms;
}

function describe(value: SQLOutputValue | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'NULL';
  return value instanceof Uint8Array ? 'a blob' : typeof value;
}
