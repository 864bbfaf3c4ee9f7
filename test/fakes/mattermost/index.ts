// A fake Mattermost server for tests: the REST v4 subset the Mattermost pack calls through Client4, incoming
// webhooks, slash command response_urls, the WebSocket API, rate limits and injectable failures and latency,
// served by a real HTTP server on 127.0.0.1 (any free port by default). It also plays Mattermost's side of
// slash commands and outgoing webhooks, firing them at the pack's HTTP server. It writes nothing to the
// console.
//
// Point the official client at it with
//   const client = new Client4(); client.setUrl(fake.url); client.setToken(fake.bot.token);
//   new WebSocketClient().initialize(fake.wsUrl, fake.bot.token);
// Ids are real Mattermost ids (26 lowercase letters and digits): the fake refuses anything else in a path,
// as the server does, so pass the ids addChannel/addUser return.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCOUNT_ENDPOINTS } from './account-endpoints.ts';
import { type Endpoint, HttpApi, type RecordedRequest, type Services } from './api.ts';
import { CHANNEL_ENDPOINTS } from './channel-endpoints.ts';
import { type EphemeralPost, Publisher } from './events.ts';
import { type DelaySpec, type FailureSpec, Faults, type RequestMatcher } from './faults.ts';
import { HOOK_ENDPOINTS } from './hook-endpoints.ts';
import {
  Integrations,
  type OutgoingWebhookResult,
  type OutgoingWebhookSpec,
  type SlashCommandResult,
  type SlashCommandSpec,
} from './integrations.ts';
import { POST_ENDPOINTS } from './post-endpoints.ts';
import { type RateLimit, RateLimiter } from './rate-limit.ts';
import { AppError } from './reply.ts';
import {
  type Channel,
  type ChannelSpec,
  type IncomingHook,
  type IncomingHookSpec,
  MattermostState,
  type Post,
  type Team,
  type TeamSpec,
  type User,
  type UserSpec,
} from './state.ts';
import type { FollowUp, HookPost } from './webhook-posts.ts';
import { type BroadcastRecord, WebSocketHub } from './websocket.ts';

export type { RecordedRequest } from './api.ts';
export type { EphemeralPost } from './events.ts';
export type { DelaySpec, FailureSpec, RequestMatcher } from './faults.ts';
export { isValidId, newId } from './ids.ts';
export type {
  IntegrationError,
  OutgoingWebhookResult,
  OutgoingWebhookSpec,
  SlashCommandResult,
  SlashCommandSpec,
} from './integrations.ts';
export type { RateLimit } from './rate-limit.ts';
export type {
  Channel,
  ChannelSpec,
  IncomingHook,
  IncomingHookSpec,
  Post,
  Team,
  TeamSpec,
  User,
  UserSpec,
} from './state.ts';
export type { CommandResponse, FollowUp, HookPost } from './webhook-posts.ts';
export type { BroadcastRecord, WsEvent } from './websocket.ts';

const ENDPOINTS: readonly Endpoint[] = [
  ...ACCOUNT_ENDPOINTS,
  ...CHANNEL_ENDPOINTS,
  ...POST_ENDPOINTS,
  ...HOOK_ENDPOINTS,
];

/** Endpoint names for failNext, delayNext and RecordedRequest.endpoint (Client4's method names). */
export const ENDPOINT_NAMES: ReadonlySet<string> = new Set(ENDPOINTS.map((endpoint) => endpoint.name));

export interface BotAccount {
  readonly userId: string;
  readonly username: string;
  /** The bot's access token. */
  readonly token: string;
}

