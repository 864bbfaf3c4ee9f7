import { setTimeout as sleep } from 'node:timers/promises';
import { type IRequestOpts, type MatrixClient, MatrixError, Method } from 'matrix-js-sdk';
import type { Logger } from 'pino';
import { matrixFailure } from './matrix-errors.ts';
import type { Rooms } from './rooms.ts';
import type { SyncToken } from './sync-token.ts';

export interface RoomEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  unsigned?: { prev_content?: { membership?: string } };
}

interface JoinedRoom {
  timeline?: { events?: RoomEvent[]; limited?: boolean; prev_batch?: string };
  state?: { events?: RoomEvent[] };
}

interface SyncResponse {
  next_batch: string;
  rooms?: {
    join?: Record<string, JoinedRoom>;
    invite?: Record<string, { invite_state?: { events?: RoomEvent[] } }>;
    leave?: Record<string, unknown>;
  };
}

/** What the pack does with what sync brings; a rejection makes the loop try the same batch again. */
export interface SyncObserver {
  /** A message by someone else in a joined room, live (never the backlog a join or first start brings). */
  message(roomId: string, event: RoomEvent): Promise<void>;
  /** A message in an end-to-end encrypted room, which the pack cannot read. */
  encrypted(roomId: string, event: RoomEvent): Promise<void>;
  invite(roomId: string, inviter: string, event: RoomEvent): Promise<void>;
}

const POLL_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;
const GAP_PAGE = 100;
// Only what the pack reads: no presence, receipts, typing or account data.
const filter = (timelineLimit: number) =>
  JSON.stringify({
    presence: { not_types: ['*'] },
    account_data: { not_types: ['*'] },
    room: {
      timeline: {
        limit: timelineLimit,
        types: ['m.room.message', 'm.room.encrypted', 'm.room.member', 'm.room.encryption'],
      },
      state: { types: ['m.room.encryption'] },
      ephemeral: { not_types: ['*'] },
      account_data: { not_types: ['*'] },
    },
  });

/**
 * The pack's own sync loop, on matrix-js-sdk's HTTP client. The SDK's startClient keeps its sync token in
 * memory and moves on as soon as a batch arrives; the pack must move on only once every event of a batch
 * is on the bus, and must resume from there after a restart. So it long-polls /sync itself, hands each
 * batch to the observer, and saves `next_batch` only when the observer is done. A batch that fails is
 * fetched and handled again (events carry their event_id as identity, so a repeat is the same event).
 */
export class SyncLoop {
  readonly #client: MatrixClient;
  readonly #userId: string;
  readonly #rooms: Rooms;
  readonly #token: SyncToken;
  readonly #observer: SyncObserver;
  readonly #logger: Logger;
  readonly #onFatal: (error: Error) => void;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;

  constructor(options: {
    client: MatrixClient;
    userId: string;
    rooms: Rooms;
    token: SyncToken;
    observer: SyncObserver;
    logger: Logger;
    onFatal: (error: Error) => void;
  }) {
    this.#client = options.client;
    this.#userId = options.userId;
    this.#rooms = options.rooms;
    this.#token = options.token;
    this.#observer = options.observer;
    this.#logger = options.logger;
    this.#onFatal = options.onFatal;
  }

