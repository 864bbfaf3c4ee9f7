import type { MessageKind } from '../../shared/envelope.ts';
import type { TappedMessage } from '../bus-tap.ts';
import type { Refusal } from '../http-guard.ts';

/** What GET /api/events keeps: each field given must equal the envelope's (all of them, when several). */
export interface LiveFilter {
  pack?: string;
  name?: string;
  correlationId?: string;
  kind?: MessageKind;
}

const FILTER_NAMES = ['pack', 'name', 'correlationId', 'kind'] as const;
const KINDS: readonly string[] = ['event', 'command'] satisfies MessageKind[];

/**
 * Reads the filters from the query. An empty value is no filter (a form sends its empty fields). Unknown
 * and repeated parameters are refused rather than ignored: a mistyped `correlation_id` would otherwise
 * show every message and look like a filter that does not work.
 */
export function parseLiveFilter(query: URLSearchParams): LiveFilter {
  const filter: LiveFilter = {};
  for (const key of new Set(query.keys())) {
    if (!(FILTER_NAMES as readonly string[]).includes(key)) {
      throw badFilter(
        'unknown_filter',
        `unknown filter ${quote(key)}: the filters are ${FILTER_NAMES.join(', ')}`,
      );
    }
    const values = query.getAll(key);
    if (values.length > 1) throw badFilter('repeated_filter', `give ${key} once, not ${values.length} times`);
  }
  for (const key of FILTER_NAMES) {
    const value = query.get(key);
    if (!value) continue;
    if (key === 'kind') {
      if (!KINDS.includes(value)) {
        throw badFilter('invalid_filter', `kind is event or command, not ${quote(value)}`);
      }
      filter.kind = value as MessageKind;
    } else filter[key] = value;
  }
  return filter;
}

export function matchesLiveFilter(filter: LiveFilter, { envelope }: TappedMessage): boolean {
  return (
    (filter.pack === undefined || envelope.pack === filter.pack) &&
    (filter.name === undefined || envelope.name === filter.name) &&
    (filter.correlationId === undefined || envelope.correlationId === filter.correlationId) &&
    (filter.kind === undefined || envelope.kind === filter.kind)
  );
}

function badFilter(code: string, message: string): Refusal {
  return { status: 400, code, message };
}

/** A value from the query, shortened: an error message must stay readable whatever was sent. */
function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}
