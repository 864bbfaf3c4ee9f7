import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Envelope } from '../../shared/envelope.ts';
import { inTransaction } from './database.ts';
import {
  changes,
  epochMs,
  integer,
  json,
  optionalInteger,
  optionalJson,
  optionalText,
  type Row,
  text,
  toJson,
} from './rows.ts';

export type ExecutionStatus = 'pending' | 'succeeded' | 'failed' | 'timed_out';

/** Every status, in the order a listing explains them. */
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['pending', 'succeeded', 'failed', 'timed_out'];

/** One fired step: the command it sent and, once it finished, how. The audit of a flow instance. */
export interface Execution {
  /** The command envelope's id (one execution per fired step). */
  id: string;
  /** The flow instance. */
  correlationId: string;
  flowName: string;
  flowVersion: string;
  /** The step's id, or `#<index>` when it has none. */
  stepId: string;
  /** The event that fired the step. */
  triggerEvent: Envelope;
  /** The rendered command as published. */
  command: Envelope;
  resultEvent?: Envelope;
  status: ExecutionStatus;
  /** Failure reason (from the result's payload.error, or 'no result within N s'). */
  error?: string;
  /** RFC 3339. */
  startedAt: string;
  /** RFC 3339. */
  finishedAt?: string;
  durationMs?: number;
  /** Run again: the id of the execution this one runs again. */
  retryOf?: string;
  /** Run again: the id of the execution that ran this one again. */
  retriedBy?: string;
}

export type NewExecution = Omit<
  Execution,
  'status' | 'finishedAt' | 'durationMs' | 'resultEvent' | 'error' | 'retryOf' | 'retriedBy'
>;

/** A retry to record: the new command (a new id) and when it was sent. */
export interface NewRetry {
  command: Envelope;
  /** RFC 3339. */
  startedAt: string;
}

/** Why an execution cannot be run again. */
export type RetryRefusal =
  /** No execution has that id (never, or pruned). */
  | 'unknown'
  /** Only a failed or timed-out execution is run again. */
  | 'not_failed'
  /** It was run again already: its retry is the one to run again, if that fails too. */
  | 'retried_already'
  /** Its step failed to render: no command was ever sent, so there is nothing to send again. */
  | 'never_sent';

export type RetryOutcome =
  | { recorded: Execution; of: Execution }
  | { refused: RetryRefusal; execution: Execution | undefined };

export interface ExecutionFilter {
  /** Only executions of this flow (by name). */
  flow?: string;
  status?: ExecutionStatus;
  /** Only executions started at or after this time. */
  since?: Date;
  /** At most this many. Default: 50. */
  limit?: number;
  /** Continue after the page that gave this `nextCursor`. */
  cursor?: string;
}

/** One page of a listing, newest first; `nextCursor` continues it and is absent on the last page. */
export interface ExecutionPage {
  executions: Execution[];
  nextCursor?: string;
}

const DEFAULT_LIST_LIMIT = 50;

/** How often one step of a flow fired, and how many of those failed (failed or timed out). */
export interface StepCount {
  stepId: string;
  fired: number;
  failed: number;
}

const COLUMNS = `id, correlation_id, flow_name, flow_version, step_id, trigger_event, command, result_event,
  status, error, started_at, finished_at, duration_ms, retry_of, retried_by`;

// Ties on the start time (same millisecond) are broken by rowid, which follows insertion.
const NEWEST_FIRST = 'ORDER BY started_ms DESC, rowid DESC';

/** A place in the executions ordered by (started_ms, rowid), oldest first. */
interface Position {
  ms: number;
  rowid: number;
}

/** How far retention has gone: it deletes after `after` up to `until`, both in (started_ms, rowid) order. */
export interface PruneCursor {
  /** Exclusive. */
  after: Position;
  /** Inclusive. */
  until: Position;
}

const BEFORE_EVERYTHING: Position = { ms: Number.MIN_SAFE_INTEGER, rowid: 0 };

