// The homeserver's memory: users, access tokens, rooms and one ordered event log per room. Every event gets a
// position on a single stream shared by all rooms, so a sync token is just "everything up to position N" and
// room state or membership at any token is a fold over the log. Nothing here is lost by stop()/start(): a
// restart of the fake is a restart of the HTTP side only, like a homeserver with a database.

import { randomBytes } from 'node:crypto';

export interface UserSpec {
  /** Full Matrix user id, `@localpart:server`. Required. */
  readonly userId: string;
  /** Default: the localpart. */
  readonly displayName?: string;
  /** Password for POST /login. Default: none (the user cannot log in). */
  readonly password?: string;
  /** An access token valid from the start. Default: none. */
  readonly accessToken?: string;
  /** Device of `accessToken`. Default: a random 10-letter id. */
  readonly deviceId?: string;
}

export interface RoomSpec {
  /** Room id, `!opaque:server`. Required. */
  readonly id: string;
  /** Canonical alias `#name:server`, resolvable through the room directory. Default: none. */
  readonly alias?: string;
  /** m.room.name. Default: none. */
  readonly name?: string;
  /** m.room.topic. Default: none. */
  readonly topic?: string;
  /** Users joined besides the bot (they can then post with injectMessage). Default: none. */
  readonly members?: readonly string[];
  /** Adds m.room.encryption (megolm), as an end-to-end encrypted room has. Default false. */
  readonly encrypted?: boolean;
  /** Whether the bot is joined from the start. Default false. */
  readonly joined?: boolean;
  /** m.room.join_rules: "invite" makes joining without an invite fail with 403. Default "public". */
  readonly joinRule?: 'public' | 'invite';
  /** Sender of m.room.create, joined first. Default: the first member, else the bot when joined, else `@admin:<server>`. */
  readonly creator?: string;
}

export interface Session {
  readonly accessToken: string;
  readonly userId: string;
  readonly deviceId: string;
}

export interface StoredEvent {
  /** Position on the server-wide stream; sync tokens count these. */
  readonly pos: number;
  readonly eventId: string;
  readonly roomId: string;
  readonly type: string;
  /** Present on state events only. */
  readonly stateKey?: string;
  readonly sender: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly originServerTs: number;
  /** Who sent it through PUT /send and with which txnId: shown back to that sender as unsigned.transaction_id. */
  readonly txn?: { readonly scope: string; readonly txnId: string };
}

export interface NewEvent {
  readonly type: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
  readonly stateKey?: string;
  readonly txn?: { readonly scope: string; readonly txnId: string };
}

export interface Room {
  readonly id: string;
  readonly alias: string | undefined;
  readonly events: StoredEvent[];
}

interface User {
  readonly userId: string;
  displayName: string;
  password: string | undefined;
}

/** Synapse's default room version; its m.room.create still names the `creator`, which clients read. */
const ROOM_VERSION = '10';

export class MatrixState {
  readonly serverName: string;
  readonly #clock: () => number;
  readonly #users = new Map<string, User>();
  readonly #sessions = new Map<string, Session>();
  readonly #rooms = new Map<string, Room>();
  readonly #aliases = new Map<string, string>();
  readonly #filters = new Map<string, Map<string, Record<string, unknown>>>();
  readonly #txnEvents = new Map<string, string>();
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  #pos = 0;
  #filterCounter = 0;

  /** `clock` is the wall clock in milliseconds that origin_server_ts comes from. */
  constructor(serverName: string, clock: () => number) {
    this.serverName = serverName;
    this.#clock = clock;
  }

  /** The newest stream position: a sync answered now covers everything up to it. */
  get position(): number {
    return this.#pos;
  }

  addUser(spec: UserSpec): void {
    assertUserId(spec.userId);
    const existing = this.#users.get(spec.userId);
    const user: User = existing ?? {
      userId: spec.userId,
      displayName: spec.displayName ?? localpart(spec.userId),
      password: spec.password,
    };
    if (spec.displayName !== undefined) user.displayName = spec.displayName;
    if (spec.password !== undefined) user.password = spec.password;
    this.#users.set(spec.userId, user);
    if (spec.accessToken) this.addSession(spec.userId, spec.accessToken, spec.deviceId ?? randomDeviceId());
  }

