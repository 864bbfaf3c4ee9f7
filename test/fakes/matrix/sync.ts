// GET /sync (https://spec.matrix.org/v1.13/client-server-api/#get_matrixclientv3sync): what changed for one
// user between a `since` token and now, and the long-poll that holds the request until something does.
// A token names a stream position, so an answer built at position N with next_batch N can neither repeat an
// event (the next answer starts after N) nor skip one (everything up to N was looked at).
//
// Shapes follow Synapse: rooms the user is joined to go under rooms.join, a room is "new" to the client
// (full state plus the most recent events, limited) on the initial sync and on the first sync after a join,
// pending invites go under rooms.invite with stripped state, and a room left since the token goes under
// rooms.leave up to the leave. The only filter field honoured is room.timeline.limit, default 10 as in
// Synapse: a burst larger than that in one sync comes back `limited: true` with a prev_batch for /messages.

import { clientEvent, INVITE_STATE_TYPES, strippedEvent } from './events.ts';
import { MatrixError } from './reply.ts';
import type { MatrixState, Room, StoredEvent } from './state.ts';

export const DEFAULT_TIMELINE_LIMIT = 10;

export interface SyncQuery {
  readonly userId: string;
  /** Transaction scope of the syncing session (see clientEvent). */
  readonly viewerScope: string;
  /** Stream position of `since`; undefined for an initial sync. */
  readonly since: number | undefined;
  readonly timelineLimit: number;
}

export interface SyncResult {
  readonly body: Record<string, unknown>;
  /** Nothing for this user: the long-poll should keep waiting. */
  readonly empty: boolean;
}

export function streamToken(pos: number): string {
  return `s${pos}`;
}

/** The stream position of a token this fake issued; anything else is a 400, as Synapse answers. */
export function parseStreamToken(token: string, name: string): number {
  const match = /^s(\d+)$/.exec(token);
  if (!match) throw new MatrixError(400, 'M_INVALID_PARAM', `Invalid ${name} token: ${token}`);
  return Number(match[1]);
}

/** room.timeline.limit of a filter definition, when it sets a usable one. */
export function timelineLimitOf(filter: Record<string, unknown> | undefined): number | undefined {
  const room = filter?.room as { timeline?: { limit?: unknown } } | undefined;
  const limit = room?.timeline?.limit;
  return typeof limit === 'number' && Number.isInteger(limit) && limit >= 0 ? limit : undefined;
}

export function buildSync(state: MatrixState, query: SyncQuery, now: number): SyncResult {
  const upTo = state.position;
  const join: Record<string, unknown> = {};
  const invite: Record<string, unknown> = {};
  const leave: Record<string, unknown> = {};
  const format = (event: StoredEvent) =>
    clientEvent(event, { viewerScope: query.viewerScope, now, withRoomId: false });

  for (const room of state.rooms()) {
    const { userId, since } = query;
    const nowMembership = state.membership(room, userId, upTo);
    const thenMembership = since === undefined ? undefined : state.membership(room, userId, since);
    if (nowMembership === 'join') {
      const isNew = since === undefined || thenMembership !== 'join';
      const candidates = room.events.filter((e) => e.pos <= upTo && (isNew || e.pos > (since ?? 0)));
      if (candidates.length === 0) continue;
      join[room.id] = joinedRoom(state, room, candidates, isNew, query.timelineLimit, format);
    } else if (nowMembership === 'invite') {
      const inviteEvent = state.stateEvent(room, 'm.room.member', userId, upTo);
      if (!inviteEvent || (since !== undefined && inviteEvent.pos <= since)) continue;
      const stripped = [...state.stateAt(room, upTo).values()].filter((e) => INVITE_STATE_TYPES.has(e.type));
      const inviter = state.stateEvent(room, 'm.room.member', inviteEvent.sender, upTo);
      if (inviter) stripped.push(inviter);
      // Synapse ends invite_state with the invite itself, in full, so clients can show who invited them.
      invite[room.id] = { invite_state: { events: [...stripped.map(strippedEvent), format(inviteEvent)] } };
    } else if (since !== undefined && (thenMembership === 'join' || thenMembership === 'invite')) {
      const leaveEvent = state.stateEvent(room, 'm.room.member', userId, upTo);
      const until = leaveEvent?.pos ?? upTo;
      const events = room.events.filter((e) => e.pos > since && e.pos <= until);
      const timeline = lastN(events, query.timelineLimit);
      leave[room.id] = {
        state: { events: [] },
        timeline: {
          events: timeline.map(format),
          limited: timeline.length < events.length,
          prev_batch: streamToken((timeline[0]?.pos ?? until + 1) - 1),
        },
        account_data: { events: [] },
      };
    }
  }

  const rooms: Record<string, unknown> = {};
  if (Object.keys(join).length > 0) rooms.join = join;
  if (Object.keys(invite).length > 0) rooms.invite = invite;
  if (Object.keys(leave).length > 0) rooms.leave = leave;
  const empty = Object.keys(rooms).length === 0;
  return { body: { next_batch: streamToken(upTo), ...(empty ? {} : { rooms }) }, empty };
}

