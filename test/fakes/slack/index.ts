// A fake Slack for tests: the Web API methods the Slack pack uses, channel history, Socket Mode, signed
// Events API deliveries over HTTP, rate limits and injectable failures and latency, served by a real HTTP
// server on 127.0.0.1 (any free port by default). Point the official SDK at it with
// `slackApiUrl: fake.apiUrl`; Bolt copies clientOptions into its Socket Mode client, so the same URL also
// serves apps.connections.open, whose answer leads the client to this server's websocket.
// `node test/fakes/slack/main.ts --help` runs it by hand.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventCallbacks } from './envelope.ts';
import {
  type DeliverOptions,
  type DeliveryResult,
  type HttpDelivery,
  HttpEvents,
  type SignOptions,
  type VerificationResult,
} from './http-events.ts';
import { type HumanPost, messageEvent, postAsUser } from './human-posts.ts';
import type { DelaySpec } from './latency.ts';
import type { MethodContext } from './methods.ts';
import { DEFAULT_RATE_LIMIT, type RateLimit, RateLimiter } from './rate-limit.ts';
import { type Ack, type SendEventOptions, SocketMode } from './socket-mode.ts';
import {
  type BotIdentity,
  type ChannelSpec,
  type PostedMessage,
  SlackState,
  type UserSpec,
} from './state.ts';
import { type FailureSpec, type RecordedRequest, WebApi } from './web-api.ts';

export type {
  DeliverOptions,
  DeliveryResult,
  HttpDelivery,
  RetryReason,
  SignOptions,
  VerificationResult,
} from './http-events.ts';
export type { HumanPost } from './human-posts.ts';
export type { DelaySpec } from './latency.ts';
export type { RateLimit } from './rate-limit.ts';
export type { Ack, SendEventOptions } from './socket-mode.ts';
export type { BotIdentity, ChannelSpec, PostedMessage, UserSpec } from './state.ts';
export type { FailureSpec, RecordedRequest } from './web-api.ts';

export interface FakeSlackOptions {
  /** Valid tokens. Default `{bot: "xoxb-test", app: "xapp-test"}`. */
  readonly tokens?: { readonly bot?: string; readonly app?: string };
  /** Overrides of the bot identity auth.test reports. Default team T0FAKE, user U0BOT, bot B0BOT, app A0FAKE. */
  readonly bot?: Partial<BotIdentity>;
  /** chat.postMessage limit per channel. Default 5 in a burst, then 1 per second. */
  readonly rateLimit?: RateLimit;
  /** Clock for the rate limiter, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
  /** Wall clock in milliseconds, for message ts, event_time and request timestamps. Default `Date.now`. */
  readonly wallClock?: () => number;
  /**
   * How long sendEvent waits for a connection and its ack, and deliverEvent for an HTTP answer before it
   * counts as an http_timeout. Default 3000 ms, Slack's ack deadline.
   */
  readonly ackTimeoutMs?: number;
  /** Socket Mode server ping interval. Default 10000 ms (the SDK gives up after 30 s without one). */
  readonly pingIntervalMs?: number;
  /** The secret HTTP event deliveries are signed with. Default "fake-signing-secret". */
  readonly signingSecret?: string;
  /**
   * Delays before the retries of a failed HTTP event delivery; the length is the number of retries.
   * Default [0, 60000, 300000]: Slack's "immediately, after 1 minute, after 5 minutes".
   */
  readonly retryDelaysMs?: readonly number[];
  /** Port to listen on (127.0.0.1). Default 0: any free port. */
  readonly port?: number;
}

