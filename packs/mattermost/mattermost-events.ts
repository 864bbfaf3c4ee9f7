import { type Client4, WebSocketClient } from '@mattermost/client';
import type { Post } from '@mattermost/types/posts';
import type { Logger } from 'pino';
import type { PackContext } from '../../shared/runtime/pack-definition.ts';
import { myChannels } from './channels.ts';
import { mattermostFailure } from './mattermost-errors.ts';

/** Post types that are someone saying something (system messages about joins and headers are not). */
const SPOKEN = new Set(['', undefined]);
/** Post ids already emitted, so a catch-up after a reconnect does not repeat what arrived live. */
const REMEMBERED = 10_000;

/**
 * ReceivedMessage from Mattermost's WebSocket (`posted` events in the bot's channels), on the official
 * WebSocketClient, which authenticates, pings and reconnects with backoff. After a reconnect, or when the
 * client reports missed events, or when publishing failed, the channels' posts since the last one seen
 * are fetched over REST, so a short disconnect or a bus hiccup drops nothing.
 */
export class MattermostListener {
  readonly #client: Client4;
  readonly #botUserId: string;
  readonly #context: PackContext;
  readonly #logger: Logger;
  readonly #socket: WebSocketClient;
  readonly #seen = new Set<string>();
  /** create_at of the newest post handled: catching up starts there. */
  #lastSeenAt = Date.now();
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: { client: Client4; botUserId: string; context: PackContext }) {
    this.#client = options.client;
    this.#botUserId = options.botUserId;
    this.#context = options.context;
    this.#logger = options.context.logger;
    this.#socket = new WebSocketClient({ minWebSocketRetryTime: 1000, maxWebSocketRetryTime: 30_000 });
  }

  /** Connects; resolves once the server said hello, rejects after `timeoutMs` without it. */
  async start(url: string, token: string, timeoutMs = 15_000): Promise<void> {
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no WebSocket connection to ${url} within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      this.#socket.addFirstConnectListener(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#socket.addMessageListener((message) => {
      if (message.event !== 'posted') return;
      const raw = (message.data as { post?: string }).post;
      if (!raw) return;
      this.#enqueue(async () => {
        await this.#handle(JSON.parse(raw) as Post, (message.data as { sender_name?: string }).sender_name);
      });
    });
    this.#socket.addReconnectListener(() => this.#enqueue(() => this.#catchUp('reconnected')));
    this.#socket.addMissedMessageListener(() => this.#enqueue(() => this.#catchUp('events were missed')));
    this.#socket.initialize(`${url.replace(/^http/, 'ws')}/api/v4/websocket`, token);
    await connected;
  }

  stop(): void {
    this.#stopped = true;
    this.#socket.clearReconnectTimeout();
    this.#socket.close();
  }

  /** One at a time, in arrival order. A failure schedules a catch-up rather than losing the post. */
  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(work).catch((error: unknown) => {
      this.#logger.warn(
        { reason: (error as Error).message },
        'a Mattermost post was not published; catching up shortly',
      );
      setTimeout(() => {
        if (!this.#stopped) this.#enqueue(() => this.#catchUp('publishing failed'));
      }, 2000).unref();
    });
  }

  async #handle(post: Post, senderName?: string): Promise<void> {
    if (this.#seen.has(post.id) || post.user_id === this.#botUserId || !SPOKEN.has(post.type || undefined))
      return;
    const name = senderName?.replace(/^@/, '') || (await this.#userName(post.user_id));
    await this.#context.emit(
      'ReceivedMessage',
      {
        channelId: post.channel_id,
        user: { id: post.user_id, name },
        message: post.message,
        timestamp: post.id,
        threadTimestamp: post.root_id ?? '',
        postId: post.id,
      },
      { dedupeKey: post.id },
    );
    this.#remember(post);
  }

  #remember(post: Post): void {
    this.#seen.add(post.id);
    if (this.#seen.size > REMEMBERED) this.#seen.delete(this.#seen.values().next().value as string);
    this.#lastSeenAt = Math.max(this.#lastSeenAt, post.create_at);
  }

  async #catchUp(why: string): Promise<void> {
    const since = this.#lastSeenAt;
    let channels: Array<{ id: string }>;
    try {
      channels = await myChannels(this.#client);
    } catch (error) {
      throw mattermostFailure(error, 'listing channels to catch up');
    }
    let caught = 0;
    for (const channel of channels) {
      const list = await this.#client.getPostsSince(channel.id, since);
      const posts = Object.values(list.posts ?? {})
        .filter((post) => post.create_at >= since && post.delete_at === 0)
        .sort((a, b) => a.create_at - b.create_at);
      for (const post of posts) {
        const before = this.#seen.size;
        await this.#handle(post);
        if (this.#seen.size !== before) caught += 1;
      }
    }
    this.#logger.info(
      { why, since: new Date(since).toISOString(), caught },
      'caught up with Mattermost posts',
    );
  }

  async #userName(userId: string): Promise<string> {
    try {
      return (await this.#client.getUser(userId)).username;
    } catch {
      return userId;
    }
  }
}
