import type { Client4 } from '@mattermost/client';
import { CodedError } from '../../shared/errors.ts';
import { postToEvery } from '../../shared/runtime/broadcast.ts';
import {
  type CommandContext,
  type CommandDefinition,
  defineCommand,
  type Payload,
} from '../../shared/runtime/pack-definition.ts';
import {
  broadcastCommand,
  joinChannelCommand,
  leaveChannelCommand,
  type RichMessageInput,
  sendMessageCommand,
  sendRichMessageCommand,
} from '../chat-commands.ts';
import { type Channels, myChannels } from './channels.ts';
import { MattermostHttpError } from './mattermost-client.ts';
import { mattermostFailure } from './mattermost-errors.ts';
import type { Poster } from './posting.ts';
import type { CommandResponder } from './slash-commands.ts';

/** What the pack can do, by mode: a bot account, an incoming webhook, slash commands (any of them). */
export interface MattermostCommandDeps {
  /** A bot account: REST for everything. */
  account?: { client: Client4; botUserId: string; channels: Channels } | undefined;
  /** How SendMessage and SendRichMessage post: as the bot, or through the incoming webhook. */
  poster?: Poster | undefined;
  responder?: CommandResponder | undefined;
}

type RichInput = RichMessageInput & {
  text?: string;
  attachments?: unknown[];
  username?: string;
  icon_url?: string;
  icon_emoji?: string;
};

const channelReference = {
  type: 'string',
  minLength: 1,
  description: 'A channel id, or team/channel; with only an incoming webhook, a channel name.',
};

function needAccount(deps: MattermostCommandDeps, command: string) {
  if (deps.account) return deps.account;
  throw new CodedError(
    'unsupported_in_webhook_mode',
    `${command} needs a bot account: set MATTERMOST_URL and MATTERMOST_TOKEN (an incoming webhook can only post)`,
  );
}

function needPoster(deps: MattermostCommandDeps, command: string): Poster {
  if (deps.poster) return deps.poster;
  throw new CodedError(
    'unsupported_in_webhook_mode',
    `${command} needs a way to post: set MATTERMOST_URL and MATTERMOST_TOKEN (a bot account) or MATTERMOST_WEBHOOK_URL`,
  );
}

