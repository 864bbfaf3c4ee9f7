// Everything that changes what users see goes through the Publisher, which stores the change and sends the
// WebSocket events the server sends for it (app/notification.go, app/channel.go):
// - `posted` to the members of the post's channel, the author included, with `data.post` as a JSON string;
// - `ephemeral_message` to the one user an ephemeral post is for;
// - `user_added` / `user_removed` when membership changes.

import { newId } from './ids.ts';
import type { Channel, MattermostState, NewPost, Post } from './state.ts';
import { broadcastTo, type WebSocketHub } from './websocket.ts';
import { postJson } from './wire.ts';

/** A post only one user sees (a slash command's ephemeral answer); never stored in the channel. */
export interface EphemeralPost {
  readonly id: string;
  /** The user it is shown to. */
  readonly recipient: string;
  /** The author, as for a post (for command answers: the user who typed the command). */
  readonly user_id: string;
  readonly channel_id: string;
  readonly root_id: string;
  readonly message: string;
  readonly type: 'ephemeral';
  readonly props: Record<string, unknown>;
  readonly create_at: number;
}

export interface PublisherOptions {
  /** Whether override_username shows as sender_name (ServiceSettings.EnablePostUsernameOverride). */
  readonly allowOverrides: boolean;
}

export class Publisher {
  readonly ephemeralPosts: EphemeralPost[] = [];
  readonly #state: MattermostState;
  readonly #hub: WebSocketHub;
  readonly #options: PublisherOptions;

  constructor(state: MattermostState, hub: WebSocketHub, options: PublisherOptions) {
    this.#state = state;
    this.#hub = hub;
    this.#options = options;
  }

  /** Stores a post and sends `posted` to every member of its channel. */
  post(input: NewPost, setOnline = true): Post {
    const channel = this.#state.channel(input.channelId);
    if (!channel) throw new Error(`unknown channel ${input.channelId}`);
    const post = this.#state.createPost(input);
    const members = new Set(this.#state.members(channel.id));
    this.#hub.broadcast(
      {
        event: 'posted',
        data: {
          channel_display_name: channel.displayName,
          channel_name: channel.name,
          channel_type: channel.type,
          post: JSON.stringify(postJson(post)),
          sender_name: this.#senderName(post, channel),
          set_online: setOnline,
          team_id: channel.teamId,
        },
        broadcast: broadcastTo({ channel_id: channel.id }),
      },
      (userId) => members.has(userId),
    );
    return post;
  }

  /** Records an ephemeral post for `recipient` and sends it `ephemeral_message`. */
  ephemeral(
    recipient: string,
    post: Omit<EphemeralPost, 'id' | 'recipient' | 'type' | 'create_at'>,
  ): EphemeralPost {
    const saved: EphemeralPost = {
      ...post,
      id: newId(),
      recipient,
      type: 'ephemeral',
      create_at: this.#state.now(),
    };
    this.ephemeralPosts.push(saved);
    const { recipient: _recipient, ...wire } = saved;
    this.#hub.broadcast(
      {
        event: 'ephemeral_message',
        data: { post: JSON.stringify(wire) },
        broadcast: broadcastTo({ user_id: recipient, channel_id: post.channel_id }),
      },
      (userId) => userId === recipient,
    );
    return saved;
  }

  /** Adds a member and tells the channel; says whether the user was new to it. */
  addMember(channel: Channel, userId: string, actorId: string, systemMessage: boolean): boolean {
    if (!this.#state.addMember(channel.id, userId)) return false;
    const members = new Set(this.#state.members(channel.id));
    this.#hub.broadcast(
      {
        event: 'user_added',
        data: { team_id: channel.teamId, user_id: userId },
        broadcast: broadcastTo({ channel_id: channel.id }),
      },
      (id) => members.has(id),
    );
    if (systemMessage) {
      const username = this.#state.user(userId)?.username ?? userId;
      this.post(
        userId === actorId
          ? {
              userId,
              channelId: channel.id,
              message: `${username} joined the channel.`,
              type: 'system_join_channel',
            }
          : {
              userId: actorId,
              channelId: channel.id,
              message: `${username} added to the channel.`,
              type: 'system_add_to_channel',
              props: { addedUserId: userId, addedUsername: username },
            },
      );
    }
    return true;
  }

  /** Removes a member and tells the channel and the removed user; says whether the user was a member. */
  removeMember(channel: Channel, userId: string, actorId: string, systemMessage: boolean): boolean {
    if (!this.#state.removeMember(channel.id, userId)) return false;
    if (systemMessage) {
      const username = this.#state.user(userId)?.username ?? userId;
      this.post(
        userId === actorId
          ? {
              userId,
              channelId: channel.id,
              message: `@${username} left the channel.`,
              type: 'system_leave_channel',
            }
          : {
              userId: actorId,
              channelId: channel.id,
              message: `@${username} was removed from the channel.`,
              type: 'system_remove_from_channel',
              props: { removedUserId: userId, removedUsername: username },
            },
      );
    }
    const members = new Set(this.#state.members(channel.id));
    this.#hub.broadcast(
      {
        event: 'user_removed',
        data: { user_id: userId, remover_id: actorId },
        broadcast: broadcastTo({ channel_id: channel.id }),
      },
      (id) => members.has(id),
    );
    // The removed user is no longer in the channel, so it gets an event of its own.
    this.#hub.broadcast(
      {
        event: 'user_removed',
        data: { channel_id: channel.id, remover_id: actorId },
        broadcast: broadcastTo({ user_id: userId }),
      },
      (id) => id === userId,
    );
    return true;
  }

  /** PostNotification.GetSenderName with ShowUsername: "@username", or the webhook's override name. */
  #senderName(post: Post, channel: Channel): string {
    const override = post.props.override_username;
    if (
      this.#options.allowOverrides &&
      channel.type !== 'D' &&
      post.props.from_webhook === 'true' &&
      typeof override === 'string'
    )
      return override;
    return `@${this.#state.user(post.user_id)?.username ?? ''}`;
  }
}