export class Executions {
  readonly #db: DatabaseSync;
  readonly #now: () => Date;
  #insert: StatementSync | undefined;
  readonly #complete: StatementSync;
  readonly #timeOut: StatementSync;
  readonly #fail: StatementSync;
  readonly #get: StatementSync;
  readonly #ofInstance: StatementSync;
  readonly #stepCounts: StatementSync;
  /** One statement per combination of filters, so that each can use its index. */
  readonly #list: ReadonlyMap<string, StatementSync>;
  readonly #linkRetry: StatementSync;
  readonly #deletePendingRetry: StatementSync;
  readonly #unlinkRetry: StatementSync;
  readonly #rowidSpan: StatementSync;
  readonly #beyondNewest: StatementSync;
  readonly #windowEnd: StatementSync;
  readonly #deleteFinished: StatementSync;

  constructor(db: DatabaseSync, now: () => Date) {
    this.#db = db;
    this.#now = now;
    this.#complete = db.prepare(
      `UPDATE executions
       SET status = :status, result_event = :resultEvent, error = :error,
         finished_at = :finishedAt, duration_ms = MAX(0, :finishedMs - started_ms)
       WHERE id = :id AND status = 'pending'
       RETURNING ${COLUMNS}`,
    );
    this.#fail = db.prepare(
      `UPDATE executions
       SET status = 'failed', error = :error, finished_at = :finishedAt,
         duration_ms = MAX(0, :finishedMs - started_ms)
       WHERE id = :id AND status = 'pending'`,
    );
    this.#timeOut = db.prepare(
      `UPDATE executions
       SET status = 'timed_out', error = :error, finished_at = :finishedAt,
         duration_ms = MAX(0, :finishedMs - started_ms)
       WHERE status = 'pending' AND started_ms < :cutoffMs
       RETURNING ${COLUMNS}, started_ms, rowid`,
    );
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM executions WHERE id = ?`);
    this.#ofInstance = db.prepare(
      `SELECT ${COLUMNS} FROM executions WHERE correlation_id = ? ORDER BY started_ms, rowid`,
    );
    this.#stepCounts = db.prepare(
      `SELECT step_id, count(*) AS fired, sum(status IN ('failed', 'timed_out')) AS failed
       FROM executions WHERE flow_name = ? GROUP BY step_id ORDER BY step_id`,
    );
    const list = new Map<string, StatementSync>();
    for (const byFlow of [false, true]) {
      for (const byStatus of [false, true]) {
        // Keyset paging: the rows before (beforeMs, beforeRowid) in NEWEST_FIRST order, spelled so that
        // SQLite searches the started_ms range of executions_by_started/_flow/_status (rowid is in
        // every index). The first page starts before everything.
        const where = [
          'started_ms >= :sinceMs',
          'started_ms <= :beforeMs AND (started_ms < :beforeMs OR rowid < :beforeRowid)',
        ];
        if (byFlow) where.push('flow_name = :flow');
        if (byStatus) where.push('status = :status');
        list.set(
          listKey(byFlow, byStatus),
          db.prepare(
            `SELECT ${COLUMNS}, started_ms, rowid FROM executions WHERE ${where.join(' AND ')}
             ${NEWEST_FIRST} LIMIT :limit`,
          ),
        );
      }
    }
    this.#list = list;
    this.#linkRetry = db.prepare(
      'UPDATE executions SET retried_by = :retryId WHERE id = :id AND retried_by IS NULL',
    );
    this.#deletePendingRetry = db.prepare(
      `DELETE FROM executions WHERE id = ? AND status = 'pending' AND retry_of IS NOT NULL
       RETURNING retry_of`,
    );
    this.#unlinkRetry = db.prepare(
      'UPDATE executions SET retried_by = NULL WHERE id = :id AND retried_by = :retryId',
    );
    this.#rowidSpan = db.prepare(
      'SELECT (SELECT min(rowid) FROM executions) AS low, (SELECT max(rowid) FROM executions) AS high',
    );
    this.#beyondNewest = db.prepare(
      `SELECT started_ms, rowid FROM executions ${NEWEST_FIRST} LIMIT 1 OFFSET ?`,
    );
    // (started_ms, rowid) comparisons spelled so that SQLite searches executions_by_started for them.
    const after = 'started_ms >= :afterMs AND (started_ms > :afterMs OR rowid > :afterRowid)';
    this.#windowEnd = db.prepare(
      `SELECT started_ms, rowid FROM executions WHERE ${after} ORDER BY started_ms, rowid LIMIT 1 OFFSET :skip`,
    );
    this.#deleteFinished = db.prepare(
      `DELETE FROM executions
       WHERE ${after} AND started_ms <= :untilMs AND (started_ms < :untilMs OR rowid <= :untilRowid)
         AND status != 'pending'
         AND NOT EXISTS (SELECT 1 FROM executions AS waiting
           WHERE waiting.correlation_id = executions.correlation_id AND waiting.status = 'pending')`,
    );
  }

  /** Records a fired step as pending; fails when an execution with that id is recorded already. */
  record(execution: NewExecution, retryOf?: string): void {
    // Prepared on first use: a read-only handle on an older schema reads executions through a view,
    // which cannot take this upsert (database.ts, READ_OLDER).
    this.#insert ??= this.#db.prepare(
      `INSERT INTO executions (id, correlation_id, flow_name, flow_version, step_id, trigger_event, command,
         status, started_at, started_ms, retry_of)
       VALUES (:id, :correlationId, :flowName, :flowVersion, :stepId, :triggerEvent, :command,
         'pending', :startedAt, :startedMs, :retryOf)
       ON CONFLICT (id) DO NOTHING`,
    );
    const inserted = this.#insert.run({
      id: execution.id,
      correlationId: execution.correlationId,
      flowName: execution.flowName,
      flowVersion: execution.flowVersion,
      stepId: execution.stepId,
      triggerEvent: toJson(execution.triggerEvent, 'the trigger event'),
      command: toJson(execution.command, 'the command'),
      startedAt: execution.startedAt,
      startedMs: epochMs(execution.startedAt, 'startedAt'),
      retryOf: retryOf ?? null,
    });
    if (changes(inserted) === 0) throw new Error(`Execution ${execution.id} is recorded already`);
  }

  /**
   * Records `retry` as a new pending execution of the same instance and step as the execution `id`,
   * linking both ways, when that one failed or timed out and was not run again yet. Atomic, and the
   * link is set only where none is, so two requests for the same retry record one.
   */
  recordRetry(id: string, retry: NewRetry): RetryOutcome {
    return inTransaction(this.#db, () => {
      const original = this.get(id);
      const refused = original === undefined ? 'unknown' : retryRefusal(original);
      if (refused !== undefined) return { refused, execution: original };
      const of = original as Execution;
      if (changes(this.#linkRetry.run({ id, retryId: retry.command.id })) === 0) {
        return { refused: 'retried_already', execution: of };
      }
      this.record(
        {
          id: retry.command.id,
          correlationId: of.correlationId,
          flowName: of.flowName,
          flowVersion: of.flowVersion,
          stepId: of.stepId,
          triggerEvent: of.triggerEvent,
          command: retry.command,
          startedAt: retry.startedAt,
        },
        id,
      );
      return { recorded: this.get(retry.command.id) as Execution, of: this.get(id) as Execution };
    });
  }

  /**
   * Takes back a retry whose command could not be published: deletes it while it is still pending and
   * unlinks the execution it ran again, which can then be run again. False when there was no such retry.
   */
  forgetRetry(retryId: string): boolean {
    return inTransaction(this.#db, () => {
      const row = this.#deletePendingRetry.get(retryId);
      if (row === undefined) return false;
      this.#unlinkRetry.run({ id: text(row, 'retry_of'), retryId });
      return true;
    });
  }

  /** Marks a pending execution failed without a result (its step could not be rendered). */
  fail(id: string, error: string): void {
    const finished = this.#now();
    this.#fail.run({ id, error, finishedAt: finished.toISOString(), finishedMs: finished.getTime() });
  }

  complete(
    commandId: string,
    result: Envelope,
    status: 'succeeded' | 'failed',
    error?: string,
  ): Execution | undefined {
    const now = this.#now();
    const row = this.#complete.get({
      id: commandId,
      status,
      resultEvent: toJson(result, 'the result event'),
      error: error ?? null,
      finishedAt: now.toISOString(),
      finishedMs: now.getTime(),
    });
    return row === undefined ? undefined : toExecution(row);
  }

  /** Oldest first. */
  timeOutPending(timeoutMs: number, now: Date): Execution[] {
    if (!(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(`timeoutMs must be a finite number of 0 or more, not ${timeoutMs}`);
    }
    const rows = this.#timeOut.all({
      error: `no result within ${timeoutMs / 1000} s`,
      finishedAt: now.toISOString(),
      finishedMs: now.getTime(),
      cutoffMs: now.getTime() - timeoutMs,
    });
    // RETURNING gives rows in no promised order.
    rows.sort(
      (a, b) =>
        integer(a, 'started_ms') - integer(b, 'started_ms') || integer(a, 'rowid') - integer(b, 'rowid'),
    );
    return rows.map(toExecution);
  }

  get(id: string): Execution | undefined {
    const row = this.#get.get(id);
    return row === undefined ? undefined : toExecution(row);
  }

  /** Newest first. */
  list(filter: ExecutionFilter): Execution[] {
    return this.page(filter).executions;
  }

  /** Newest first, a page at a time: `filter.cursor` continues after an earlier page. */
  page(filter: ExecutionFilter): ExecutionPage {
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a whole number of 0 or more, not ${limit}`);
    }
    const sinceMs = filter.since === undefined ? Number.MIN_SAFE_INTEGER : filter.since.getTime();
    if (Number.isNaN(sinceMs)) throw new RangeError('since is an invalid Date');
    let before: Position = { ms: Number.MAX_SAFE_INTEGER, rowid: Number.MAX_SAFE_INTEGER };
    if (filter.cursor !== undefined) {
      const decoded = decodeCursor(filter.cursor);
      if (decoded === undefined) {
        throw new RangeError(`cursor ${JSON.stringify(filter.cursor)} is not one a listing gave`);
      }
      before = decoded;
    }
    const byFlow = filter.flow !== undefined;
    const byStatus = filter.status !== undefined;
    const statement = this.#list.get(listKey(byFlow, byStatus)) as StatementSync;
    // One row more than asked: whether it exists says whether there is a next page.
    const parameters: Record<string, string | number> = {
      sinceMs,
      beforeMs: before.ms,
      beforeRowid: before.rowid,
      limit: limit + 1,
    };
    if (filter.flow !== undefined) parameters.flow = filter.flow;
    if (filter.status !== undefined) parameters.status = filter.status;
    const rows = statement.all(parameters);
    const page: ExecutionPage = { executions: rows.slice(0, limit).map(toExecution) };
    const last = rows[limit - 1];
    if (rows.length > limit && last !== undefined) page.nextCursor = encodeCursor(position(last));
    return page;
  }

  /** Oldest first. */
  ofInstance(correlationId: string): Execution[] {
    return this.#ofInstance.all(correlationId).map(toExecution);
  }

  /** Per step of the flow, over the executions still kept (retention removes old ones). */
  stepCounts(flowName: string): StepCount[] {
    return this.#stepCounts.all(flowName).map((row) => ({
      stepId: text(row, 'step_id'),
      fired: integer(row, 'fired'),
      failed: integer(row, 'failed'),
    }));
  }

  /** Where retention starts: what started before `cutoffMs`, and what is beyond the newest `keep`, may go if finished. */
  pruneStart(cutoffMs: number, keep: number): PruneCursor {
    // started_ms is whole milliseconds: started_ms < cutoffMs is started_ms <= ceil(cutoffMs) - 1.
    let until: Position = { ms: Math.ceil(cutoffMs) - 1, rowid: Number.MAX_SAFE_INTEGER };
    const beyond = this.#beyondNewestPosition(keep);
    if (beyond !== undefined && isBefore(until, beyond)) until = beyond;
    return { after: BEFORE_EVERYTHING, until };
  }

  /**
   * Deletes the finished executions among the next `limit` of the cursor's range, keeping pending ones
   * and those of instances that still have one pending; returns how many went and where to go on
   * (undefined: the range is done).
   */
  deleteFinished(cursor: PruneCursor, limit: number): { deleted: number; next: PruneCursor | undefined } {
    const { after, until } = cursor;
    const window = this.#windowEnd.get({ afterMs: after.ms, afterRowid: after.rowid, skip: limit - 1 });
    const windowEnd = window === undefined ? undefined : position(window);
    const end = windowEnd !== undefined && isBefore(windowEnd, until) ? windowEnd : until;
    const deleted = changes(
      this.#deleteFinished.run({
        afterMs: after.ms,
        afterRowid: after.rowid,
        untilMs: end.ms,
        untilRowid: end.rowid,
      }),
    );
    return { deleted, next: end === until ? undefined : { after: end, until } };
  }

  /** The newest execution beyond the newest `keep`, if there are more than `keep`. */
  #beyondNewestPosition(keep: number): Position | undefined {
    // Cheap bound first: rowids are unique, so there are no more rows than their span. Saves walking
    // `keep` index entries on every sweep while the history is below the limit.
    const span = this.#rowidSpan.get() as Row;
    if (span.low === null || integer(span, 'high') - integer(span, 'low') + 1 <= keep) return undefined;
    const row = this.#beyondNewest.get(keep);
    return row === undefined ? undefined : position(row);
  }
}

