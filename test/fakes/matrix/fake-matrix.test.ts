// Drives the fake homeserver with the real matrix-js-sdk client, so the fake is held to what the SDK sends
// and expects, and asserts what a client observes: sync states, timeline events, answers and errors.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  ClientEvent,
  createClient,
  EventType,
  type MatrixClient,
  type MatrixError,
  type MatrixEvent,
  Method,
  MsgType,
  RoomEvent,
  type SyncState,
} from 'matrix-js-sdk';
import { type Logger, logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import { type FakeMatrix, type FakeMatrixOptions, startFakeMatrix } from './index.ts';

// Some SDK modules (Room, MatrixScheduler, MatrixRTC) log through the SDK's global loglevel logger at debug
// level whatever logger the client was given; its child loggers copy the root's methodFactory.
const globalLogger = sdkGlobalLogger as typeof sdkGlobalLogger & { methodFactory: unknown; rebuild(): void };
globalLogger.methodFactory = () => () => {};
globalLogger.rebuild();

const silent: Logger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  getChild: () => silent,
};

const ROOM = '!deploys:fake.local';
const ALIAS = '#deploys:fake.local';
const ALICE = '@alice:fake.local';

let fake: FakeMatrix;
const clients: MatrixClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.stopClient();
  await fake?.close();
});

async function withFake(options: FakeMatrixOptions = {}): Promise<FakeMatrix> {
  fake = await startFakeMatrix({
    users: [{ userId: ALICE, displayName: 'Alice' }],
    rooms: [{ id: ROOM, alias: ALIAS, name: 'Deploys', members: [ALICE], joined: true }],
    ...options,
  });
  return fake;
}

function botClient(accessToken = fake.bot.accessToken): MatrixClient {
  const client = createClient({
    baseUrl: fake.url,
    accessToken,
    userId: fake.bot.userId,
    deviceId: fake.bot.deviceId,
    logger: silent,
  });
  clients.push(client);
  return client;
}

/** Starts the client and resolves once it is PREPARED (rejects if it errors first). */
async function syncing(client: MatrixClient): Promise<void> {
  const prepared = new Promise<void>((resolve, reject) => {
    const onSync = (state: SyncState, _previous: SyncState | null, data?: { error?: Error }) => {
      if (state === 'PREPARED') resolve();
      if (state === 'ERROR') reject(data?.error ?? new Error('sync error'));
    };
    client.on(ClientEvent.Sync, onSync);
  });
  await client.startClient({ initialSyncLimit: 0 });
  await prepared;
}

