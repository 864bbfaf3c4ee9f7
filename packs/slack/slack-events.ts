import type { App } from '@slack/bolt';
import type { PackContext } from '../../shared/runtime/pack-definition.ts';
import type { JoinedChannels } from './joined-channels.ts';
import type { UserDirectory } from './user-directory.ts';

/** Who the bot is, so that its own messages are never emitted (no echo loops). */
export interface BotIdentity {
  userId: string;
  botId: string | undefined;
}

interface MessageEvent {
  type: 'message';
  subtype?: string;
  channel: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
}

/** Message subtypes that are someone saying something; edits, deletions, joins and bot posts are not. */
const SPOKEN_SUBTYPES = new Set([undefined, 'thread_broadcast', 'file_share', 'me_message']);

export const SLACK_EVENTS = {
  ReceivedMessage: {
    description:
      'A message in a joined channel or a direct message: {channelId, user{id,name,email,title,firstName,lastName}, message, timestamp, threadTimestamp}.',
  },
  ReactionAdded: { description: 'A reaction to a message: {user, reaction, channelId, messageTimestamp}.' },
};

/** Turns what Slack sends into the pack's events, and keeps the joined-channels record up to date. */
export function listenToSlack(
  app: App,
  options: { context: PackContext; bot: BotIdentity; users: UserDirectory; joined: JoinedChannels },
): void {
  const { context, bot, users, joined } = options;

  // Slack sends an event again when its ack was lost; the same event_id gives the same event id on the bus.
  const observed = (body: { event_id?: string }) => (body.event_id ? { dedupeKey: body.event_id } : {});

  app.event('message', async ({ event, body }) => {
    const message = event as unknown as MessageEvent;
    if (!SPOKEN_SUBTYPES.has(message.subtype) || !message.user) return;
    if (message.user === bot.userId || (bot.botId && message.bot_id === bot.botId)) return;
    await context.emit(
      'ReceivedMessage',
      {
        channelId: message.channel,
        user: await users.lookup(message.user),
        message: message.text ?? '',
        timestamp: message.ts,
        threadTimestamp: message.thread_ts ?? '',
      },
      observed(body),
    );
  });

  app.event('reaction_added', async ({ event, body }) => {
    const item = event.item as { channel?: string; ts?: string };
    await context.emit(
      'ReactionAdded',
      {
        user: event.user,
        reaction: event.reaction,
        channelId: item.channel ?? '',
        messageTimestamp: item.ts ?? '',
      },
      observed(body),
    );
  });

  // Invited in by someone: the channel becomes one of the pack's (Broadcast reaches it).
  app.event('member_joined_channel', async ({ event }) => {
    if (event.user === bot.userId) await joined.add(event.channel);
  });
  app.event('member_left_channel', async ({ event }) => {
    if (event.user === bot.userId) await joined.remove(event.channel);
  });
  app.event('channel_left', async ({ event }) => {
    await joined.remove(event.channel);
  });
  app.event('group_left', async ({ event }) => {
    await joined.remove(event.channel);
  });
}
