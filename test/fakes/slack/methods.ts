// The Web API methods the fake serves, with Slack's answers and error codes
// (https://docs.slack.dev/reference/methods/<method>). Transport concerns (body parsing, auth, injected
// failures) live in web-api.ts; reading history lives in history.ts.

import { conversationsHistory, conversationsReplies } from './history.ts';
import type { RateLimiter } from './rate-limit.ts';
import { type Args, fail, flag, limitArg, ok, type Reply, str } from './reply.ts';
import type { SlackState } from './state.ts';

export type { Args, Reply } from './reply.ts';

export interface MethodContext {
  readonly args: Args;
  readonly state: SlackState;
  readonly postLimiter: RateLimiter;
  /** Issues a one-time Socket Mode URL (apps.connections.open). */
  readonly openSocket: () => string;
}

/** Which token a method takes: the bot token (xoxb-) or the app-level token (xapp-). */
export type TokenKind = 'bot' | 'app';

export interface MethodDef {
  readonly token: TokenKind;
  readonly handle: (ctx: MethodContext) => Reply;
}

/** chat.postMessage truncates nothing: text longer than this is refused with msg_too_long. */
export const MAX_TEXT_LENGTH = 40_000;
const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

/** Slack's two metadata errors: not an object at all, or an object without event_type / event_payload. */
function metadataError(metadata: unknown): string | undefined {
  if (metadata === undefined) return undefined;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    return 'invalid_metadata_format';
  const { event_type: type, event_payload: payload } = metadata as Record<string, unknown>;
  if (typeof type !== 'string' || typeof payload !== 'object' || payload === null)
    return 'invalid_metadata_schema';
  return undefined;
}

function chatPostMessage({ args, state, postLimiter }: MethodContext): Reply {
  const channel = state.findChannel(str(args, 'channel') ?? '');
  if (!channel) return fail('channel_not_found');
  if (channel.isArchived) return fail('is_archived');
  if (!state.isBotMember(channel)) return fail('not_in_channel');

  const text = str(args, 'text');
  if (args.blocks !== undefined && !Array.isArray(args.blocks)) return fail('invalid_blocks_format');
  if (args.attachments !== undefined && !Array.isArray(args.attachments)) return fail('invalid_attachments');
  const blocks = args.blocks as unknown[] | undefined;
  const attachments = args.attachments as unknown[] | undefined;
  if (!text && !blocks?.length && !attachments?.length) return fail('no_text');
  if (text && text.length > MAX_TEXT_LENGTH) return fail('msg_too_long');
  const metadata = args.metadata;
  const badMetadata = metadataError(metadata);
  if (badMetadata) return fail(badMetadata);

  const admission = postLimiter.take(`chat.postMessage:${channel.id}`);
  if (!admission.allowed) {
    return {
      status: 429,
      headers: { 'retry-after': String(admission.retryAfter) },
      body: { ok: false, error: 'ratelimited' },
    };
  }

  const ts = state.nextTs();
  const threadTs = str(args, 'thread_ts');
  const username = str(args, 'username');
  // Slack ignores reply_broadcast outside a thread.
  const broadcast = Boolean(threadTs && flag(args, 'reply_broadcast'));
  const { bot } = state;
  const message: Record<string, unknown> = {
    type: 'message',
    // A post with a custom username shows as a bot_message, as Slack does for overridden identities.
    ...(username ? { subtype: 'bot_message', username } : {}),
    ...(broadcast ? { subtype: 'thread_broadcast' } : {}),
    user: bot.userId,
    bot_id: bot.botId,
    app_id: bot.appId,
    team: bot.teamId,
    text: text ?? '',
    ts,
    ...(blocks ? { blocks } : {}),
    ...(attachments
      ? { attachments: attachments.map((a, i) => ({ id: i + 1, ...(a as Record<string, unknown>) })) }
      : {}),
    ...(threadTs ? { thread_ts: threadTs, parent_user_id: bot.userId } : {}),
  };
  state.addPost(
    {
      channel: channel.id,
      ts,
      text,
      blocks,
      attachments,
      thread_ts: threadTs,
      reply_broadcast: broadcast,
      metadata,
      args,
      message,
    },
    { channel: channel.id, ts, threadTs, broadcast, message, metadata },
  );
  return ok({ channel: channel.id, ts, message });
}

