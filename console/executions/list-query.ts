import {
  EXECUTION_STATUSES,
  type ExecutionFilter,
  type ExecutionStatus,
  isExecutionCursor,
  parseSince,
} from '../../engine/state/engine-store.ts';
import type { Refusal } from '../http-guard.ts';

/** A page holds 50 executions unless `limit` says otherwise, and never more than this. */
export const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

const PARAMETERS = ['flow', 'status', 'since', 'limit', 'cursor'] as const;

/**
 * The filters of GET /api/executions, those of `switchboard executions`: flow, status, since (an RFC 3339
 * time or a duration back from now), limit, and cursor (a page's nextCursor). An empty value is as if
 * absent, as an HTML form sends one. Throws a 400 Refusal naming the parameter that is wrong.
 */
export function parseListQuery(query: URLSearchParams, now: Date = new Date()): ExecutionFilter {
  for (const name of new Set(query.keys())) {
    if (!(PARAMETERS as readonly string[]).includes(name)) {
      throw invalid(`unknown parameter ${name}: the filters are ${PARAMETERS.join(', ')}`);
    }
    if (query.getAll(name).length > 1) throw invalid(`give ${name} once`);
  }
  const value = (name: (typeof PARAMETERS)[number]) => query.get(name)?.trim() || undefined;
  const filter: ExecutionFilter = { limit: DEFAULT_PAGE_SIZE };
  const flow = value('flow');
  if (flow !== undefined) filter.flow = flow;
  const status = value('status');
  if (status !== undefined) {
    if (!EXECUTION_STATUSES.includes(status as ExecutionStatus)) {
      throw invalid(`status takes ${EXECUTION_STATUSES.join(', ')}, not ${JSON.stringify(status)}`);
    }
    filter.status = status as ExecutionStatus;
  }
  const since = value('since');
  if (since !== undefined) {
    const date = parseSince(since, now);
    if (date === undefined) {
      throw invalid(
        `since takes an RFC 3339 time or a duration like 30s, 15m, 2h or 7d, not ${JSON.stringify(since)}`,
      );
    }
    filter.since = date;
  }
  const limit = value('limit');
  if (limit !== undefined) {
    const count = /^\d{1,6}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(count >= 1 && count <= MAX_PAGE_SIZE)) {
      throw invalid(`limit takes a whole number from 1 to ${MAX_PAGE_SIZE}, not ${JSON.stringify(limit)}`);
    }
    filter.limit = count;
  }
  const cursor = value('cursor');
  if (cursor !== undefined) {
    if (!isExecutionCursor(cursor)) {
      throw invalid('cursor must be the nextCursor of an earlier page, unchanged');
    }
    filter.cursor = cursor;
  }
  return filter;
}

function invalid(message: string): Refusal {
  return { status: 400, code: 'invalid_parameter', message };
}
