// A fake Slack for tests: the Web API methods the Slack pack uses, Socket Mode, rate limits and
// injectable failures, served by a real HTTP server on 127.0.0.1, port 0. Point the official SDK at it
// with `slackApiUrl: fake.apiUrl`; Bolt copies clientOptions into its Socket Mode client, so the same
// URL also serves apps.connections.open, whose answer leads the client to this server's websocket.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  /** How long sendEvent waits for a connection and its ack. Default 3000 ms, Slack's ack deadline. */
  readonly ackTimeoutMs?: number;
  /** Socket Mode server ping interval. Default 10000 ms (the SDK gives up after 30 s without one). */
  readonly pingIntervalMs?: number;
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
  addChannel(spec: ChannelSpec): void;
  addUser(spec: UserSpec): void;
  /** User ids in a channel, the bot included when it is a member. */
  members(channelId: string): string[];
  /** Makes the next call(s) of `method` ("*" for any) fail. */
  failNext(method: string, spec?: FailureSpec): void;
  /** Replaces the chat.postMessage limit and refills every channel's bucket. */
  setRateLimit(limit: RateLimit): void;
  /** Sends an Events API envelope over Socket Mode and resolves with the client's ack. */
  sendEvent(event: Record<string, unknown>, options?: SendEventOptions): Promise<Ack>;
  /** Sends `{"type":"disconnect"}` to every connection; the SDK reconnects through apps.connections.open. */
  disconnect(reason?: string): void;
  /** Drops every Socket Mode connection without a close frame. */
  dropConnections(): void;
  close(): Promise<void>;
}

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
  const state = new SlackState(bot);
  const limiter = new RateLimiter(
    options.rateLimit ?? DEFAULT_RATE_LIMIT,
    options.now ?? (() => performance.now()),
  );
  let origin = '';
  const socketMode = new SocketMode({
    bot,
    baseUrl: () => origin.replace(/^http/, 'ws'),
    ackTimeoutMs: options.ackTimeoutMs ?? 3000,
    pingIntervalMs: options.pingIntervalMs ?? 10_000,
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
    server.listen(0, '127.0.0.1', () => resolve());
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
    addChannel: (spec) => state.addChannel(spec),
    addUser: (spec) => state.addUser(spec),
    members: (channelId) => state.members(channelId),
    failNext: (method, spec) => webApi.failNext(method, spec),
    setRateLimit: (limit) => limiter.set(limit),
    sendEvent: (event, sendOptions) => socketMode.sendEvent(event, sendOptions),
    disconnect: (reason) => socketMode.disconnect(reason),
    dropConnections: () => socketMode.dropConnections(),
    close: async () => {
      await socketMode.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
