import type { WebClient } from '@slack/web-api';

/**
 * Slack has no idempotency key for chat.postMessage. Every post the pack makes carries the command's id
 * in Slack message metadata instead, so that a later run of the same command (redelivered after a crash,
 * or retried after an answer that never arrived) can find the message the first run posted and report it
 * rather than posting it a second time.
 */
export const COMMAND_METADATA_TYPE = 'switchboard_command';

/** How many history pages (200 messages each) are searched before the pack gives up and posts. */
const MAX_PAGES = 10;
/** Slack's clock and the sender's may disagree; the search starts this much before the command was made. */
const CLOCK_SKEW_MS = 10 * 60 * 1000;

export interface CommandMetadata {
  event_type: string;
  event_payload: { command_id: string };
}

export function commandMetadata(commandId: string): CommandMetadata {
  return { event_type: COMMAND_METADATA_TYPE, event_payload: { command_id: commandId } };
}

interface HistoryMessage {
  ts?: string;
  metadata?: { event_type?: string; event_payload?: { command_id?: unknown } };
}

export interface EarlierPostQuery {
  channel: string;
  /** The thread the command posts in, if any: replies are not in the channel's history. */
  threadTs?: string | undefined;
  commandId: string;
  /** When the command was made (its envelope's createdAt). */
  since: string;
}

export type EarlierPostSearch = { found: true; ts: string } | { found: false; complete: boolean };

/**
 * Searches the channel (or thread) for a message carrying the command's id, newest first. `complete`
 * is false when the search stopped at its page limit, so the caller knows the answer is a guess.
 * Errors are the SDK's, for the caller to classify.
 */
export async function findEarlierPost(web: WebClient, query: EarlierPostQuery): Promise<EarlierPostSearch> {
  const created = Date.parse(query.since);
  const oldestMs = Math.min(Number.isNaN(created) ? Date.now() : created, Date.now()) - CLOCK_SKEW_MS;
  const oldest = (oldestMs / 1000).toFixed(6);
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const request = {
      channel: query.channel,
      oldest,
      limit: 200,
      include_all_metadata: true,
      ...(cursor ? { cursor } : {}),
    };
    const answer = query.threadTs
      ? await web.conversations.replies({ ...request, ts: query.threadTs })
      : await web.conversations.history(request);
    const match = (answer.messages as HistoryMessage[] | undefined)?.find(
      (message) =>
        message.metadata?.event_type === COMMAND_METADATA_TYPE &&
        message.metadata.event_payload?.command_id === query.commandId,
    );
    if (match?.ts) return { found: true, ts: match.ts };
    cursor = answer.response_metadata?.next_cursor || undefined;
    if (!answer.has_more || !cursor) return { found: false, complete: true };
  }
  return { found: false, complete: false };
}