function joinedRoom(
  state: MatrixState,
  room: Room,
  events: StoredEvent[],
  isNew: boolean,
  limit: number,
  format: (event: StoredEvent) => Record<string, unknown>,
): Record<string, unknown> {
  const timeline = lastN(events, limit);
  const limited = timeline.length < events.length;
  const lastPos = events.at(-1)?.pos ?? 0;
  const startPos = (timeline[0]?.pos ?? lastPos + 1) - 1;
  // With a gap (or on a room new to the client) the state block must bring the client up to the start of
  // the timeline; sending it whole rather than as a delta is allowed and keeps this simple.
  const stateEvents = isNew || limited ? [...state.stateAt(room, startPos).values()] : [];
  const joined = state.members(room, 'join');
  return {
    timeline: { events: timeline.map(format), limited, prev_batch: streamToken(startPos) },
    state: { events: stateEvents.map(format) },
    account_data: { events: [] },
    ephemeral: { events: [] },
    unread_notifications: { notification_count: 0, highlight_count: 0 },
    summary: {
      'm.joined_member_count': joined.length,
      'm.invited_member_count': state.members(room, 'invite').length,
      'm.heroes': joined.slice(0, 5),
    },
  };
}

function lastN<T>(items: readonly T[], n: number): T[] {
  return n <= 0 ? [] : items.slice(-n);
}

interface Waiter {
  readonly accessToken: string;
  readonly poll: () => SyncResult | undefined;
  readonly finish: (result: SyncResult | undefined) => void;
}

/** Long-polling /sync requests, woken when an event is appended (once per tick, so a burst arrives together). */
export class SyncWaiters {
  readonly #waiters = new Set<Waiter>();
  #scheduled = false;

  constructor(state: MatrixState) {
    state.onAppend(() => {
      if (this.#scheduled) return;
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        for (const waiter of [...this.#waiters]) {
          const result = waiter.poll();
          if (result) waiter.finish(result);
        }
      });
    });
  }

  /**
   * Resolves with the first non-empty result of `poll` after an append, or undefined when `timeoutMs` passes,
   * `signal` aborts (the client went away) or the waiter is woken.
   */
  wait(
    accessToken: string,
    poll: () => SyncResult | undefined,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<SyncResult | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => waiter.finish(undefined), timeoutMs);
      const onAbort = () => waiter.finish(undefined);
      const waiter: Waiter = {
        accessToken,
        poll,
        finish: (result) => {
          if (!this.#waiters.delete(waiter)) return;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
      };
      this.#waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
  }

  /** Ends the waits of `accessToken` (every wait when undefined) now, as if they had timed out. */
  wake(accessToken?: string): void {
    for (const waiter of [...this.#waiters])
      if (accessToken === undefined || waiter.accessToken === accessToken) waiter.finish(undefined);
  }
}