function position(row: Row): Position {
  return { ms: integer(row, 'started_ms'), rowid: integer(row, 'rowid') };
}

function isBefore(a: Position, b: Position): boolean {
  return a.ms < b.ms || (a.ms === b.ms && a.rowid < b.rowid);
}

/** Whether a listing gave this cursor (one of its pages' nextCursor). */
export function isExecutionCursor(cursor: string): boolean {
  return decodeCursor(cursor) !== undefined;
}

// A cursor is the last row's place, opaque to callers so that it may change: base64url of "ms.rowid".
function encodeCursor(place: Position): string {
  return Buffer.from(`${place.ms}.${place.rowid}`).toString('base64url');
}

function decodeCursor(cursor: string): Position | undefined {
  const match = /^(-?\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const place = { ms: Number(match[1]), rowid: Number(match[2]) };
  // Only what encodeCursor writes: base64url decoding ignores stray characters.
  if (!Number.isSafeInteger(place.ms) || !Number.isSafeInteger(place.rowid)) return undefined;
  return encodeCursor(place) === cursor ? place : undefined;
}

/** Why `execution` cannot be run again, or undefined when it can (recordRetry applies the same rule). */
export function retryRefusal(execution: Execution): RetryRefusal | undefined {
  if (execution.status !== 'failed' && execution.status !== 'timed_out') return 'not_failed';
  if (execution.retriedBy !== undefined) return 'retried_already';
  // A failed execution without a result is a step whose templates failed (Executions.fail): its
  // command was recorded for the audit but never published, and has no payload to send.
  if (execution.status === 'failed' && execution.resultEvent === undefined) return 'never_sent';
  return undefined;
}

/**
 * `since` as `switchboard executions` and the console take it: a time (RFC 3339), or a duration back
 * from `now`: 30s, 15m, 2h, 7d. Undefined when it is neither, for the caller to say so in its terms.
 */
export function parseSince(text: string, now: Date = new Date()): Date | undefined {
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    const date = new Date(now.getTime() - Number(relative[1]) * unit);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function listKey(byFlow: boolean, byStatus: boolean): string {
  return `${byFlow ? 'flow' : ''}/${byStatus ? 'status' : ''}`;
}

function toExecution(row: Row): Execution {
  const execution: Execution = {
    id: text(row, 'id'),
    correlationId: text(row, 'correlation_id'),
    flowName: text(row, 'flow_name'),
    flowVersion: text(row, 'flow_version'),
    stepId: text(row, 'step_id'),
    triggerEvent: json<Envelope>(row, 'trigger_event'),
    command: json<Envelope>(row, 'command'),
    status: text(row, 'status') as ExecutionStatus,
    startedAt: text(row, 'started_at'),
  };
  // Absent rather than undefined, so that an execution compares equal to what was recorded.
  const resultEvent = optionalJson<Envelope>(row, 'result_event');
  if (resultEvent !== undefined) execution.resultEvent = resultEvent;
  const error = optionalText(row, 'error');
  if (error !== undefined) execution.error = error;
  const finishedAt = optionalText(row, 'finished_at');
  if (finishedAt !== undefined) execution.finishedAt = finishedAt;
  const durationMs = optionalInteger(row, 'duration_ms');
  if (durationMs !== undefined) execution.durationMs = durationMs;
  const retryOf = optionalText(row, 'retry_of');
  if (retryOf !== undefined) execution.retryOf = retryOf;
  const retriedBy = optionalText(row, 'retried_by');
  if (retriedBy !== undefined) execution.retriedBy = retriedBy;
  return execution;
}
