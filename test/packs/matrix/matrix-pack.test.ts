import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseMatrixConfig } from '../../../packs/matrix/matrix-config.ts';
import { createMatrixPack } from '../../../packs/matrix/matrix-pack.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { type FakeMatrix, startFakeMatrix } from '../../fakes/matrix/index.ts';
import { EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';

const ROOM = '!deploys:fake.local';
const ALIAS = '#deploys:fake.local';
const OTHER = '!other:fake.local';
const SECRET = '!secret:fake.local';
const ALICE = '@alice:fake.local';

const startRuntime = async (bus: MemoryBus, fake: FakeMatrix, env: Record<string, string> = {}) =>
  startPackRuntime(
    bus,
    await createMatrixPack(
      parseMatrixConfig({
        MATRIX_HOMESERVER_URL: fake.url,
        MATRIX_ACCESS_TOKEN: fake.bot.accessToken,
        ...env,
      }),
    ),
    { prefetch: 50, commandTimeoutMs: 20_000, retry: { maxRetries: 3, minDelayMs: 10, maxDelayMs: 50 } },
  );

describe('the Matrix pack against the fake homeserver', () => {
  let fake: FakeMatrix;
  let bus: MemoryBus;
  let runtime: PackRuntime;
  let events: EventCollector;
  let stateDir: string;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'sb-matrix-'));
    fake = await startFakeMatrix({
      users: [{ userId: ALICE, displayName: 'Alice' }],
      rooms: [
        { id: ROOM, alias: ALIAS, name: 'Deploys', members: [ALICE], joined: true },
        { id: OTHER, alias: '#other:fake.local', members: [ALICE], joinRule: 'public' },
        { id: SECRET, members: [ALICE], joined: true, encrypted: true },
      ],
    });
    fake.injectMessage(ROOM, { sender: ALICE, body: 'said before the pack started' });
    bus = new MemoryBus();
    events = await EventCollector.start(bus, 'matrix.*');
    runtime = await startRuntime(bus, fake, { MATRIX_STATE_DIR: stateDir });
  });
  after(async () => {
    await runtime.stop({ graceMs: 1000 });
    await events.stop();
    await bus.close();
    await fake.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  async function run(name: string, payload: unknown): Promise<Envelope> {
    const command = createEnvelope({ kind: 'command', pack: 'matrix', name, payload });
    await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey('matrix', name) }, command);
    return (await events.waitFor((event) => event.causationId === command.id, 1, 20_000))[0] as Envelope;
  }

  test('a live message becomes ReceivedMessage; the history before the start does not', async () => {
    const eventId = fake.injectMessage(ROOM, { sender: ALICE, body: 'hello bot' });
    const [received] = await events.waitFor((event) => event.name === 'ReceivedMessage');
    assert.deepEqual(received?.payload, {
      channelId: ROOM,
      user: { id: ALICE, name: 'Alice' },
      message: 'hello bot',
      timestamp: eventId,
      threadTimestamp: '',
      eventId,
      sentAt: (received?.payload as { sentAt?: string } | undefined)?.sentAt,
    });
    assert.equal(events.named('ReceivedMessage').length, 1);
  });

  test('SendMessage to an alias sends one m.room.message and reports its event id', async () => {
    const result = await run('SendMessage', { channelId: ALIAS, message: 'deployed' });
    assert.equal(result.name, 'MessageSent', JSON.stringify(result.payload));
    const sent = fake.sends.filter((send) => send.content.body === 'deployed');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.roomId, ROOM);
    assert.equal(sent[0]?.content.msgtype, 'm.text');
    assert.deepEqual(result.payload, {
      message: 'deployed',
      channelId: ROOM,
      threadTimestamp: '',
      timestamp: sent[0]?.eventId,
      eventId: sent[0]?.eventId,
    });
  });

  test("the bot's own messages are never emitted", async () => {
    const before = events.named('ReceivedMessage').length;
    await run('SendMessage', { channelId: ROOM, message: 'not an echo' });
    fake.injectMessage(ROOM, { sender: ALICE, body: 'marker' });
    await events.waitFor((event) => (event.payload as { message?: string }).message === 'marker');
    assert.deepEqual(
      events
        .named('ReceivedMessage')
        .slice(before)
        .map((event) => (event.payload as { message: string }).message),
      ['marker'],
    );
  });

  test('a send to a room the bot is not in fails with not_in_channel; the pack does not join', async () => {
    const result = await run('SendMessage', { channelId: OTHER, message: 'x' });
    assert.equal(result.name, 'SendMessageFailed');
    assert.equal((result.payload as { errorCode: string }).errorCode, 'not_in_channel');
    assert.equal(fake.joined(OTHER), false);
  });

  test('an encrypted room is refused with encrypted_room_unsupported, both ways', async () => {
    const result = await run('SendMessage', { channelId: SECRET, message: 'x' });
    assert.equal((result.payload as { errorCode: string }).errorCode, 'encrypted_room_unsupported');
    fake.injectMessage(SECRET, { sender: ALICE, body: 'ciphertext' });
    const [failed] = await events.waitFor((event) => event.name === 'ReceiveMessageFailed');
    assert.equal(
      (failed?.payload as { errorCode?: string } | undefined)?.errorCode,
      'encrypted_room_unsupported',
    );
  });

  test('JoinChannel by alias, Broadcast to every joined room, LeaveChannel twice succeeds', async () => {
    const joined = await run('JoinChannel', { channelId: '#other:fake.local' });
    assert.deepEqual([joined.name, joined.payload], ['ChannelJoined', { channelId: OTHER }]);
    const broadcast = await run('Broadcast', { message: 'to every room' });
    // The encrypted room fails; the others get the message once.
    assert.equal(broadcast.name, 'BroadcastFailed', JSON.stringify(broadcast.payload));
    assert.deepEqual((broadcast.payload as { failedChannelIds: string[] }).failedChannelIds, [SECRET]);
    assert.deepEqual(
      fake.sends
        .filter((send) => send.content.body === 'to every room')
        .map((send) => send.roomId)
        .sort(),
      [ROOM, OTHER].sort(),
    );
    assert.equal((await run('LeaveChannel', { channelId: OTHER })).name, 'ChannelLeft');
    assert.equal((await run('LeaveChannel', { channelId: OTHER })).name, 'ChannelLeft');
    assert.equal(fake.joined(OTHER), false);
    const unknown = await run('JoinChannel', { channelId: '#nowhere:fake.local' });
    assert.deepEqual(
      [unknown.name, (unknown.payload as { errorCode: string }).errorCode],
      ['JoinChannelFailed', 'channel_not_found'],
    );
  });

  test('SendRichMessage renders Slack-style attachments to HTML with a plain-text body', async () => {
    const flow = JSON.parse(await readFile('flows/announce_deployments.json', 'utf8'));
    const input = { ...flow.steps[0].command.input, channel: ROOM };
    const result = await run('SendRichMessage', input);
    assert.equal(result.name, 'RichMessageSent', JSON.stringify(result.payload));
    const sent = fake.sends.at(-1);
    assert.equal(sent?.content.format, 'org.matrix.custom.html');
    assert.match(String(sent?.content.formatted_body), /<b>Deployment Update<\/b>/);
    assert.match(String(sent?.content.body), /Environment: staging/);
  });

  test('a 429 storm: the sends wait M_LIMIT_EXCEEDED out and keep their order', async () => {
    fake.failNext('send', { status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: 200, times: 4 });
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => run('SendMessage', { channelId: ROOM, message: `ordered ${i}` })),
    );
    assert.ok(results.every((result) => result.name === 'MessageSent'));
    assert.deepEqual(
      fake.sends
        .filter((send) => String(send.content.body).startsWith('ordered'))
        .map((send) => send.content.body),
      ['ordered 1', 'ordered 2', 'ordered 3', 'ordered 4', 'ordered 5'],
    );
  });

  test('an invitation is announced as InviteReceived when MATRIX_AUTO_JOIN is unset', async () => {
    fake.addRoom({ id: '!invited:fake.local', members: [ALICE], joinRule: 'invite' });
    fake.invite('!invited:fake.local', ALICE);
    const [invite] = await events.waitFor((event) => event.name === 'InviteReceived');
    assert.deepEqual(invite?.payload, { channelId: '!invited:fake.local', inviter: ALICE });
  });
});

