// A fake Matrix homeserver for tests: the client-server API endpoints matrix-js-sdk's startClient() and the
// Matrix pack call, served by a real HTTP server on 127.0.0.1 (any free port by default), with a long-polling
// /sync, per-device send idempotency, room aliases, invites, rate limits, injectable failures and latency, and
// a stop()/start() that takes the server away and brings it back on the same port with its memory intact.
// Point the SDK at it with `createClient({baseUrl: fake.url, userId: fake.bot.userId, accessToken:
// fake.bot.accessToken, deviceId: fake.bot.deviceId})`. It writes nothing to the console.
//
// Anything it does not serve answers 404 M_UNRECOGNIZED (405 for a served path with another method), as
// Synapse does; matrix-js-sdk probes some of those (e.g. MSC4143 rtc/transports) and copes.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCOUNT_ENDPOINTS } from './account-endpoints.ts';
import { ClientApi, type RecordedRequest, type SentEvent, type Services } from './api.ts';
import { clientEvent, encryptedContent, messageContent } from './events.ts';
import { type DelaySpec, type FailureSpec, Faults, type RequestMatcher } from './faults.ts';
import { type RateLimit, RateLimiter } from './rate-limit.ts';
import { errorReply, MatrixError, send } from './reply.ts';
import { ROOM_ENDPOINTS } from './room-endpoints.ts';
import { MatrixState, type RoomSpec, type UserSpec } from './state.ts';
import { DEFAULT_TIMELINE_LIMIT, SyncWaiters } from './sync.ts';

export type { RecordedRequest, SentEvent } from './api.ts';
export type { DelaySpec, FailureSpec, RequestMatcher } from './faults.ts';
export type { RateLimit } from './rate-limit.ts';
export type { RoomSpec, UserSpec } from './state.ts';

const ENDPOINTS = [...ACCOUNT_ENDPOINTS, ...ROOM_ENDPOINTS];

/** Endpoint names for failNext, delayNext and RecordedRequest.endpoint. */
export const ENDPOINT_NAMES: ReadonlySet<string> = new Set(ENDPOINTS.map((endpoint) => endpoint.name));

export interface BotAccount {
  readonly userId: string;
  readonly accessToken: string;
  readonly password: string;
  readonly deviceId: string;
  readonly displayName: string;
}

export interface FakeMatrixOptions {
  /** Port to listen on (127.0.0.1); kept across stop()/start(). Default 0: any free port. */
  readonly port?: number;
  /** Server name in ids and in /login's home_server. Default "fake.local". */
  readonly serverName?: string;
  /**
   * Overrides of the bot account. Default user `@switchboard:<serverName>`, access token "syt_fake_bot",
   * password "secret", device "SWITCHBOARD", display name "Switchboard".
   */
  readonly bot?: Partial<BotAccount>;
  /** Other accounts, e.g. people who post with injectMessage. Default none (addRoom creates its members). */
  readonly users?: readonly UserSpec[];
  /** Rooms present from the start. Default none. */
  readonly rooms?: readonly RoomSpec[];
  /** PUT /send limit per room, answered with 429 M_LIMIT_EXCEEDED. Default none (Synapse limits per user). */
  readonly rateLimit?: RateLimit;
  /**
   * Scope of send transaction ids: "device" as in spec v1.7+ (MSC3970) and Synapse, or "token" as before.
   * Either way a repeated txnId from the same access token is deduplicated. Default "device".
   */
  readonly txnScope?: 'device' | 'token';
  /** Timeline events per room in one /sync when the client's filter sets no limit. Default 10, as Synapse. */
  readonly timelineLimit?: number;
  /** Clock for the rate limiter, in milliseconds. Default `performance.now`. */
  readonly now?: () => number;
  /** Wall clock in milliseconds, for origin_server_ts. Default `Date.now`. */
  readonly wallClock?: () => number;
}