export interface FakeSlack {
  /** Base URL for `slackApiUrl`, e.g. `http://127.0.0.1:PORT/api/`. */
  readonly apiUrl: string;
  /** Valid tokens. */
  readonly tokens: { readonly bot: string; readonly app: string };
  /** The identity behind the bot token. */
  readonly bot: BotIdentity;
  /** Every message chat.postMessage accepted, in order. */
  readonly messages: readonly PostedMessage[];
  /** Every Web API request received, answered or not, in order. */
  readonly requests: readonly RecordedRequest[];
  /** Every Socket Mode envelope sent, in order. */
  readonly envelopes: readonly Record<string, unknown>[];
  /** Open Socket Mode connections. */
  readonly connections: number;
  /** The secret HTTP event deliveries are signed with. */
  readonly signingSecret: string;
  /** Every HTTP request deliverEvent and verifyUrl sent, retries included, in order. */
  readonly httpDeliveries: readonly HttpDelivery[];
  addChannel(spec: ChannelSpec): void;
  addUser(spec: UserSpec): void;
  /** User ids in a channel, the bot included when it is a member. */
  members(channelId: string): string[];
  /** Makes the next call(s) of `method` ("*" for any) fail. */
  failNext(method: string, spec?: FailureSpec): void;
  /**
   * Holds the next call(s) of `method` ("*" for any) for `spec.ms`. By default the call takes effect first
   * and only its answer waits; a client that gives up meanwhile does no harm (see RecordedRequest.delivered).
   */
  delayNext(method: string, spec: DelaySpec): void;
  /**
   * Records a message by a person in the channel's history and returns its ts. Sends no event: pass
   * `messageEvent(channel, ts)` to sendEvent or deliverEvent for that.
   */
  postAsUser(post: HumanPost): string;
  /** The `message` event Slack would send for a message in the channel's history (bot posts too). */
  messageEvent(channel: string, ts: string): Record<string, unknown>;
  /** Calls `listener` with every message the bot posts from now on; returns the unsubscribe function. */
  onPost(listener: (message: PostedMessage) => void): () => void;
  /** Replaces the chat.postMessage limit and refills every channel's bucket. */
  setRateLimit(limit: RateLimit): void;
  /** Sends an Events API envelope over Socket Mode and resolves with the client's ack. */
  sendEvent(event: Record<string, unknown>, options?: SendEventOptions): Promise<Ack>;
  /**
   * POSTs the event in its event_callback wrapper to `url`, signed, retrying like Slack (see DeliverOptions),
   * and resolves with the last answer. Rejects only when the fake closes first.
   */
  deliverEvent(
    url: string,
    event: Record<string, unknown>,
    options?: DeliverOptions,
  ): Promise<DeliveryResult>;
  /** Sends a signed url_verification request once; the app should answer with the challenge. */
  verifyUrl(url: string, options?: SignOptions): Promise<VerificationResult>;
  /** Sends `{"type":"disconnect"}` to every connection; the SDK reconnects through apps.connections.open. */
  disconnect(reason?: string): void;
  /** Drops every Socket Mode connection without a close frame. */
  dropConnections(): void;
  close(): Promise<void>;
}

const DEFAULT_RETRY_DELAYS_MS = [0, 60_000, 300_000];

const DEFAULT_BOT: BotIdentity = {
  teamId: 'T0FAKE',
  teamName: 'Fake Team',
  teamDomain: 'fake-team',
  userId: 'U0BOT',
  userName: 'switchboard',
  botId: 'B0BOT',
  appId: 'A0FAKE',
};

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const tokens = { bot: options.tokens?.bot ?? 'xoxb-test', app: options.tokens?.app ?? 'xapp-test' };
  const bot: BotIdentity = { ...DEFAULT_BOT, ...options.bot };
  const wallClock = options.wallClock ?? (() => Date.now());
  const state = new SlackState(bot, wallClock);
  const eventCallback = eventCallbacks(bot, wallClock);
  const ackTimeoutMs = options.ackTimeoutMs ?? 3000;
  const limiter = new RateLimiter(
    options.rateLimit ?? DEFAULT_RATE_LIMIT,
    options.now ?? (() => performance.now()),
  );
  let origin = '';
  const socketMode = new SocketMode({
    bot,
    eventCallback,
    baseUrl: () => origin.replace(/^http/, 'ws'),
    ackTimeoutMs,
    pingIntervalMs: options.pingIntervalMs ?? 10_000,
  });
  const signingSecret = options.signingSecret ?? 'fake-signing-secret';
  const httpEvents = new HttpEvents({
    signingSecret,
    retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
    timeoutMs: ackTimeoutMs,
    clock: wallClock,
    eventCallback,
  });
  const context: Omit<MethodContext, 'args'> = {
    state,
    postLimiter: limiter,
    openSocket: () => socketMode.issueUrl(),
  };
  const webApi = new WebApi({ tokens, context });

  const server = createServer((req, res) => {
    if (req.method !== 'POST' && req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (!req.url?.startsWith('/api/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    webApi.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  server.on('upgrade', (req, socket, head) => socketMode.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${origin}/api/`,
    tokens,
    bot,
    messages: state.messages,
    requests: webApi.requests,
    envelopes: socketMode.envelopes,
    get connections() {
      return socketMode.connections;
    },
    signingSecret,
    httpDeliveries: httpEvents.deliveries,
    addChannel: (spec) => state.addChannel(spec),
    addUser: (spec) => state.addUser(spec),
    members: (channelId) => state.members(channelId),
    failNext: (method, spec) => webApi.failNext(method, spec),
    delayNext: (method, spec) => webApi.delayNext(method, spec),
    postAsUser: (post) => postAsUser(state, post),
    messageEvent: (channel, ts) => messageEvent(state, channel, ts),
    onPost: (listener) => state.onPost(listener),
    setRateLimit: (limit) => limiter.set(limit),
    sendEvent: (event, sendOptions) => socketMode.sendEvent(event, sendOptions),
    deliverEvent: (url, event, deliverOptions) => httpEvents.deliver(url, event, deliverOptions),
    verifyUrl: (url, signOptions) => httpEvents.verifyUrl(url, signOptions),
    disconnect: (reason) => socketMode.disconnect(reason),
    dropConnections: () => socketMode.dropConnections(),
    close: async () => {
      httpEvents.close();
      await socketMode.close();
      server.closeAllConnections();
      webApi.cancelDelays();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