test('with a password the pack logs in once and keeps its session; a revoked one is replaced', async () => {
  const fake = await startFakeMatrix({ rooms: [{ id: ROOM, joined: true }] });
  const stateDir = await mkdtemp(join(tmpdir(), 'sb-matrix-login-'));
  const env = {
    MATRIX_ACCESS_TOKEN: '',
    MATRIX_USER_ID: fake.bot.userId,
    MATRIX_PASSWORD: fake.bot.password,
    MATRIX_STATE_DIR: stateDir,
  };
  const logins = () =>
    fake.requests.filter((request) => request.endpoint === 'login' && request.method === 'POST');
  const bus = new MemoryBus();
  try {
    for (let start = 1; start <= 2; start++)
      await (await startRuntime(bus, fake, env)).stop({ graceMs: 100 });
    assert.equal(logins().length, 1, 'the second start reused the saved session');
    const saved = JSON.parse(await readFile(join(stateDir, 'session.json'), 'utf8'));
    assert.equal(saved.userId, fake.bot.userId);
    fake.revokeToken(saved.accessToken);
    await (await startRuntime(bus, fake, env)).stop({ graceMs: 100 });
    assert.equal(logins().length, 2, 'logged in again after the revocation');
    const wrong = startRuntime(bus, fake, {
      ...env,
      MATRIX_PASSWORD: 'wrong',
      MATRIX_STATE_DIR: `${stateDir}/other`,
    });
    await assert.rejects(wrong, /MATRIX_PASSWORD: the homeserver refused the login/);
  } finally {
    await bus.close();
    await fake.close();
    await rm(stateDir, { recursive: true, force: true });
  }
});