  /** Catches up once (from the saved token, or the present on a first start), then polls in the background. */
  async start(): Promise<void> {
    await this.#once(0);
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        await this.#once(POLL_TIMEOUT_MS);
        if (failures > 0) this.#logger.info({ after: failures }, 'Matrix sync resumed');
        failures = 0;
      } catch (error) {
        if (this.#stop.signal.aborted) return;
        if (
          error instanceof MatrixError &&
          (error.errcode === 'M_UNKNOWN_TOKEN' || error.errcode === 'M_MISSING_TOKEN')
        ) {
          this.#onFatal(
            new Error(
              `MATRIX_ACCESS_TOKEN: the homeserver no longer accepts the token (${error.errcode}); it was revoked or logged out`,
            ),
          );
          return;
        }
        failures += 1;
        const failure = matrixFailure(error, 'sync');
        const waitMs = failure.retryAfterMs ?? Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures);
        if (failures === 1 || failures % 10 === 0)
          this.#logger.warn(
            { reason: failure.message, failures, waitMs },
            'Matrix sync failed; trying again',
          );
        await sleep(waitMs, undefined, { signal: this.#stop.signal }).catch(() => {});
      }
    }
  }

  async #once(timeoutMs: number): Promise<void> {
    const since = this.#token.since;
    const response = await this.#client.http.authedRequest<SyncResponse>(
      Method.Get,
      '/sync',
      {
        // A first start begins at the present: the rooms' history is not news.
        filter: filter(since ? 50 : 0),
        timeout: String(timeoutMs),
        ...(since ? { since } : {}),
      },
      undefined,
      { abortSignal: this.#stop.signal, localTimeoutMs: timeoutMs + 30_000 } as IRequestOpts,
    );
    await this.#handle(response, since);
    await this.#token.save(response.next_batch);
  }

  async #handle(response: SyncResponse, since: string | undefined): Promise<void> {
    const rooms = response.rooms ?? {};
    for (const roomId of Object.keys(rooms.leave ?? {})) this.#rooms.markLeft(roomId);
    for (const [roomId, room] of Object.entries(rooms.join ?? {})) {
      this.#rooms.markJoined(roomId);
      for (const event of room.state?.events ?? []) this.#noteState(roomId, event);
      const events = [...(await this.#gap(roomId, room, since)), ...(room.timeline?.events ?? [])];
      for (const event of this.#afterOwnJoin(events)) {
        this.#noteState(roomId, event);
        if (event.sender === this.#userId) continue;
        if (event.type === 'm.room.message') await this.#observer.message(roomId, event);
        else if (event.type === 'm.room.encrypted') await this.#observer.encrypted(roomId, event);
      }
    }
    for (const [roomId, invite] of Object.entries(rooms.invite ?? {})) {
      const event = invite.invite_state?.events?.find(
        (candidate) =>
          candidate.type === 'm.room.member' &&
          candidate.state_key === this.#userId &&
          candidate.content.membership === 'invite',
      );
      if (event) await this.#observer.invite(roomId, event.sender, event);
    }
  }

  #noteState(roomId: string, event: RoomEvent): void {
    if (event.type === 'm.room.encryption') this.#rooms.markEncrypted(roomId);
    if (event.type === 'm.room.member' && event.state_key === this.#userId) {
      const membership = event.content.membership;
      if (membership === 'join') this.#rooms.markJoined(roomId);
      else if (membership === 'leave' || membership === 'ban') this.#rooms.markLeft(roomId);
    }
  }

  /** A join brings the room's recent history along: only what follows the bot's own join is live. */
  #afterOwnJoin(events: RoomEvent[]): RoomEvent[] {
    const join = events.findLastIndex(
      (event) =>
        event.type === 'm.room.member' &&
        event.state_key === this.#userId &&
        event.content.membership === 'join' &&
        event.unsigned?.prev_content?.membership !== 'join',
    );
    return join < 0 ? events : events.slice(join);
  }

  /**
   * A `limited` timeline skipped events (more arrived than the filter's limit): they are fetched with
   * /messages, back from the timeline's start to the previous batch, so none is missed.
   */
  async #gap(roomId: string, room: JoinedRoom, since: string | undefined): Promise<RoomEvent[]> {
    if (!since || !room.timeline?.limited || !room.timeline.prev_batch) return [];
    const missed: RoomEvent[] = [];
    let from: string | undefined = room.timeline.prev_batch;
    while (from) {
      const page: { chunk?: RoomEvent[]; end?: string } = await this.#client.http.authedRequest(
        Method.Get,
        `/rooms/${encodeURIComponent(roomId)}/messages`,
        { from, to: since, dir: 'b', limit: String(GAP_PAGE) },
        undefined,
        { abortSignal: this.#stop.signal } as IRequestOpts,
      );
      const chunk = page.chunk ?? [];
      missed.push(...chunk);
      from = chunk.length > 0 && page.end !== from ? page.end : undefined;
    }
    this.#logger.info({ roomId, missed: missed.length }, 'fetched the events a limited sync left out');
    return missed.reverse();
  }
}