/** The Slack pack's commands on Mattermost, plus RespondToCommand for slash commands. */
export function mattermostCommands(deps: MattermostCommandDeps): Record<string, CommandDefinition<Payload>> {
  return {
    SendMessage: sendMessageCommand({
      description: 'Posts a message in a channel, or in a thread (threadTimestamp: the root post id).',
      channel: channelReference,
      thread: 'Id of the root post of the thread.',
      handler: async (input, context) => {
        const posted = await needPoster(deps, 'SendMessage').post(
          { channel: input.channelId, message: input.message, rootId: input.threadTimestamp || undefined },
          context,
        );
        return {
          message: input.message,
          channelId: posted.channelId,
          threadTimestamp: input.threadTimestamp ?? '',
          timestamp: posted.postId,
          postId: posted.postId,
        };
      },
    }),

    SendRichMessage: sendRichMessageCommand({
      description: 'Posts a message with Slack-compatible attachments (Mattermost renders them as such).',
      channel: channelReference,
      properties: {
        text: { type: 'string' },
        attachments: { type: 'array' },
        username: { type: 'string' },
        icon_url: { type: 'string' },
        icon_emoji: { type: 'string' },
      },
      handler: async (rich, context) => {
        const input = rich as RichInput;
        if (!input.text && !input.attachments?.length)
          throw new CodedError('no_text', 'a rich message needs text or attachments');
        const posted = await needPoster(deps, 'SendRichMessage').post(
          {
            channel: input.channel,
            message: input.text ?? '',
            rootId: input.thread_ts || undefined,
            attachments: input.attachments,
            username: input.username,
            iconUrl: input.icon_url,
            iconEmoji: input.icon_emoji,
          },
          context,
        );
        return { ...input, timestamp: posted.postId, postId: posted.postId };
      },
    }),

    Broadcast: broadcastCommand({
      description: 'Posts the message in every channel the bot is a member of (not direct messages).',
      handler: async (input, context) => {
        const account = needAccount(deps, 'Broadcast');
        const poster = needPoster(deps, 'Broadcast');
        const channels = await myChannels(account.client).catch((error: unknown) => {
          throw mattermostFailure(error, 'listing the bot’s channels');
        });
        const channelIds = channels
          .filter((channel) => channel.type === 'O' || channel.type === 'P')
          .map((channel) => channel.id)
          .sort();
        await postToEvery(channelIds, (channelId) =>
          poster.post({ channel: channelId, message: input.message }, context),
        );
        return { message: input.message, channelIds };
      },
    }),

    JoinChannel: joinChannelCommand({
      description: 'Adds the bot to a channel; its posts then arrive as ReceivedMessage.',
      channel: channelReference,
      handler: async (input) => {
        const account = needAccount(deps, 'JoinChannel');
        const channelId = await account.channels.resolve(input.channelId);
        await account.client.addToChannel(account.botUserId, channelId).catch((error: unknown) => {
          throw mattermostFailure(error, `joining ${channelId}`);
        });
        return { channelId };
      },
    }),

    LeaveChannel: leaveChannelCommand({
      description: 'Removes the bot from a channel. Leaving a channel the bot is not in succeeds.',
      channel: channelReference,
      handler: async (input) => {
        const account = needAccount(deps, 'LeaveChannel');
        const channelId = await account.channels.resolve(input.channelId);
        try {
          await account.client.removeFromChannel(account.botUserId, channelId);
        } catch (error) {
          if (!(await notAMember(account, channelId, error)))
            throw mattermostFailure(error, `leaving ${channelId}`);
        }
        return { channelId };
      },
    }),

    RespondToCommand: defineCommand<{
      responseUrl: string;
      text?: string;
      responseType?: 'in_channel' | 'ephemeral';
      attachments?: unknown[];
    }>({
      description:
        'Answers a SlashCommandReceived: in the slash command’s own reply when it is still open, else through its response_url.',
      inputSchema: {
        type: 'object',
        required: ['responseUrl'],
        properties: {
          responseUrl: { type: 'string', minLength: 1 },
          text: { type: 'string' },
          responseType: { enum: ['in_channel', 'ephemeral'] },
          attachments: { type: 'array' },
        },
      },
      success: 'CommandResponded',
      failure: 'RespondToCommandFailed',
      handler: async (input, context: CommandContext) => {
        if (!deps.responder) {
          throw new CodedError(
            'unsupported',
            'RespondToCommand needs slash commands enabled: set MATTERMOST_COMMAND_TOKENS',
          );
        }
        const via = await deps.responder.respond(
          input.responseUrl,
          {
            text: input.text ?? '',
            response_type: input.responseType ?? 'ephemeral',
            ...(input.attachments ? { attachments: input.attachments } : {}),
          },
          context,
        );
        return { responseUrl: input.responseUrl, responseType: input.responseType ?? 'ephemeral', via };
      },
    }) as CommandDefinition<Payload>,
  };
}

/** Whether a failed removal means the bot was not in the channel (which is where it wanted to be). */
async function notAMember(
  account: NonNullable<MattermostCommandDeps['account']>,
  channelId: string,
  error: unknown,
): Promise<boolean> {
  if (
    !(error instanceof MattermostHttpError) ||
    (error.status !== 404 && error.status !== 403 && error.status !== 400)
  )
    return false;
  try {
    await account.client.getChannelMember(channelId, account.botUserId);
    return false;
  } catch (check) {
    // The channel exists (we resolved it) but has no such member.
    return check instanceof MattermostHttpError && check.status === 404;
  }
}