test('an unknown access token stops the pack at start with a message naming MATRIX_ACCESS_TOKEN', async () => {
  const fake = await startFakeMatrix();
  const bus = new MemoryBus();
  await assert.rejects(
    startRuntime(bus, fake, { MATRIX_ACCESS_TOKEN: 'syt_unknown' }),
    /MATRIX_ACCESS_TOKEN: the homeserver does not know this token \(M_UNKNOWN_TOKEN\)/,
  );
  await bus.close();
  await fake.close();
});

test('MATRIX_AUTO_JOIN accepts invitations from listed servers only; MATRIX_MSGTYPE m.notice marks the bot', async () => {
  const fake = await startFakeMatrix({
    users: [
      { userId: ALICE, displayName: 'Alice' },
      { userId: '@mallory:elsewhere.example', displayName: 'Mallory' },
    ],
    rooms: [
      { id: '!friendly:fake.local', members: [ALICE], joinRule: 'invite' },
      { id: '!stranger:fake.local', members: ['@mallory:elsewhere.example'], joinRule: 'invite' },
    ],
  });
  const bus = new MemoryBus();
  const events = await EventCollector.start(bus, 'matrix.*');
  const runtime = await startRuntime(bus, fake, {
    MATRIX_AUTO_JOIN: 'fake.local',
    MATRIX_MSGTYPE: 'm.notice',
  });
  try {
    fake.invite('!friendly:fake.local', ALICE);
    fake.invite('!stranger:fake.local', '@mallory:elsewhere.example');
    const [invite] = await events.waitFor((event) => event.name === 'InviteReceived');
    assert.deepEqual(invite?.payload, {
      channelId: '!stranger:fake.local',
      inviter: '@mallory:elsewhere.example',
    });
    for (let i = 0; i < 100 && !fake.joined('!friendly:fake.local'); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.joined('!friendly:fake.local'), true, 'joined the invitation from its own server');
    assert.equal(fake.joined('!stranger:fake.local'), false);
    const command = createEnvelope({
      kind: 'command',
      pack: 'matrix',
      name: 'SendMessage',
      payload: { channelId: '!friendly:fake.local', message: 'a notice' },
    });
    await bus.publish(
      { exchange: COMMANDS_EXCHANGE, routingKey: routingKey('matrix', 'SendMessage') },
      command,
    );
    await events.waitFor((event) => event.causationId === command.id);
    assert.equal(fake.sends.at(-1)?.content.msgtype, 'm.notice');
  } finally {
    await runtime.stop({ graceMs: 100 });
    await events.stop();
    await bus.close();
    await fake.close();
  }
});
