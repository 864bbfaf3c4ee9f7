import type { WebClient } from '@slack/web-api';
import { postToEvery } from '../../shared/runtime/broadcast.ts';
import type { ChannelPacer } from '../../shared/runtime/channel-pacer.ts';
import {
  type CommandContext,
  type CommandDefinition,
  defineCommand,
  type Payload,
} from '../../shared/runtime/pack-definition.ts';
import { retryInPlace } from '../../shared/runtime/retry-in-place.ts';
import {
  broadcastCommand,
  joinChannelCommand,
  leaveChannelCommand,
  sendMessageCommand,
  sendRichMessageCommand,
} from '../chat-commands.ts';
import type { ChannelResolver } from './channel-resolver.ts';
import { commandMetadata, findEarlierPost } from './earlier-posts.ts';
import type { JoinedChannels } from './joined-channels.ts';
import { slackFailure } from './slack-errors.ts';

export interface SlackCommandDeps {
  web: WebClient;
  pacer: ChannelPacer;
  channels: ChannelResolver;
  joined: JoinedChannels;
}

const channelReference = {
  type: 'string',
  minLength: 1,
  description: 'A channel id (C0123) or name (#deploys, deploys).',
};

/**
 * Posts through the channel's pacing lane, retrying in place (shared/runtime/retry-in-place.ts) so the
 * channel keeps its order. When an earlier try may have posted (a redelivered command, a retried command,
 * or a try whose answer was lost), the channel is searched for that post first, so nothing is posted twice.
 */
async function post(
  deps: SlackCommandDeps,
  channel: string,
  args: Record<string, unknown>,
  context: CommandContext,
): Promise<string> {
  // A message with metadata of its own cannot carry the command id, and so cannot be found again.
  const findable = args.metadata === undefined;
  const message = findable ? { ...args, metadata: commandMetadata(context.command.id) } : args;
  let mayHavePosted = context.redelivered || context.attempt > 1;
  return deps.pacer.schedule(
    channel,
    () =>
      retryInPlace(
        async () => {
          if (findable && mayHavePosted) {
            const earlier = await earlierPost(deps, channel, args.thread_ts, context);
            if (earlier) return earlier;
          }
          const answer = await deps.web.chat.postMessage({ ...message, channel } as Parameters<
            WebClient['chat']['postMessage']
          >[0]);
          return answer.ts as string;
        },
        {
          classify: slackFailure,
          command: context,
          // A 429 means Slack posted nothing; after a 5xx or a lost connection it may have.
          onRetry: (failure) => {
            mayHavePosted ||= failure.code !== 'rate_limited';
          },
        },
      ),
    context,
  );
}

/** The ts of the message an earlier run of this command posted in the channel, if it did. */
async function earlierPost(
  deps: SlackCommandDeps,
  channel: string,
  threadTs: unknown,
  context: CommandContext,
): Promise<string | undefined> {
  try {
    const search = await findEarlierPost(deps.web, {
      channel,
      threadTs: typeof threadTs === 'string' && threadTs ? threadTs : undefined,
      commandId: context.command.id,
      since: context.command.createdAt,
    });
    if (search.found) {
      context.logger.info({ channel, ts: search.ts }, 'an earlier run already posted this; reporting it');
      return search.ts;
    }
    if (!search.complete)
      context.logger.warn(
        { channel },
        'searched the channel history as far as allowed without finding an earlier post; posting',
      );
    return undefined;
  } catch (error) {
    const failure = slackFailure(error);
    if (failure.retryable) throw failure;
    // Without history access (a missing scope) a possible duplicate beats a lost message.
    context.logger.warn(
      { channel, errorCode: failure.code, reason: failure.message },
      'cannot check whether an earlier run posted this; posting',
    );
    return undefined;
  }
}

async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw slackFailure(error);
  }
}

/** The commands of flyte-slack, with their result events (docs in packs/slack/README.md). */
export function slackCommands(deps: SlackCommandDeps): Record<string, CommandDefinition<Payload>> {
  return {
    SendMessage: sendMessageCommand({
      description: 'Posts a plain message to a channel, or in a thread.',
      channel: channelReference,
      thread: 'ts of the thread root to reply in.',
      handler: async (input, context) => {
        const channelId = await deps.channels.resolve(input.channelId);
        const timestamp = await post(
          deps,
          channelId,
          { text: input.message, thread_ts: input.threadTimestamp || undefined },
          context,
        );
        return { message: input.message, channelId, threadTimestamp: input.threadTimestamp ?? '', timestamp };
      },
    }),

    SendRichMessage: sendRichMessageCommand({
      description:
        'Posts a message with chat.postMessage arguments: text, blocks, attachments, thread_ts, ...',
      channel: channelReference,
      properties: {
        text: { type: 'string' },
        blocks: { type: 'array' },
        attachments: { type: 'array' },
        reply_broadcast: { type: 'boolean' },
        username: { type: 'string' },
        icon_url: { type: 'string' },
        icon_emoji: { type: 'string' },
        mrkdwn: { type: 'boolean' },
        unfurl_links: { type: 'boolean' },
        unfurl_media: { type: 'boolean' },
      },
      handler: async (input, context) => {
        const channel = await deps.channels.resolve(input.channel);
        const timestamp = await post(deps, channel, input, context);
        return { ...input, timestamp };
      },
    }),

    Broadcast: broadcastCommand({
      description: 'Posts the message to every channel the pack has joined.',
      handler: async (input, context) => {
        const channelIds = await postToEvery(deps.joined.list(), (channelId) =>
          post(deps, channelId, { text: input.message }, context),
        );
        return { message: input.message, channelIds };
      },
    }),

    JoinChannel: joinChannelCommand({
      description: 'Joins a channel; its messages then arrive as ReceivedMessage.',
      channel: channelReference,
      handler: async (input) => {
        const channelId = await deps.channels.resolve(input.channelId);
        await call(() => deps.web.conversations.join({ channel: channelId }));
        await deps.joined.add(channelId);
        return { channelId };
      },
    }),

    LeaveChannel: leaveChannelCommand({
      description: 'Leaves a channel. Leaving a channel the bot is not in succeeds.',
      channel: channelReference,
      handler: async (input) => {
        const channelId = await deps.channels.resolve(input.channelId);
        try {
          await deps.web.conversations.leave({ channel: channelId });
        } catch (error) {
          // Slack answers {ok:false, not_in_channel:true} with no error field when the bot is not in it.
          if ((error as { data?: { not_in_channel?: boolean } }).data?.not_in_channel !== true)
            throw slackFailure(error);
        }
        await deps.joined.remove(channelId);
        return { channelId };
      },
    }),

    GetChannelInfo: defineCommand<{ channelName: string }>({
      description: 'Looks a channel up by name.',
      inputSchema: {
        type: 'object',
        required: ['channelName'],
        properties: { channelName: channelReference },
      },
      success: 'GetChannelInfoSuccess',
      failure: 'GetChannelInfoFail',
      handler: async (input) => ({
        channelName: input.channelName,
        channel: await deps.channels.find(input.channelName),
      }),
    }) as CommandDefinition<Payload>,
  };
}