function conversationsJoin({ args, state }: MethodContext): Reply {
  const channel = state.visibleChannel(str(args, 'channel'));
  if (!channel) return fail('channel_not_found');
  if (channel.isArchived) return fail('is_archived');
  if (state.isBotMember(channel)) {
    return ok({
      channel: state.conversationObject(channel),
      warning: 'already_in_channel',
      response_metadata: { warnings: ['already_in_channel'] },
    });
  }
  // Bots cannot join private channels by themselves; someone has to invite them.
  if (channel.isPrivate) return fail('method_not_supported_for_channel_type');
  channel.members.add(state.bot.userId);
  return ok({ channel: state.conversationObject(channel) });
}

function conversationsLeave({ args, state }: MethodContext): Reply {
  const channel = state.visibleChannel(str(args, 'channel'));
  if (!channel) return fail('channel_not_found');
  if (channel.isArchived) return fail('is_archived');
  // Slack's documented quirk: leaving a channel you are not in is ok:false with no `error` field.
  if (!state.isBotMember(channel)) return { status: 200, body: { ok: false, not_in_channel: true } };
  channel.members.delete(state.bot.userId);
  return ok();
}

function conversationsInfo({ args, state }: MethodContext): Reply {
  const channel = state.visibleChannel(str(args, 'channel'));
  if (!channel) return fail('channel_not_found');
  return ok({ channel: state.conversationObject(channel) });
}

const encodeCursor = (channelId: string): string => Buffer.from(`channel:${channelId}`).toString('base64');
const decodeCursor = (cursor: string): string | undefined => {
  const decoded = Buffer.from(cursor, 'base64').toString('utf8');
  return decoded.startsWith('channel:') ? decoded.slice('channel:'.length) : undefined;
};

function conversationsList({ args, state }: MethodContext): Reply {
  const types = new Set((str(args, 'types') ?? 'public_channel').split(',').map((t) => t.trim()));
  const excludeArchived = flag(args, 'exclude_archived') ?? false;
  const limit = limitArg(args, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT);

  const all = state
    .channels()
    .filter((c) => types.has(c.isPrivate ? 'private_channel' : 'public_channel'))
    .filter((c) => !c.isPrivate || state.isBotMember(c))
    .filter((c) => !(excludeArchived && c.isArchived));

  let start = 0;
  const cursor = str(args, 'cursor');
  if (cursor) {
    const from = decodeCursor(cursor);
    start = all.findIndex((c) => c.id === from);
    if (start < 0) return fail('invalid_cursor');
  }
  const page = all.slice(start, start + limit);
  const next = all[start + limit];
  return ok({
    channels: page.map((c) => state.conversationObject(c)),
    response_metadata: { next_cursor: next ? encodeCursor(next.id) : '' },
  });
}

function usersInfo({ args, state }: MethodContext): Reply {
  const user = state.user(str(args, 'user') ?? '');
  if (!user) return fail('user_not_found');
  return ok({ user: state.userObject(user) });
}

function authTest({ state }: MethodContext): Reply {
  const { bot } = state;
  return ok({
    url: `https://${bot.teamDomain}.slack.com/`,
    team: bot.teamName,
    user: bot.userName,
    team_id: bot.teamId,
    user_id: bot.userId,
    bot_id: bot.botId,
    is_enterprise_install: false,
  });
}

function appsConnectionsOpen({ openSocket }: MethodContext): Reply {
  return ok({ url: openSocket() });
}

export const METHODS: Readonly<Record<string, MethodDef>> = {
  'auth.test': { token: 'bot', handle: authTest },
  'chat.postMessage': { token: 'bot', handle: chatPostMessage },
  'conversations.join': { token: 'bot', handle: conversationsJoin },
  'conversations.leave': { token: 'bot', handle: conversationsLeave },
  'conversations.list': { token: 'bot', handle: conversationsList },
  'conversations.info': { token: 'bot', handle: conversationsInfo },
  'conversations.history': { token: 'bot', handle: ({ args, state }) => conversationsHistory(args, state) },
  'conversations.replies': { token: 'bot', handle: ({ args, state }) => conversationsReplies(args, state) },
  'users.info': { token: 'bot', handle: usersInfo },
  'apps.connections.open': { token: 'app', handle: appsConnectionsOpen },
};