export interface InjectedMessage {
  /** A user joined to the room. Required. */
  readonly sender: string;
  readonly body: string;
  /** Default "m.text". */
  readonly msgtype?: string;
  /** Default none; "org.matrix.custom.html" with formatted_body for HTML. */
  readonly format?: string;
  /** Default none. */
  readonly formatted_body?: string;
  /** Makes it a reply in the thread of this event (m.relates_to rel_type m.thread). Default none. */
  readonly threadRootId?: string;
}

export interface InjectedEvent {
  readonly type: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
  /** Makes it a state event. Default none. */
  readonly stateKey?: string;
}

export interface FakeMatrix {
  /** Homeserver base URL for createClient's baseUrl, e.g. `http://127.0.0.1:PORT`; the same after a restart. */
  readonly url: string;
  readonly port: number;
  readonly serverName: string;
  readonly bot: BotAccount;
  /** Every event PUT /send accepted (m.room.message or another type), in order; a replayed txnId adds none. */
  readonly sends: readonly SentEvent[];
  /** Every HTTP request received, answered or not, in order. */
  readonly requests: readonly RecordedRequest[];
  /** False between stop() and start(). */
  readonly running: boolean;
  addUser(spec: UserSpec): void;
  addRoom(spec: RoomSpec): void;
  /** Whether `userId` (default: the bot) is joined to the room now. */
  joined(roomId: string, userId?: string): boolean;
  /** User ids joined to the room now. */
  members(roomId: string): string[];
  /** The room's events, oldest first, in the client format with room_id. */
  events(roomId: string): Record<string, unknown>[];
  /**
   * Posts a message as a person and returns its event id; it appears in the next /sync of every member. In
   * an encrypted room it arrives as an undecryptable m.room.encrypted event, as a real one would.
   */
  injectMessage(roomId: string, message: InjectedMessage): string;
  /** Appends any event (a state event with `stateKey`) as `sender`, who must be joined; returns its id. */
  injectEvent(roomId: string, event: InjectedEvent): string;
  /** `inviter` (joined) invites `invitee` (default: the bot); it shows under rooms.invite in /sync. */
  invite(roomId: string, inviter: string, invitee?: string): string;
  /** Makes the next matching request(s) fail (see FailureSpec); a 429 carries retry_after_ms and Retry-After. */
  failNext(matcher: RequestMatcher, spec?: FailureSpec): void;
  /** Holds the next matching request(s) (see DelaySpec); by default the request takes effect first. */
  delayNext(matcher: RequestMatcher, spec: DelaySpec): void;
  /** Replaces the PUT /send limit per room (undefined: none) and refills every bucket. */
  setRateLimit(limit: RateLimit | undefined): void;
  /**
   * Makes the token (default: the bot's) unknown, so every request with it gets 401 M_UNKNOWN_TOKEN. A /sync
   * held with it is answered at once, so the client's next one meets the error. Says whether it was known.
   */
  revokeToken(accessToken?: string): boolean;
  /** Takes the server away: open connections (held syncs too) are cut, new ones refused. State is kept. */
  stop(): Promise<void>;
  /** Brings the server back on the same port. */
  start(): Promise<void>;
  /** stop(), wait `downMs` (default 0), start(). */
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeMatrix(options: FakeMatrixOptions = {}): Promise<FakeMatrix> {
  const serverName = options.serverName ?? 'fake.local';
  const bot: BotAccount = {
    userId: `@switchboard:${serverName}`,
    accessToken: 'syt_fake_bot',
    password: 'secret',
    deviceId: 'SWITCHBOARD',
    displayName: 'Switchboard',
    ...options.bot,
  };
  const wallClock = options.wallClock ?? (() => Date.now());
  const state = new MatrixState(serverName, wallClock);
  state.addUser({ ...bot });
  for (const user of options.users ?? []) state.addUser(user);
  for (const room of options.rooms ?? []) state.addRoom(room, bot.userId);

  const services: Services = {
    state,
    waiters: new SyncWaiters(state),
    sendLimiter: new RateLimiter(options.rateLimit, options.now ?? (() => performance.now())),
    sends: [],
    clock: wallClock,
    txnScope: options.txnScope ?? 'device',
    timelineLimit: options.timelineLimit ?? DEFAULT_TIMELINE_LIMIT,
  };
  const faults = new Faults(ENDPOINT_NAMES);
  const api = new ClientApi(ENDPOINTS, services, faults);

  let port = options.port ?? 0;
  let server: Server | undefined;
  const start = async () => {
    if (server) return;
    const next = createServer((req, res) => {
      api.handle(req, res).catch((error: unknown) => {
        send(
          res,
          error instanceof MatrixError ? error.toReply() : errorReply(500, 'M_UNKNOWN', String(error)),
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  const stop = async () => {
    const current = server;
    if (!current) return;
    server = undefined;
    // Cut connections first: held syncs and delayed answers then find their socket gone and send nothing.
    current.closeAllConnections();
    services.waiters.wake();
    faults.cancelWaits();
    await new Promise<void>((resolve, reject) =>
      current.close((error) => (error ? reject(error) : resolve())),
    );
  };
  await start();

  const roomOf = (roomId: string) => {
    const room = state.room(roomId);
    if (!room) throw new Error(`unknown room ${roomId}; add it with addRoom first`);
    return room;
  };
  const injectEvent = (roomId: string, event: InjectedEvent) => {
    const room = roomOf(roomId);
    if (state.membership(room, event.sender) !== 'join')
      throw new Error(`${event.sender} is not joined to ${roomId}; list it in addRoom({members})`);
    return state.append(room.id, event).eventId;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    serverName,
    bot,
    sends: services.sends,
    requests: api.requests,
    get running() {
      return server !== undefined;
    },
    addUser: (spec) => state.addUser(spec),
    addRoom: (spec) => {
      state.addRoom(spec, bot.userId);
    },
    joined: (roomId, userId = bot.userId) => state.membership(roomOf(roomId), userId) === 'join',
    members: (roomId) => state.members(roomOf(roomId)),
    events: (roomId) =>
      roomOf(roomId).events.map((event) =>
        clientEvent(event, { viewerScope: undefined, now: wallClock(), withRoomId: true }),
      ),
    injectMessage: (roomId, message) => {
      const encrypted = state.stateEvent(roomOf(roomId), 'm.room.encryption', '') !== undefined;
      return encrypted
        ? injectEvent(roomId, {
            type: 'm.room.encrypted',
            sender: message.sender,
            content: encryptedContent('FAKEDEVICE'),
          })
        : injectEvent(roomId, {
            type: 'm.room.message',
            sender: message.sender,
            content: messageContent(message),
          });
    },
    injectEvent,
    invite: (roomId, inviter, invitee = bot.userId) => {
      const room = roomOf(roomId);
      if (state.membership(room, inviter) !== 'join')
        throw new Error(`${inviter} is not joined to ${roomId}`);
      if (state.membership(room, invitee) === 'join')
        throw new Error(`${invitee} is already joined to ${roomId}`);
      if (!state.user(invitee)) state.addUser({ userId: invitee });
      return state.append(room.id, {
        type: 'm.room.member',
        stateKey: invitee,
        sender: inviter,
        content: state.memberContent(invitee, 'invite'),
      }).eventId;
    },
    failNext: (matcher, spec) => faults.failNext(matcher, spec),
    delayNext: (matcher, spec) => faults.delayNext(matcher, spec),
    setRateLimit: (limit) => services.sendLimiter.set(limit),
    revokeToken: (accessToken = bot.accessToken) => {
      const known = state.revoke(accessToken);
      services.waiters.wake(accessToken);
      return known;
    },
    stop,
    start,
    restart: async (downMs = 0) => {
      await stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    close: stop,
  };
}
