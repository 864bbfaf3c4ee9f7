// conversations.history and conversations.replies (https://docs.slack.dev/reference/methods/conversations.history,
// .../conversations.replies): a channel's top-level messages newest first, or one thread oldest first, bounded
// by oldest/latest and paged with opaque cursors.

import { type Args, fail, flag, limitArg, ok, type Reply, str } from './reply.ts';
import type { SlackState, StoredMessage } from './state.ts';

const HISTORY_LIMIT = { fallback: 100, max: 999 };
const REPLIES_LIMIT = { fallback: 1000, max: 1000 };
const CURSOR_PREFIX = 'next_ts:';

export function conversationsHistory(args: Args, state: SlackState): Reply {
  const opened = openChannel(args, state);
  if ('error' in opened) return opened.error;
  const { all, bounds } = opened;
  // A thread reply stays out of the channel's timeline unless it was broadcast.
  const timeline = all.filter((m) => m.threadTs === undefined || m.threadTs === m.ts || m.broadcast);
  const newestFirst = timeline.filter((m) => bounds(m.ts)).reverse();
  const page = paged(newestFirst, args, HISTORY_LIMIT);
  if (!page) return fail('invalid_cursor');
  return ok({
    messages: page.items.map((m) => view(m, all, args)),
    has_more: page.hasMore,
    pin_count: 0,
    response_metadata: { next_cursor: page.nextCursor },
  });
}

export function conversationsReplies(args: Args, state: SlackState): Reply {
  const opened = openChannel(args, state);
  if ('error' in opened) return opened.error;
  const { all, bounds } = opened;
  const target = all.find((m) => m.ts === str(args, 'ts'));
  if (!target) return fail('thread_not_found');
  // A reply's ts stands for its whole thread.
  const rootTs = target.threadTs ?? target.ts;
  const root = all.find((m) => m.ts === rootTs);
  if (!root) return fail('thread_not_found');
  const replies = all.filter((m) => m.threadTs === rootTs && m.ts !== rootTs && bounds(m.ts));
  // The parent leads the first page whatever the bounds, as on Slack.
  const page = paged([root, ...replies], args, REPLIES_LIMIT);
  if (!page) return fail('invalid_cursor');
  return ok({
    messages: page.items.map((m) => view(m, all, args)),
    has_more: page.hasMore,
    response_metadata: { next_cursor: page.nextCursor },
  });
}

type Opened = { error: Reply } | { all: readonly StoredMessage[]; bounds: (ts: string) => boolean };

/** The checks both methods share: the channel, membership, and the oldest/latest window. */
function openChannel(args: Args, state: SlackState): Opened {
  const channel = state.visibleChannel(str(args, 'channel'));
  if (!channel) return { error: fail('channel_not_found') };
  if (!state.isBotMember(channel)) return { error: fail('not_in_channel') };
  const oldestArg = str(args, 'oldest');
  const latestArg = str(args, 'latest');
  const oldest = oldestArg === undefined ? undefined : tsMicros(oldestArg);
  const latest = latestArg === undefined ? undefined : tsMicros(latestArg);
  if (oldest === null) return { error: fail('invalid_ts_oldest') };
  if (latest === null) return { error: fail('invalid_ts_latest') };
  const inclusive = flag(args, 'inclusive') ?? false;
  const bounds = (ts: string): boolean => {
    const at = tsMicros(ts) ?? 0;
    if (oldest !== undefined && (inclusive ? at < oldest : at <= oldest)) return false;
    if (latest !== undefined && (inclusive ? at > latest : at >= latest)) return false;
    return true;
  };
  return { all: state.history(channel.id), bounds };
}

/** "1700000000.000100" (or "1700000000", "1700000000.5") as whole microseconds; null when not a timestamp. */
function tsMicros(ts: string): number | null {
  const match = /^(\d+)(?:\.(\d{1,6}))?$/.exec(ts.trim());
  if (!match) return null;
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}

interface Page {
  readonly items: readonly StoredMessage[];
  readonly hasMore: boolean;
  readonly nextCursor: string;
}

/** One page of `list` from the cursor on; undefined for a cursor that names no message in the list. */
function paged(
  list: readonly StoredMessage[],
  args: Args,
  limits: { fallback: number; max: number },
): Page | undefined {
  const limit = limitArg(args, limits.fallback, limits.max);
  let start = 0;
  const cursor = str(args, 'cursor');
  if (cursor) {
    const decoded = Buffer.from(cursor, 'base64').toString('utf8');
    const ts = decoded.startsWith(CURSOR_PREFIX) ? decoded.slice(CURSOR_PREFIX.length) : undefined;
    start = list.findIndex((m) => m.ts === ts);
    if (start < 0) return undefined;
  }
  const next = list[start + limit];
  return {
    items: list.slice(start, start + limit),
    hasMore: next !== undefined,
    nextCursor: next ? Buffer.from(`${CURSOR_PREFIX}${next.ts}`).toString('base64') : '',
  };
}

/** The message as these methods show it: thread counts on a parent, metadata only when asked for. */
function view(stored: StoredMessage, all: readonly StoredMessage[], args: Args): Record<string, unknown> {
  const replies = all.filter((m) => m.threadTs === stored.ts && m.ts !== stored.ts);
  const users = [...new Set(replies.map((m) => String(m.message.user)))];
  return {
    ...stored.message,
    ...(replies.length > 0
      ? {
          thread_ts: stored.ts,
          reply_count: replies.length,
          reply_users: users,
          reply_users_count: users.length,
          latest_reply: replies.at(-1)?.ts,
        }
      : {}),
    ...(flag(args, 'include_all_metadata') && stored.metadata !== undefined
      ? { metadata: stored.metadata }
      : {}),
  };
}