/** Live timeline events as the client emits them, in order; local echoes of its own sends included. */
function liveTimeline(client: MatrixClient): MatrixEvent[] {
  const seen: MatrixEvent[] = [];
  client.on(RoomEvent.Timeline, (event, _room, toStartOfTimeline, _removed, data) => {
    if (!toStartOfTimeline && data.liveEvent) seen.push(event);
  });
  return seen;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rejection(promise: Promise<unknown>): Promise<MatrixError> {
  try {
    await promise;
  } catch (error) {
    return error as MatrixError;
  }
  assert.fail('expected a rejection');
}

/** A plain HTTP request, for what the SDK hides (headers, exact bodies, long-poll timing). */
async function http(
  path: string,
  init: { method?: string; token?: string | null; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const token = init.token === undefined ? fake.bot.accessToken : init.token;
  const response = await fetch(`${fake.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

const sendPath = (roomId: string, txnId: string) =>
  `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;

describe('fake Matrix homeserver through matrix-js-sdk', () => {
  test('startClient reaches PREPARED with the joined room, its name and the bot as a member', async () => {
    await withFake();
    const client = botClient();
    await syncing(client);

    const room = client.getRoom(ROOM);
    assert.equal(room?.name, 'Deploys');
    assert.equal(room?.getMyMembership(), 'join');
    assert.equal(room?.getMember(ALICE)?.name, 'Alice');
    assert.equal(room?.hasEncryptionStateEvent(), false);
    const served = new Set(fake.requests.filter((r) => r.status === 200).map((r) => r.endpoint));
    for (const endpoint of ['versions', 'pushrules', 'filter', 'sync', 'capabilities'])
      assert.ok(served.has(endpoint), `${endpoint} was served`);
  });

  test('an injected message arrives as a live timeline event exactly once', async () => {
    await withFake();
    const client = botClient();
    const seen = liveTimeline(client);
    await syncing(client);

    const first = fake.injectMessage(ROOM, { sender: ALICE, body: 'deploy finished' });
    await waitFor('the first message', () => seen.some((e) => e.getId() === first));
    const second = fake.injectMessage(ROOM, { sender: ALICE, body: 'and verified' });
    await waitFor('the second message', () => seen.some((e) => e.getId() === second));

    const messages = seen.filter((e) => e.getType() === 'm.room.message');
    assert.deepEqual(
      messages.map((e) => [e.getSender(), e.getContent().body]),
      [
        [ALICE, 'deploy finished'],
        [ALICE, 'and verified'],
      ],
    );
  });

  test('a thread reply and HTML keep their content', async () => {
    await withFake();
    const client = botClient();
    const seen = liveTimeline(client);
    await syncing(client);

    const root = fake.injectMessage(ROOM, { sender: ALICE, body: 'root' });
    const reply = fake.injectMessage(ROOM, {
      sender: ALICE,
      body: 'reply',
      format: 'org.matrix.custom.html',
      formatted_body: '<b>reply</b>',
      threadRootId: root,
    });
    await waitFor('the reply', () => seen.some((e) => e.getId() === reply));
    const event = seen.find((e) => e.getId() === reply);
    assert.equal(event?.getContent().formatted_body, '<b>reply</b>');
    assert.equal(event?.threadRootId, root);
  });

  test('the same txnId twice gives one event and the same event_id; the echo carries it', async () => {
    await withFake();
    const client = botClient();
    const seen = liveTimeline(client);
    await syncing(client);

    const content = { msgtype: MsgType.Text, body: 'once only' } as const;
    const first = await client.sendEvent(ROOM, EventType.RoomMessage, { ...content }, 'cmd-42');
    // A redelivered command, sent again on the same path by a client that knows nothing of the first.
    const again = await client.http.authedRequest<{ event_id: string }>(
      Method.Put,
      sendPath(ROOM, 'cmd-42'),
      undefined,
      {
        ...content,
      },
    );
    assert.equal(again.event_id, first.event_id);
    assert.equal(fake.sends.length, 1);
    assert.equal(fake.events(ROOM).filter((e) => e.type === 'm.room.message').length, 1);

    await waitFor(
      'the remote echo',
      () => client.getRoom(ROOM)?.findEventById(first.event_id)?.status === null,
    );
    const timeline = client.getRoom(ROOM)?.getLiveTimeline().getEvents() ?? [];
    assert.equal(timeline.filter((e) => e.getId() === first.event_id).length, 1);
    assert.equal(seen.filter((e) => e.getContent().body === 'once only').length, 1);
    assert.equal(timeline.find((e) => e.getId() === first.event_id)?.getUnsigned().transaction_id, 'cmd-42');

    // Another room with the same txnId is another path: a new event.
    fake.addRoom({ id: '!other:fake.local', joined: true });
    const other = await client.http.authedRequest<{ event_id: string }>(
      Method.Put,
      sendPath('!other:fake.local', 'cmd-42'),
      undefined,
      { ...content },
    );
    assert.notEqual(other.event_id, first.event_id);
  });

  test('a 429 carries retry_after_ms and Retry-After; the SDK scheduler then sends once', async () => {
    await withFake();
    const client = botClient();

    fake.failNext('send', { status: 429, retryAfterMs: 200 });
    const limited = await rejection(
      client.http.authedRequest(Method.Put, sendPath(ROOM, 'raw-1'), undefined, {
        msgtype: 'm.text',
        body: 'x',
      }),
    );
    assert.equal(limited.httpStatus, 429);
    assert.equal(limited.errcode, 'M_LIMIT_EXCEEDED');
    assert.equal(limited.data.retry_after_ms, 200);
    assert.equal(limited.httpHeaders?.get('retry-after'), '1');

    fake.failNext('send', { status: 429, retryAfterMs: 200 });
    const sent = await client.sendMessage(ROOM, { msgtype: MsgType.Text, body: 'after a 429' });
    assert.deepEqual(
      fake.requests.filter((r) => r.endpoint === 'send').map((r) => r.status),
      [429, 429, 200],
    );
    assert.deepEqual(
      fake.sends.map((s) => [s.eventId, s.content.body]),
      [[sent.event_id, 'after a 429']],
    );
  });

  test('the per-room rate limit answers 429 until the bucket refills', async () => {
    await withFake({ rateLimit: { burst: 1, perSecond: 10 } });
    const first = await http(`/_matrix/client/v3${sendPath(ROOM, 'a')}`, {
      method: 'PUT',
      body: { msgtype: 'm.text', body: 'a' },
    });
    const second = await http(`/_matrix/client/v3${sendPath(ROOM, 'b')}`, {
      method: 'PUT',
      body: { msgtype: 'm.text', body: 'b' },
    });
    assert.equal(first.status, 200);
    assert.equal(second.status, 429);
    assert.equal(second.body.errcode, 'M_LIMIT_EXCEEDED');
    const wait = second.body.retry_after_ms as number;
    assert.ok(wait > 0 && wait <= 100, `retry_after_ms ${wait}`);
    await new Promise((resolve) => setTimeout(resolve, wait));
    const retried = await http(`/_matrix/client/v3${sendPath(ROOM, 'b')}`, {
      method: 'PUT',
      body: { msgtype: 'm.text', body: 'b' },
    });
    assert.equal(retried.status, 200);

    fake.setRateLimit(undefined);
    for (const txn of ['c', 'd', 'e'])
      assert.equal(
        (await http(`/_matrix/client/v3${sendPath(ROOM, txn)}`, { method: 'PUT', body: { body: txn } }))
          .status,
        200,
      );
  });

  test('aliases resolve through the directory, with or without a token', async () => {
    await withFake();
    const client = botClient();
    assert.deepEqual(await client.getRoomIdForAlias(ALIAS), { room_id: ROOM, servers: ['fake.local'] });
    const missing = await rejection(client.getRoomIdForAlias('#nowhere:fake.local'));
    assert.equal(missing.httpStatus, 404);
    assert.equal(missing.errcode, 'M_NOT_FOUND');
    // The seed's curl: no token, %23 for the '#'.
    const anonymous = await http('/_matrix/client/v3/directory/room/%23deploys:fake.local', { token: null });
    assert.equal(anonymous.body.room_id, ROOM);
  });

  test('login with a password, in the identifier form and the older top-level user form', async () => {
    await withFake();
    const anonymous = createClient({ baseUrl: fake.url, logger: silent });
    const current = await anonymous.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'switchboard' },
      password: 'secret',
    });
    assert.equal(current.user_id, fake.bot.userId);
    assert.ok(current.access_token && current.device_id);

    const older = await createClient({ baseUrl: fake.url, logger: silent }).loginWithPassword(
      fake.bot.userId,
      'secret',
    );
    assert.notEqual(older.access_token, current.access_token);

    const whoami = await botClient(current.access_token).whoami();
    assert.deepEqual([whoami.user_id, whoami.device_id], [fake.bot.userId, current.device_id]);

    const wrong = await rejection(anonymous.loginWithPassword('switchboard', 'nope'));
    assert.deepEqual([wrong.httpStatus, wrong.errcode], [403, 'M_FORBIDDEN']);
  });

  test('a revoked token stops the sync with M_UNKNOWN_TOKEN', async () => {
    await withFake();
    const client = botClient();
    await syncing(client);
    const stopped = new Promise<string | undefined>((resolve) => {
      client.on(ClientEvent.Sync, (state, _previous, data) => {
        if (state === 'ERROR') resolve((data?.error as MatrixError | undefined)?.errcode);
      });
    });

    assert.equal(fake.revokeToken(), true);
    assert.equal(await stopped, 'M_UNKNOWN_TOKEN');
    const whoami = await rejection(client.whoami());
    assert.deepEqual([whoami.httpStatus, whoami.errcode], [401, 'M_UNKNOWN_TOKEN']);
    const missing = await http('/_matrix/client/v3/account/whoami', { token: null });
    assert.deepEqual([missing.status, missing.body.errcode], [401, 'M_MISSING_TOKEN']);
  });

  test('a homeserver restart neither repeats nor loses events', async () => {
    await withFake();
    const client = botClient();
    const seen = liveTimeline(client);
    await syncing(client);

    const before = fake.injectMessage(ROOM, { sender: ALICE, body: 'before' });
    await waitFor('the message before', () => seen.some((e) => e.getId() === before));
    await fake.stop();
    const during = fake.injectMessage(ROOM, { sender: ALICE, body: 'while down' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fake.start();
    await waitFor('the message sent while down', () => seen.some((e) => e.getId() === during));
    await fake.restart(100);
    const after = fake.injectMessage(ROOM, { sender: ALICE, body: 'after' });
    await waitFor('the message after', () => seen.some((e) => e.getId() === after));

    assert.deepEqual(
      seen.filter((e) => e.getType() === 'm.room.message').map((e) => e.getContent().body),
      ['before', 'while down', 'after'],
    );
  });

  test('join by alias shows the membership in the timeline; leave mirrors Synapse', async () => {
    await withFake({ rooms: [{ id: ROOM, alias: ALIAS, members: [ALICE] }] });
    const client = botClient();
    await syncing(client);
    assert.equal(fake.joined(ROOM), false);
    const refused = await rejection(client.sendMessage(ROOM, { msgtype: MsgType.Text, body: 'too early' }));
    assert.deepEqual([refused.httpStatus, refused.errcode], [403, 'M_FORBIDDEN']);

    const room = await client.joinRoom(ALIAS);
    assert.equal(room.roomId, ROOM);
    assert.equal(fake.joined(ROOM), true);
    await waitFor('the join in sync', () => client.getRoom(ROOM)?.getMyMembership() === 'join');
    assert.deepEqual((await client.getJoinedRooms()).joined_rooms, [ROOM]);

    assert.deepEqual(await client.leave(ROOM), {});
    assert.equal(fake.joined(ROOM), false);
    assert.deepEqual(await client.leave(ROOM), {}, 'leaving again is a duplicate, not an error');
    fake.addRoom({ id: '!never:fake.local', members: [ALICE] });
    const notIn = await rejection(client.leave('!never:fake.local'));
    assert.deepEqual([notIn.httpStatus, notIn.errcode], [403, 'M_FORBIDDEN']);
    const unknown = await rejection(client.leave('!unknown:fake.local'));
    assert.deepEqual([unknown.httpStatus, unknown.errcode], [404, 'M_UNKNOWN']);
  });

  test('an invite shows under rooms.invite, and the bot can accept it', async () => {
    await withFake({
      rooms: [{ id: '!private:fake.local', name: 'Private', members: [ALICE], joinRule: 'invite' }],
    });
    const client = botClient();
    await syncing(client);
    const refused = await rejection(client.joinRoom('!private:fake.local'));
    assert.deepEqual([refused.httpStatus, refused.errcode], [403, 'M_FORBIDDEN']);

    fake.invite('!private:fake.local', ALICE);
    await waitFor('the invite', () => client.getRoom('!private:fake.local')?.getMyMembership() === 'invite');
    assert.equal(client.getRoom('!private:fake.local')?.name, 'Private');
    await client.joinRoom('!private:fake.local');
    await waitFor('the join', () => client.getRoom('!private:fake.local')?.getMyMembership() === 'join');
  });

  test('an encrypted room says so in its state, and its messages stay encrypted', async () => {
    await withFake({ rooms: [{ id: ROOM, members: [ALICE], joined: true, encrypted: true }] });
    const client = botClient();
    const seen = liveTimeline(client);
    await syncing(client);
    assert.equal(client.getRoom(ROOM)?.hasEncryptionStateEvent(), true);
    const state = await client.getStateEvent(ROOM, 'm.room.encryption', '');
    assert.equal(state.algorithm, 'm.megolm.v1.aes-sha2');

    const id = fake.injectMessage(ROOM, { sender: ALICE, body: 'secret' });
    await waitFor('the encrypted message', () => seen.some((e) => e.getId() === id));
    assert.equal(seen.find((e) => e.getId() === id)?.getType(), 'm.room.encrypted');
  });

  test('profile, whoami and room state for a joined room', async () => {
    await withFake();
    const client = botClient();
    assert.deepEqual(await client.getProfileInfo(fake.bot.userId), { displayname: 'Switchboard' });
    assert.deepEqual(await client.getProfileInfo(ALICE, 'displayname'), { displayname: 'Alice' });
    assert.equal((await client.whoami()).device_id, fake.bot.deviceId);
    const state = await client.roomState(ROOM);
    assert.ok(state.some((e) => e.type === 'm.room.name' && e.content.name === 'Deploys'));
    const members = await client.getJoinedRoomMembers(ROOM);
    assert.deepEqual(Object.keys(members.joined).sort(), [ALICE, fake.bot.userId].sort());
  });
});

describe('fake Matrix homeserver over plain HTTP', () => {
  test('/sync holds a long-poll until an event or the timeout, and honours since', async () => {
    await withFake();
    const initial = await http('/_matrix/client/v3/sync?timeout=0');
    const since = initial.body.next_batch as string;
    assert.equal(typeof since, 'string');

    let began = Date.now();
    const quiet = await http(`/_matrix/client/v3/sync?timeout=300&since=${since}`);
    assert.ok(Date.now() - began >= 250, 'held until the timeout');
    assert.equal(quiet.body.rooms, undefined);

    began = Date.now();
    const held = http(`/_matrix/client/v3/sync?timeout=10000&since=${quiet.body.next_batch}`);
    setTimeout(() => fake.injectMessage(ROOM, { sender: ALICE, body: 'wake up' }), 100);
    const woken = await held;
    assert.ok(Date.now() - began < 5000, 'answered when the event came');
    const rooms = woken.body.rooms as {
      join: Record<string, { timeline: { events: { content: unknown }[] } }>;
    };
    assert.deepEqual(
      rooms.join[ROOM]?.timeline.events.map((e) => e.content),
      [{ msgtype: 'm.text', body: 'wake up' }],
    );
    const replay = await http(`/_matrix/client/v3/sync?timeout=0&since=${woken.body.next_batch}`);
    assert.equal(replay.body.rooms, undefined, 'nothing is delivered twice');
  });

  test('a burst beyond the timeline limit is limited, and /messages returns the gap', async () => {
    await withFake({ timelineLimit: 3 });
    const since = (await http('/_matrix/client/v3/sync?timeout=0')).body.next_batch as string;
    for (let i = 1; i <= 5; i++) fake.injectMessage(ROOM, { sender: ALICE, body: `m${i}` });
    const sync = await http(`/_matrix/client/v3/sync?since=${since}`);
    const timeline = (sync.body.rooms as { join: Record<string, { timeline: Record<string, unknown> }> })
      .join[ROOM]?.timeline as {
      events: { content: { body: string } }[];
      limited: boolean;
      prev_batch: string;
    };
    assert.deepEqual(
      timeline.events.map((e) => e.content.body),
      ['m3', 'm4', 'm5'],
    );
    assert.equal(timeline.limited, true);
    const gap = await http(
      `/_matrix/client/v3/rooms/${encodeURIComponent(ROOM)}/messages?dir=b&limit=2&from=${timeline.prev_batch}`,
    );
    assert.deepEqual(
      (gap.body.chunk as { content: { body: string } }[]).map((e) => e.content.body),
      ['m2', 'm1'],
    );
  });

  test('delayNext holds only the answer: the send has already happened', async () => {
    await withFake();
    fake.delayNext('send', { ms: 300 });
    const began = Date.now();
    const answer = http(`/_matrix/client/v3${sendPath(ROOM, 'slow')}`, {
      method: 'PUT',
      body: { body: 'slow' },
    });
    await waitFor('the send to be recorded', () => fake.sends.length === 1);
    assert.equal((await answer).body.event_id, fake.sends[0]?.eventId);
    assert.ok(Date.now() - began >= 250);
  });

  test('unserved paths answer 404 M_UNRECOGNIZED; failNext can match a path or cut the connection', async () => {
    await withFake();
    const unknown = await http('/_matrix/client/v3/rooms/x/typing/y', { method: 'PUT', body: {} });
    assert.deepEqual([unknown.status, unknown.body.errcode], [404, 'M_UNRECOGNIZED']);

    fake.failNext(/\/joined_rooms$/, { status: 502, errcode: 'M_UNKNOWN' });
    assert.equal((await http('/_matrix/client/v3/joined_rooms')).status, 502);
    assert.equal((await http('/_matrix/client/v3/joined_rooms')).status, 200);

    fake.failNext('whoami', { disconnect: true });
    await assert.rejects(http('/_matrix/client/v3/account/whoami'));
    assert.throws(() => fake.failNext('no-such-endpoint'), RangeError);
  });
});