export interface FakeMattermostOptions {
  /** Port to listen on (127.0.0.1). Default 0: any free port. */
  readonly port?: number;
  /** Overrides of the bot account. Default user id "switchboardbotuserid000000", username "switchboard",
   * token "switchboardbottoken0000000". */
  readonly bot?: Partial<BotAccount>;
  /** Users present from the start. Default none. */
  readonly users?: readonly UserSpec[];
  /** Teams present from the start. Default none. */
  readonly teams?: readonly TeamSpec[];
  /** Channels present from the start (their teams and members first). Default none. */
  readonly channels?: readonly ChannelSpec[];
  /** The server's rate limiter, keyed by token (VaryByUser). Default none (Mattermost ships with it off). */
  readonly rateLimit?: RateLimit;
  /**
   * EnablePostUsernameOverride and EnablePostIconOverride: integrations may set the name and icon their posts
   * show. Default true, as teams that use hooks set it (Mattermost's own default is false).
   */
  readonly allowOverrides?: boolean;
  /** Refuse REST posts with no message, attachments or files with 400 (the server accepts them). Default true. */
  readonly rejectEmptyPosts?: boolean;
  /** How long a pending_post_id is remembered after its post (pendingPostIDsCacheTTL). Default 30000 ms. */
  readonly pendingPostIdTtlMs?: number;
  /**
   * How long slash commands and outgoing webhooks wait for the pack (OutgoingIntegrationRequestsTimeout).
   * Default 30000 ms, the server default.
   */
  readonly commandTimeoutMs?: number;
  /** How long a response_url works (CommandWebhookLifetime). Default 1800000 ms (30 minutes). */
  readonly responseUrlLifetimeMs?: number;
  /** How many follow-ups a response_url takes. Default 5. */
  readonly responseUrlMaxUses?: number;
  /**
   * Post (and broadcast) the system messages of joins and leaves ("system_join_channel" ...), as the
   * server does, so a pack's filter on post.type gets exercised. Default false, to keep `posts` to messages.
   */
  readonly systemMessages?: boolean;
  /** How long a WebSocket may stay open without authenticating. Default 5000 ms (authCheckInterval). */
  readonly authTimeoutMs?: number;
  /** Version in hello, ping answers and X-Version-Id. Default "11.9.0". */
  readonly serverVersion?: string;
  /** Clock for the rate limiter, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
  /** Wall clock in milliseconds, for create_at, pending_post_id expiry, response_url lifetime. Default `Date.now`. */
  readonly wallClock?: () => number;
}

export interface InjectedPost {
  readonly channelId: string;
  /** The author; must be a member of the channel. */
  readonly userId: string;
  readonly message: string;
  /** Makes it a reply in this root post's thread. Default "". */
  readonly rootId?: string;
  /** Default {}. */
  readonly props?: Record<string, unknown>;
}

export interface FakeMattermost {
  /** Site URL for Client4.setUrl, e.g. `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  /** WebSocket URL for WebSocketClient.initialize, `ws://127.0.0.1:PORT/api/v4/websocket`. */
  readonly wsUrl: string;
  readonly port: number;
  readonly bot: BotAccount;
  /** Every post stored, in order, whoever made it; a deduplicated repeat adds none. */
  readonly posts: readonly Post[];
  /** Every HTTP request received (REST and hooks), answered or not, in order. */
  readonly requests: readonly RecordedRequest[];
  /** Every request to an incoming hook, in order, refused ones included. */
  readonly hookPosts: readonly HookPost[];
  /** Every request to a response_url, in order, refused ones included. */
  readonly followUps: readonly FollowUp[];
  /** Every ephemeral post (slash command answers only the typing user sees). */
  readonly ephemeralPosts: readonly EphemeralPost[];
  /** Every WebSocket event broadcast (hello excepted), with the users it went to. */
  readonly wsEvents: readonly BroadcastRecord[];
  /** Open, authenticated WebSocket connections. */
  readonly connections: number;
  addUser(spec: UserSpec): User;
  addTeam(spec: TeamSpec): Team;
  addChannel(spec: ChannelSpec): Channel;
  /** Adds an incoming webhook; `url` is what a team would paste into MATTERMOST_WEBHOOK_URL. */
  addIncomingHook(spec: IncomingHookSpec): IncomingHook & { readonly url: string };
  /** Whether `userId` (default: the bot) is a member of the channel now. */
  isMember(channelId: string, userId?: string): boolean;
  /** User ids in the channel now. */
  members(channelId: string): string[];
  /** Posts a message as a person and broadcasts `posted` to the channel's members; returns the post. */
  injectPost(post: InjectedPost): Post;
  /** Fires a slash command at `url` as Mattermost does and applies the answer (see SlashCommandSpec). */
  fireSlashCommand(url: string, spec: SlashCommandSpec): Promise<SlashCommandResult>;
  /** Fires an outgoing webhook at `url` as Mattermost does and posts the answer (see OutgoingWebhookSpec). */
  fireOutgoingWebhook(url: string, spec: OutgoingWebhookSpec): Promise<OutgoingWebhookResult>;
  /** Makes the next matching request(s) fail (see FailureSpec). */
  failNext(matcher: RequestMatcher, spec?: FailureSpec): void;
  /** Holds the next matching request(s) (see DelaySpec); by default the request takes effect first. */
  delayNext(matcher: RequestMatcher, spec: DelaySpec): void;
  /** Replaces the rate limit (undefined: none) and forgets every token's history. */
  setRateLimit(limit: RateLimit | undefined): void;
  /** Makes the token (default: the bot's) unknown: 401 on REST, refused WebSocket challenges. */
  revokeToken(token?: string): boolean;
  /** Cuts every WebSocket connection without a close frame; the official client reconnects. */
  dropConnections(): void;
  /** The next event to every connection skips a `seq` number; the official client closes (4001) and reconnects. */
  skipSequence(): void;
  /** Forgets disconnected WebSocket connections (a server restart): reconnects start afresh with hello. */
  forgetConnections(): void;
  /** Whether WebSocket pings are answered. Default true. */
  setPingReplies(enabled: boolean): void;
  close(): Promise<void>;
}

