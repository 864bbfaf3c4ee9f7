// Room endpoints: membership, sending, the room directory and reading a room. Status codes and error
// sentences copy Synapse's (synapse/handlers/room_member.py, synapse/event_auth.py,
// synapse/handlers/message.py), since those are what a pack meets in production.

import { txnScopeOf } from './account-endpoints.ts';
import { type Context, type Endpoint, V3 } from './api.ts';
import { clientEvent } from './events.ts';
import { limitExceeded, MatrixError, ok, type Reply } from './reply.ts';
import type { Room, Session, StoredEvent } from './state.ts';
import { parseStreamToken, streamToken } from './sync.ts';

const ROOM = '/rooms/([^/]+)';

export const ROOM_ENDPOINTS: readonly Endpoint[] = [
  { name: 'join', method: 'POST', path: route('/join/([^/]+)'), auth: 'required', handle: join },
  { name: 'join', method: 'POST', path: route(`${ROOM}/join`), auth: 'required', handle: join },
  { name: 'leave', method: 'POST', path: route(`${ROOM}/leave`), auth: 'required', handle: leave },
  {
    name: 'send',
    method: 'PUT',
    path: route(`${ROOM}/send/([^/]+)/([^/]+)`),
    auth: 'required',
    handle: sendEvent,
  },
  {
    // Public: the seed's curl resolves an alias with no token, and the spec marks it unauthenticated.
    name: 'directory',
    method: 'GET',
    path: route('/directory/room/([^/]+)'),
    auth: 'none',
    handle: (context) => {
      const alias = context.params[0] ?? '';
      if (!/^#[^:]+:.+$/.test(alias)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Room alias invalid');
      const roomId = context.services.state.resolveAlias(alias);
      if (!roomId) throw new MatrixError(404, 'M_NOT_FOUND', `Room alias ${alias} not found`);
      return ok({ room_id: roomId, servers: [context.services.state.serverName] });
    },
  },
  {
    name: 'joined_rooms',
    method: 'GET',
    path: route('/joined_rooms'),
    auth: 'required',
    handle: (context) =>
      ok({ joined_rooms: context.services.state.joinedRooms(sessionOf(context).userId).map((r) => r.id) }),
  },
  {
    name: 'state',
    method: 'GET',
    path: route(`${ROOM}/state`),
    auth: 'required',
    handle: (context) => {
      const room = readableRoom(context);
      return ok([...context.services.state.stateAt(room).values()].map((e) => format(context, e, true)));
    },
  },
  {
    name: 'state',
    method: 'GET',
    path: route(`${ROOM}/state/([^/]+)`),
    auth: 'required',
    handle: stateEvent,
  },
  {
    name: 'state',
    method: 'GET',
    path: route(`${ROOM}/state/([^/]+)/([^/]*)`),
    auth: 'required',
    handle: stateEvent,
  },
  {
    name: 'members',
    method: 'GET',
    path: route(`${ROOM}/members`),
    auth: 'required',
    handle: (context) => {
      const room = readableRoom(context);
      const only = context.query.get('membership');
      const not = context.query.get('not_membership');
      const chunk = [...context.services.state.stateAt(room).values()]
        .filter((e) => e.type === 'm.room.member')
        .filter((e) => (only === null || e.content.membership === only) && e.content.membership !== not)
        .map((e) => format(context, e, true));
      return ok({ chunk });
    },
  },
  {
    name: 'joined_members',
    method: 'GET',
    path: route(`${ROOM}/joined_members`),
    auth: 'required',
    handle: (context) => {
      const room = readableRoom(context);
      const { state } = context.services;
      const joined = Object.fromEntries(
        state
          .members(room)
          .map((userId) => [
            userId,
            { display_name: state.user(userId)?.displayName ?? null, avatar_url: null },
          ]),
      );
      return ok({ joined });
    },
  },
  { name: 'messages', method: 'GET', path: route(`${ROOM}/messages`), auth: 'required', handle: messages },
  {
    name: 'event',
    method: 'GET',
    path: route(`${ROOM}/event/([^/]+)`),
    auth: 'required',
    handle: (context) => {
      const room = readableRoom(context);
      const event = room.events.find((e) => e.eventId === context.params[1]);
      if (!event) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found.');
      return ok(format(context, event, true));
    },
  },
];

function route(path: string): RegExp {
  return new RegExp(`^${V3}${path}$`);
}

function sessionOf(context: Context): Session {
  if (!context.session) throw new Error('endpoint needs auth "required"');
  return context.session;
}

function format(context: Context, event: StoredEvent, withRoomId: boolean): Record<string, unknown> {
  const viewerScope = txnScopeOf(sessionOf(context), context.services.txnScope);
  return clientEvent(event, { viewerScope, now: context.services.clock(), withRoomId });
}

/** The room of params[0] when the requester is joined to it; Synapse answers the same for unknown rooms. */
function readableRoom(context: Context): Room {
  const roomId = context.params[0] ?? '';
  const { userId } = sessionOf(context);
  const room = context.services.state.room(roomId);
  if (!room || context.services.state.membership(room, userId) !== 'join')
    throw new MatrixError(
      403,
      'M_FORBIDDEN',
      `User ${userId} not in room ${roomId}, and room previews are disabled`,
    );
  return room;
}

/** POST /join/{roomIdOrAlias} and /rooms/{roomId}/join. Joining again changes nothing, as in Synapse. */
function join(context: Context): Reply {
  const { state } = context.services;
  const { userId } = sessionOf(context);
  const target = context.params[0] ?? '';
  const roomId = target.startsWith('#') ? state.resolveAlias(target) : target;
  if (roomId === undefined) throw new MatrixError(404, 'M_NOT_FOUND', `Room alias ${target} not found`);
  const room = state.room(roomId);
  if (!room) throw new MatrixError(404, 'M_NOT_FOUND', 'No known servers');
  const membership = state.membership(room, userId);
  if (membership === 'join') return ok({ room_id: room.id });
  if (membership === 'ban') throw new MatrixError(403, 'M_FORBIDDEN', 'You are banned from this room');
  const joinRule = state.stateEvent(room, 'm.room.join_rules', '')?.content.join_rule;
  if (joinRule !== 'public' && membership !== 'invite')
    throw new MatrixError(403, 'M_FORBIDDEN', 'You are not invited to this room.');
  state.append(room.id, {
    type: 'm.room.member',
    stateKey: userId,
    sender: userId,
    content: state.memberContent(userId, 'join'),
  });
  return ok({ room_id: room.id });
}

/**
 * POST /rooms/{roomId}/leave, answered as Synapse does for a user who is not in the room:
 * - a room the server does not know: 404 M_UNKNOWN "Not a known room" (room_member.py, host not in room);
 * - a room the user left by themselves: 200 {} with no new event (a duplicate membership change);
 * - a room the user never joined, or was kicked from: 403 M_FORBIDDEN "<user> not in room <room>."
 *   (event_auth.py). A pack that treats "leave a room I am not in" as success must map these itself.
 */
function leave(context: Context): Reply {
  const { state } = context.services;
  const { userId } = sessionOf(context);
  const roomId = context.params[0] ?? '';
  const room = state.room(roomId);
  if (!room) throw new MatrixError(404, 'M_UNKNOWN', 'Not a known room');
  const member = state.stateEvent(room, 'm.room.member', userId);
  const membership = member?.content.membership;
  if (membership === 'leave' && member?.sender === userId) return ok();
  if (membership !== 'join' && membership !== 'invite' && membership !== 'knock')
    throw new MatrixError(403, 'M_FORBIDDEN', `${userId} not in room ${roomId}.`);
  state.append(room.id, {
    type: 'm.room.member',
    stateKey: userId,
    sender: userId,
    content: { membership: 'leave' },
  });
  return ok();
}

/**
 * PUT /rooms/{roomId}/send/{eventType}/{txnId}. A txnId already used in the same scope (see txnScopeOf) for
 * the same room and type answers with the original event id and adds nothing, before any other check, as
 * Synapse's transaction cache does; only accepted sends are remembered, so a refused send can be retried.
 */
function sendEvent(context: Context): Reply {
  const { state, sendLimiter, sends, txnScope } = context.services;
  const session = sessionOf(context);
  const [roomId = '', type = '', txnId = ''] = context.params;
  const scope = txnScopeOf(session, txnScope);
  const existing = state.txnEvent(scope, roomId, type, txnId);
  if (existing) return ok({ event_id: existing });
  const room = state.room(roomId);
  if (!room) throw new MatrixError(403, 'M_FORBIDDEN', 'Unknown room');
  const membership = state.membership(room, session.userId);
  if (membership !== 'join')
    throw new MatrixError(
      403,
      'M_FORBIDDEN',
      `User ${session.userId} not in room ${roomId} (${membership === undefined ? 'None' : `membership=${membership}`})`,
    );
  const admission = sendLimiter.take(roomId);
  if (!admission.allowed) return limitExceeded(admission.retryAfterMs);
  const content = context.body;
  const event = state.append(room.id, { type, sender: session.userId, content, txn: { scope, txnId } });
  sends.push({
    roomId,
    type,
    txnId,
    content,
    eventId: event.eventId,
    sender: session.userId,
    deviceId: session.deviceId,
  });
  return ok({ event_id: event.eventId });
}

function stateEvent(context: Context): Reply {
  const room = readableRoom(context);
  const [, type = '', key = ''] = context.params;
  const event = context.services.state.stateEvent(room, type, key);
  if (!event) throw new MatrixError(404, 'M_NOT_FOUND', 'Event not found.');
  return ok(context.query.get('format') === 'event' ? format(context, event, true) : event.content);
}

/**
 * GET /rooms/{roomId}/messages: pages through the room with the same tokens /sync hands out (prev_batch),
 * so a client that got `limited: true` can fetch the gap. Going backwards, `end` is left out once the start of
 * the room is reached; going forwards it is always there, since a live room may still grow.
 */
function messages(context: Context): Reply {
  const room = readableRoom(context);
  const { query } = context;
  const backwards = (query.get('dir') ?? 'b') === 'b';
  const requested = Number(query.get('limit') ?? 10);
  const limit = Number.isInteger(requested) && requested > 0 ? Math.min(requested, 1000) : 10;
  const fromParam = query.get('from');
  const toParam = query.get('to');
  const from = fromParam
    ? parseStreamToken(fromParam, 'from')
    : backwards
      ? context.services.state.position
      : 0;
  const to = toParam ? parseStreamToken(toParam, 'to') : undefined;
  const inRange = backwards
    ? room.events.filter((e) => e.pos <= from && (to === undefined || e.pos > to)).reverse()
    : room.events.filter((e) => e.pos > from && (to === undefined || e.pos <= to));
  const chunk = inRange.slice(0, limit);
  const last = chunk.at(-1);
  const more = inRange.length > chunk.length;
  return ok({
    start: streamToken(from),
    ...(last && (more || !backwards) ? { end: streamToken(backwards ? last.pos - 1 : last.pos) } : {}),
    chunk: chunk.map((e) => format(context, e, true)),
  });
}
