// Messages by people, so a channel's history is not only the bot's, and the `message` events Slack sends
// for them (https://docs.slack.dev/reference/events/message). Recording a message and sending its event are
// separate steps, as they are two separate things a test may want to control (or to break).

import { randomUUID } from 'node:crypto';
import type { SlackState } from './state.ts';

export interface HumanPost {
  /** Channel id, name or #name. */
  readonly channel: string;
  /** The author's user id; need not have been added with addUser. */
  readonly user: string;
  readonly text: string;
  /** Posts as a reply in this thread, whose parent must be in the channel. Default: top level. */
  readonly thread_ts?: string;
}

/** Records the message in the channel's history and returns its ts. Throws for an unknown channel or thread. */
export function postAsUser(state: SlackState, post: HumanPost): string {
  const channel = state.findChannel(post.channel);
  if (!channel) throw new Error(`fake Slack: postAsUser: no channel ${post.channel}`);
  const parent = post.thread_ts ? state.history(channel.id).find((m) => m.ts === post.thread_ts) : undefined;
  if (post.thread_ts && !parent)
    throw new Error(`fake Slack: postAsUser: no message ${post.thread_ts} in ${post.channel} to reply to`);
  const ts = state.nextTs();
  const message = {
    type: 'message',
    client_msg_id: randomUUID(),
    user: post.user,
    team: state.bot.teamId,
    text: post.text,
    ts,
    ...(parent ? { thread_ts: parent.ts, parent_user_id: parent.message.user } : {}),
  };
  state.record({
    channel: channel.id,
    ts,
    threadTs: parent?.ts,
    broadcast: false,
    message,
    metadata: undefined,
  });
  return ts;
}

/** The `message` event Slack sends for a message in a channel's history. Throws when there is none. */
export function messageEvent(state: SlackState, channelId: string, ts: string): Record<string, unknown> {
  const channel = state.findChannel(channelId);
  const stored = channel && state.history(channel.id).find((m) => m.ts === ts);
  if (!channel || !stored) throw new Error(`fake Slack: no message ${ts} in ${channelId}`);
  return {
    ...stored.message,
    channel: channel.id,
    event_ts: ts,
    channel_type: channel.isPrivate ? 'group' : 'channel',
  };
}