const DEFAULT_BOT: BotAccount = {
  userId: 'switchboardbotuserid000000',
  username: 'switchboard',
  token: 'switchboardbottoken0000000',
};

export async function startFakeMattermost(options: FakeMattermostOptions = {}): Promise<FakeMattermost> {
  const bot: BotAccount = { ...DEFAULT_BOT, ...options.bot };
  const wallClock = options.wallClock ?? (() => Date.now());
  const serverVersion = options.serverVersion ?? '11.9.0';
  const state = new MattermostState(wallClock);
  state.addUser({ id: bot.userId, username: bot.username, isBot: true, token: bot.token });
  for (const user of options.users ?? []) state.addUser(user);
  for (const team of options.teams ?? []) state.addTeam(team);
  for (const channel of options.channels ?? []) state.addChannel(channel, bot.userId);

  const hub = new WebSocketHub({
    session: (token) => state.session(token),
    serverVersion,
    authTimeoutMs: options.authTimeoutMs ?? 5000,
    clock: wallClock,
  });
  const allowOverrides = options.allowOverrides ?? true;
  const publisher = new Publisher(state, hub, { allowOverrides });
  const settings = {
    allowOverrides,
    responseUrlLifetimeMs: options.responseUrlLifetimeMs ?? 30 * 60 * 1000,
    responseUrlMaxUses: options.responseUrlMaxUses ?? 5,
  };
  const services: Services = {
    state,
    publisher,
    settings,
    pendingPostIdTtlMs: options.pendingPostIdTtlMs ?? 30_000,
    rejectEmptyPosts: options.rejectEmptyPosts ?? true,
    systemMessages: options.systemMessages ?? false,
    hookPosts: [],
    followUps: [],
    serverVersion,
  };
  const faults = new Faults(ENDPOINT_NAMES);
  const limiter = new RateLimiter(options.rateLimit, options.now ?? (() => performance.now()));
  const api = new HttpApi(ENDPOINTS, services, faults, limiter);

  let origin = '';
  const integrations = new Integrations({
    state,
    publisher,
    settings,
    botId: bot.userId,
    siteUrl: () => origin,
    timeoutMs: options.commandTimeoutMs ?? 30_000,
  });

  const server = createServer((req, res) => {
    api.handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.end();
      const status = error instanceof AppError ? error.status : 500;
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(String(error));
    });
  });
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  return {
    url: origin,
    wsUrl: `ws://127.0.0.1:${port}/api/v4/websocket`,
    port,
    bot,
    posts: state.posts,
    requests: api.requests,
    hookPosts: services.hookPosts,
    followUps: services.followUps,
    ephemeralPosts: publisher.ephemeralPosts,
    wsEvents: hub.events,
    get connections() {
      return hub.connections;
    },
    addUser: (spec) => state.addUser(spec),
    addTeam: (spec) => state.addTeam(spec),
    addChannel: (spec) => state.addChannel(spec, bot.userId),
    addIncomingHook: (spec) => {
      const hook = state.addIncomingHook(spec, bot.userId);
      return { ...hook, url: `${origin}/hooks/${hook.id}` };
    },
    isMember: (channelId, userId = bot.userId) => state.isMember(channelId, userId),
    members: (channelId) => state.members(channelId),
    injectPost: (post) => {
      if (!state.isMember(post.channelId, post.userId))
        throw new Error(
          `${post.userId} is not a member of ${post.channelId}; list it in addChannel({members})`,
        );
      const root = post.rootId ? state.post(post.rootId) : undefined;
      if (post.rootId && (!root || root.channel_id !== post.channelId || root.root_id !== ''))
        throw new Error(`${post.rootId} is not a root post of ${post.channelId}`);
      return publisher.post({
        userId: post.userId,
        channelId: post.channelId,
        message: post.message,
        rootId: post.rootId ?? '',
        props: post.props ?? {},
      });
    },
    fireSlashCommand: (url, spec) => integrations.fireSlashCommand(url, spec),
    fireOutgoingWebhook: (url, spec) => integrations.fireOutgoingWebhook(url, spec),
    failNext: (matcher, spec) => faults.failNext(matcher, spec),
    delayNext: (matcher, spec) => faults.delayNext(matcher, spec),
    setRateLimit: (limit) => limiter.set(limit),
    revokeToken: (token = bot.token) => state.revoke(token),
    dropConnections: () => hub.dropConnections(),
    skipSequence: () => hub.skipSequence(),
    forgetConnections: () => hub.forgetConnections(),
    setPingReplies: (enabled) => hub.setPingReplies(enabled),
    close: async () => {
      integrations.close();
      faults.cancelWaits();
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