  user(userId: string): { readonly userId: string; readonly displayName: string } | undefined {
    return this.#users.get(userId);
  }

  addSession(userId: string, accessToken: string, deviceId: string): Session {
    const session = { accessToken, userId, deviceId };
    this.#sessions.set(accessToken, session);
    return session;
  }

  session(accessToken: string): Session | undefined {
    return this.#sessions.get(accessToken);
  }

  /** Forgets the token; says whether it was known. */
  revoke(accessToken: string): boolean {
    return this.#sessions.delete(accessToken);
  }

  /** A new session for a correct password, else undefined. `user` is a user id or a bare localpart. */
  login(user: string, password: string, deviceId: string | undefined): Session | undefined {
    const userId = user.startsWith('@') ? user : `@${user.toLowerCase()}:${this.serverName}`;
    const known = this.#users.get(userId);
    if (!known || known.password === undefined || known.password !== password) return undefined;
    const token = `syt_${Buffer.from(localpart(userId)).toString('base64url')}_${randomBytes(15).toString('base64url')}`;
    return this.addSession(userId, token, deviceId ?? randomDeviceId());
  }

  addRoom(spec: RoomSpec, bot: string): Room {
    if (this.#rooms.has(spec.id)) throw new Error(`room ${spec.id} already exists`);
    if (spec.alias !== undefined && this.#aliases.has(spec.alias))
      throw new Error(`alias ${spec.alias} already points at ${this.#aliases.get(spec.alias)}`);
    const members = [...(spec.members ?? [])];
    const creator = spec.creator ?? members[0] ?? (spec.joined ? bot : `@admin:${this.serverName}`);
    for (const userId of [creator, ...members]) if (!this.#users.has(userId)) this.addUser({ userId });
    const room: Room = { id: spec.id, alias: spec.alias, events: [] };
    this.#rooms.set(room.id, room);
    if (spec.alias !== undefined) this.#aliases.set(spec.alias, room.id);

    const state = (type: string, content: Record<string, unknown>, stateKey = '', sender = creator) =>
      this.append(room.id, { type, sender, content, stateKey });
    state('m.room.create', { room_version: ROOM_VERSION, creator });
    state('m.room.member', this.memberContent(creator, 'join'), creator);
    state('m.room.power_levels', {
      users: { [creator]: 100 },
      users_default: 0,
      events: { 'm.room.name': 50, 'm.room.power_levels': 100, 'm.room.encryption': 100 },
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: 0,
    });
    state('m.room.join_rules', { join_rule: spec.joinRule ?? 'public' });
    state('m.room.history_visibility', { history_visibility: 'shared' });
    if (spec.alias !== undefined) state('m.room.canonical_alias', { alias: spec.alias });
    if (spec.name !== undefined) state('m.room.name', { name: spec.name });
    if (spec.topic !== undefined) state('m.room.topic', { topic: spec.topic });
    if (spec.encrypted) state('m.room.encryption', { algorithm: 'm.megolm.v1.aes-sha2' });
    const joiners = new Set([...members, ...(spec.joined ? [bot] : [])]);
    joiners.delete(creator);
    for (const userId of joiners) state('m.room.member', this.memberContent(userId, 'join'), userId, userId);
    return room;
  }

  room(roomId: string): Room | undefined {
    return this.#rooms.get(roomId);
  }

  rooms(): Room[] {
    return [...this.#rooms.values()];
  }

  resolveAlias(alias: string): string | undefined {
    return this.#aliases.get(alias);
  }

  /** Content of an m.room.member event with the user's profile, as Synapse fills it in for joins and invites. */
  memberContent(userId: string, membership: string): Record<string, unknown> {
    const displayName = this.#users.get(userId)?.displayName;
    return membership === 'join' || membership === 'invite'
      ? { membership, ...(displayName !== undefined ? { displayname: displayName } : {}) }
      : { membership };
  }

  append(roomId: string, event: NewEvent): StoredEvent {
    const room = this.#rooms.get(roomId);
    if (!room) throw new Error(`unknown room ${roomId}`);
    this.#pos += 1;
    const stored: StoredEvent = {
      pos: this.#pos,
      eventId: `$${randomBytes(32).toString('base64url')}`,
      roomId,
      type: event.type,
      ...(event.stateKey !== undefined ? { stateKey: event.stateKey } : {}),
      sender: event.sender,
      content: event.content,
      originServerTs: this.#clock(),
      ...(event.txn ? { txn: event.txn } : {}),
    };
    room.events.push(stored);
    if (event.txn)
      this.#txnEvents.set(txnKey(event.txn.scope, roomId, event.type, event.txn.txnId), stored.eventId);
    for (const listener of this.#listeners) listener(stored);
    return stored;
  }

  /** The event an earlier PUT /send with the same scope, room, type and txnId created, if any. */
  txnEvent(scope: string, roomId: string, type: string, txnId: string): string | undefined {
    return this.#txnEvents.get(txnKey(scope, roomId, type, txnId));
  }

  /** Calls `listener` after every appended event; returns the unsubscribe function. */
  onAppend(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Room state after every event up to stream position `at` (default: now), keyed by `type\0stateKey`. */
  stateAt(room: Room, at = Number.POSITIVE_INFINITY): Map<string, StoredEvent> {
    const state = new Map<string, StoredEvent>();
    for (const event of room.events) {
      if (event.pos > at) break;
      if (event.stateKey !== undefined) state.set(stateKey(event.type, event.stateKey), event);
    }
    return state;
  }

  stateEvent(room: Room, type: string, key: string, at?: number): StoredEvent | undefined {
    return this.stateAt(room, at).get(stateKey(type, key));
  }

  /** The user's membership at stream position `at` (default: now); undefined when they never had one. */
  membership(room: Room, userId: string, at?: number): string | undefined {
    const content = this.stateEvent(room, 'm.room.member', userId, at)?.content;
    return typeof content?.membership === 'string' ? content.membership : undefined;
  }

  /** User ids whose current membership is `membership` (default join). */
  members(room: Room, membership = 'join'): string[] {
    const ids: string[] = [];
    for (const event of this.stateAt(room).values())
      if (event.type === 'm.room.member' && event.content.membership === membership && event.stateKey)
        ids.push(event.stateKey);
    return ids;
  }

  joinedRooms(userId: string): Room[] {
    return this.rooms().filter((room) => this.membership(room, userId) === 'join');
  }

  saveFilter(userId: string, definition: Record<string, unknown>): string {
    const filters = this.#filters.get(userId) ?? new Map<string, Record<string, unknown>>();
    this.#filters.set(userId, filters);
    this.#filterCounter += 1;
    const id = String(this.#filterCounter);
    filters.set(id, definition);
    return id;
  }

  filter(userId: string, filterId: string): Record<string, unknown> | undefined {
    return this.#filters.get(userId)?.get(filterId);
  }
}

export function localpart(userId: string): string {
  return userId.slice(1, userId.includes(':') ? userId.indexOf(':') : undefined);
}

export function serverOf(id: string): string {
  return id.slice(id.indexOf(':') + 1);
}

function assertUserId(userId: string): void {
  if (!/^@[^:]+:.+$/.test(userId)) throw new Error(`not a Matrix user id: ${userId}`);
}

function stateKey(type: string, key: string): string {
  return `${type}\u0000${key}`;
}

function txnKey(scope: string, roomId: string, type: string, txnId: string): string {
  return [scope, roomId, type, txnId].join('\u0000');
}

function randomDeviceId(): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return Array.from(randomBytes(10), (byte) => letters[byte % letters.length]).join('');
}
