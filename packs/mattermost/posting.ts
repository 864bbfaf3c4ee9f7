import type { Client4 } from '@mattermost/client';
import type { Post } from '@mattermost/types/posts';
import { deterministicId } from '../../shared/deterministic-id.ts';
import { CodedError } from '../../shared/errors.ts';
import type { ChannelPacer } from '../../shared/runtime/channel-pacer.ts';
import type { CommandContext } from '../../shared/runtime/pack-definition.ts';
import { retryInPlace } from '../../shared/runtime/retry-in-place.ts';
import type { Channels } from './channels.ts';
import { MattermostHttpError } from './mattermost-client.ts';
import { mattermostFailure } from './mattermost-errors.ts';

/** What a SendMessage or SendRichMessage asks for, whichever way it is posted. */
export interface Outgoing {
  channel: string;
  message: string;
  rootId?: string | undefined;
  attachments?: unknown[] | undefined;
  username?: string | undefined;
  iconUrl?: string | undefined;
  iconEmoji?: string | undefined;
}

/** Where the post went: the channel id and the post id, when the way of posting tells them. */
export interface Posted {
  channelId: string;
  postId: string;
}

export interface Poster {
  post(outgoing: Outgoing, context: CommandContext): Promise<Posted>;
}

/** The sender's clock and Mattermost's may disagree; the search for an earlier post starts this much before. */
const CLOCK_SKEW_MS = 10 * 60 * 1000;

function withRetries<T>(attempt: () => Promise<T>, doing: string, context: CommandContext): Promise<T> {
  return retryInPlace(attempt, {
    classify: (error) => mattermostFailure(error, doing),
    command: context,
  });
}

/**
 * Posts as the bot account through REST v4. The post carries the command id twice: as
 * `pending_post_id`, which Mattermost uses to answer a repeated create with the post it already made, and in
 * its props, so that a command redelivered later than Mattermost remembers pending ids is found in the
 * channel instead of posted again.
 */
export class RestPoster implements Poster {
  readonly #client: Client4;
  readonly #botUserId: string;
  readonly #channels: Channels;
  readonly #pacer: ChannelPacer;

  constructor(options: { client: Client4; botUserId: string; channels: Channels; pacer: ChannelPacer }) {
    this.#client = options.client;
    this.#botUserId = options.botUserId;
    this.#channels = options.channels;
    this.#pacer = options.pacer;
  }

  async post(outgoing: Outgoing, context: CommandContext): Promise<Posted> {
    const channelId = await this.#channels.resolve(outgoing.channel);
    const commandId = context.command.id;
    return this.#pacer.schedule(
      channelId,
      async () => {
        if (context.redelivered) {
          const earlier = await this.#earlierPost(channelId, commandId, context);
          if (earlier) return { channelId, postId: earlier };
        }
        const post = {
          channel_id: channelId,
          message: outgoing.message,
          root_id: outgoing.rootId ?? '',
          pending_post_id: `sb-${deterministicId(commandId, channelId)}`,
          props: {
            switchboard_command_id: commandId,
            ...(outgoing.attachments ? { attachments: outgoing.attachments } : {}),
            ...(outgoing.username ? { override_username: outgoing.username } : {}),
            ...(outgoing.iconUrl ? { override_icon_url: outgoing.iconUrl } : {}),
            ...(outgoing.iconEmoji ? { override_icon_emoji: outgoing.iconEmoji } : {}),
          },
        };
        try {
          const created = await withRetries(
            () => this.#client.createPost(post as unknown as Post),
            `posting in ${channelId}`,
            context,
          );
          return { channelId, postId: created.id };
        } catch (error) {
          if (
            error instanceof CodedError &&
            error.cause instanceof MattermostHttpError &&
            error.cause.status === 403
          ) {
            throw new CodedError(
              'not_in_channel',
              `the bot cannot post in ${channelId}: add it to the channel, or send JoinChannel first`,
              { cause: error },
            );
          }
          throw error;
        }
      },
      context,
    );
  }

  async #earlierPost(
    channelId: string,
    commandId: string,
    context: CommandContext,
  ): Promise<string | undefined> {
    const created = Date.parse(context.command.createdAt);
    const since = Math.min(Number.isNaN(created) ? Date.now() : created, Date.now()) - CLOCK_SKEW_MS;
    try {
      const list = await this.#client.getPostsSince(channelId, since);
      const earlier = Object.values(list.posts ?? {}).find(
        (post) => post.user_id === this.#botUserId && post.props?.switchboard_command_id === commandId,
      );
      if (earlier)
        context.logger.info(
          { channelId, postId: earlier.id },
          'an earlier run already posted this; reporting it',
        );
      return earlier?.id;
    } catch (error) {
      const failure = mattermostFailure(error, `reading ${channelId}`);
      if (failure.retryable) throw failure;
      context.logger.warn(
        { channelId, reason: failure.message },
        'cannot check whether an earlier run posted this; posting',
      );
      return undefined;
    }
  }
}

/**
 * Posts through an incoming webhook: for teams that only allow hooks. The channel is a name (or `#name`,
 * `@user`) in the hook's team; the hook answers `ok` without the post, so there is no post id to report.
 * Incoming webhooks are not part of the REST API Client4 speaks, hence plain fetch.
 */
export class WebhookPoster implements Poster {
  readonly #url: string;
  readonly #pacer: ChannelPacer;

  constructor(options: { url: string; pacer: ChannelPacer }) {
    this.#url = options.url;
    this.#pacer = options.pacer;
  }

  async post(outgoing: Outgoing, context: CommandContext): Promise<Posted> {
    const channel = outgoing.channel.trim().replace(/^[^/\s]+\//, '');
    const body = {
      text: outgoing.message,
      channel,
      ...(outgoing.attachments ? { attachments: outgoing.attachments } : {}),
      ...(outgoing.username ? { username: outgoing.username } : {}),
      ...(outgoing.iconUrl ? { icon_url: outgoing.iconUrl } : {}),
      ...(outgoing.iconEmoji ? { icon_emoji: outgoing.iconEmoji } : {}),
    };
    await this.#pacer.schedule(
      channel,
      () =>
        withRetries(
          async () => {
            const answer = await fetch(this.#url, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
              signal: context.signal,
            });
            const text = await answer.text();
            if (!answer.ok) throw new MattermostHttpError(answer.status, answer.headers, safeJson(text));
          },
          `posting to ${channel} through the incoming webhook`,
          context,
        ),
      context,
    );
    return { channelId: channel, postId: '' };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
