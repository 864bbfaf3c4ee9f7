import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import type { Envelope } from '../../shared/envelope.ts';
import { type FakeMatrix, startFakeMatrix } from '../fakes/matrix/index.ts';
import { brokerUrl, connectTestBus, EventCollector } from '../support/bus.ts';
import { PackProcess } from '../support/pack-process.ts';
import { ROOT, type Spawned } from '../support/processes.ts';

// The Matrix pack's acceptance, as users run it: its own process on RabbitMQ against the fake
// homeserver. The tests share the `matrix` queue, so they run in order with one pack at a time.
const ROOM = '!ops:fake.local';
const ALIAS = '#ops:fake.local';
const LOBBY = '!lobby:fake.local';
const ALICE = '@alice:fake.local';

let fake: FakeMatrix;
let bus: AmqpBus;
let events: EventCollector;
let stateDir: string;
let pack: PackProcess;

const matrixEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  AMQP_URL: brokerUrl(),
  LOG_LEVEL: 'info',
  MATRIX_HOMESERVER_URL: fake.url,
  MATRIX_ACCESS_TOKEN: fake.bot.accessToken,
  MATRIX_STATE_DIR: join(stateDir, 'matrix'),
  SWITCHBOARD_STATE_DIR: stateDir,
  ...extra,
});

const sent = (body: string) => fake.sends.filter((event) => event.content.body === body);
const received = (body: string) =>
  events.named('ReceivedMessage').filter((event) => (event.payload as { message: string }).message === body);

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'sb-matrix-e2e-'));
  fake = await startFakeMatrix({
    users: [{ userId: ALICE, displayName: 'Alice' }],
    rooms: [
      { id: ROOM, alias: ALIAS, name: 'Ops', members: [ALICE], joined: true },
      { id: LOBBY, alias: '#lobby:fake.local', members: [ALICE], joinRule: 'public' },
    ],
  });
  bus = await connectTestBus();
  events = await EventCollector.start(bus, 'matrix.*');
  pack = new PackProcess('matrix', bus, events);
  await pack.start(
    ['all', '--flows', join(ROOT, 'flows'), '--data-dir', stateDir],
    matrixEnv({ SWITCHBOARD_ENGINE_QUEUE: 'switchboard.engine.matrix-e2e', SWITCHBOARD_CONSOLE_PORT: '0' }),
  );
});

after(async () => {
  const code = await pack.stop();
  await events.stop();
  await bus.close();
  await fake.close();
  await rm(stateDir, { recursive: true, force: true });
  assert.ok(code === null || code === 0, `the last pack stops cleanly on SIGTERM (exit ${code})`);
});

test('the echo flow with "packName": "Matrix": "echo hi" in the room is answered in the room', async () => {
  fake.injectMessage(ROOM, { sender: ALICE, body: 'echo hi' });
  const [reply] = await events.waitFor(
    (event) =>
      event.name === 'MessageSent' &&
      (event.payload as { message: string }).message === 'Alice, you said:\n> hi',
    1,
    20_000,
  );
  const replies = sent('Alice, you said:\n> hi');
  assert.equal(replies.length, 1);
  assert.equal(replies[0]?.roomId, ROOM);
  assert.equal((reply?.payload as { eventId?: string } | undefined)?.eventId, replies[0]?.eventId);
});

test('every command answers with its success event, and with its failure event and code', async () => {
  const cases: Array<[string, unknown, string, Record<string, unknown>]> = [
    ['SendMessage', { channelId: ALIAS, message: 'by alias' }, 'MessageSent', { channelId: ROOM }],
    ['SendMessage', { channelId: LOBBY, message: 'x' }, 'SendMessageFailed', { errorCode: 'not_in_channel' }],
    [
      'SendMessage',
      { channelId: '#nowhere:fake.local', message: 'x' },
      'SendMessageFailed',
      { errorCode: 'channel_not_found' },
    ],
    ['SendMessage', { channelId: 'ops', message: 'x' }, 'SendMessageFailed', { errorCode: 'invalid_input' }],
    [
      'SendRichMessage',
      { channel: ROOM, html: '<b>bold</b>', text: 'bold' },
      'RichMessageSent',
      { channel: ROOM },
    ],
    ['SendRichMessage', { channel: ROOM }, 'SendRichMessageFailed', { errorCode: 'no_text' }],
    ['JoinChannel', { channelId: '#lobby:fake.local' }, 'ChannelJoined', { channelId: LOBBY }],
    [
      'JoinChannel',
      { channelId: '#nowhere:fake.local' },
      'JoinChannelFailed',
      { errorCode: 'channel_not_found' },
    ],
    ['Broadcast', { message: 'to both rooms' }, 'BroadcastSent', { channelIds: [LOBBY, ROOM].sort() }],
    ['LeaveChannel', { channelId: LOBBY }, 'ChannelLeft', { channelId: LOBBY }],
    ['LeaveChannel', { channelId: LOBBY }, 'ChannelLeft', { channelId: LOBBY }],
    [
      'LeaveChannel',
      { channelId: '#nowhere:fake.local' },
      'LeaveChannelFailed',
      { errorCode: 'channel_not_found' },
    ],
    ['GetChannelInfo', { channelName: 'ops' }, 'CommandFailed', { errorCode: 'unknown_command' }],
  ];
  for (const [name, payload, expected, fields] of cases) {
    const result = await pack.resultOf(await pack.send(name, payload));
    const label = `${name} ${JSON.stringify(payload)} → ${JSON.stringify(result.payload).slice(0, 300)}`;
    assert.equal(result.name, expected, label);
    for (const [key, value] of Object.entries(fields))
      assert.deepEqual((result.payload as Record<string, unknown>)[key], value, `${label}: ${key}`);
  }
  assert.equal(sent('to both rooms').length, 2);
  assert.equal(sent('bold')[0]?.content.formatted_body, '<b>bold</b>');
});

test('ordered sends through a 429 storm: every message once, in order', async () => {
  fake.failNext('send', { status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: 500, times: 5 });
  const commands: Envelope[] = [];
  for (let i = 1; i <= 10; i++)
    commands.push(await pack.send('SendMessage', { channelId: ROOM, message: `storm ${i}` }));
  const results = await Promise.all(commands.map((command) => pack.resultOf(command, 60_000)));
  assert.ok(
    results.every((result) => result.name === 'MessageSent'),
    JSON.stringify(results.map((r) => r.payload)),
  );
  assert.deepEqual(
    fake.sends
      .filter((event) => String(event.content.body).startsWith('storm '))
      .map((event) => event.content.body),
    commands.map((_, i) => `storm ${i + 1}`),
  );
});

test('a SendMessage redelivered after the pack died mid-send makes one event in the room', async () => {
  // The homeserver stores the event but holds its answer; the pack is killed waiting for it.
  fake.delayNext('send', { ms: 60_000, afterEffect: true });
  const command = await pack.send('SendMessage', { channelId: ROOM, message: 'exactly once' });
  for (let i = 0; i < 400 && sent('exactly once').length === 0; i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  assert.equal(sent('exactly once').length, 1, 'the first run sent it');
  await pack.stop('SIGKILL');
  await pack.start(['pack', 'matrix'], matrixEnv());
  const result = await pack.resultOf(command, 30_000);
  assert.equal(result.name, 'MessageSent', JSON.stringify(result.payload));
  assert.equal(sent('exactly once').length, 1, 'one event in the room');
  assert.equal((result.payload as { eventId: string }).eventId, sent('exactly once')[0]?.eventId);
});

test('across a restart: a message sent while the pack was down arrives once, earlier ones are not repeated', async () => {
  fake.injectMessage(ROOM, { sender: ALICE, body: 'before the restart' });
  await events.waitFor((event) => (event.payload as { message?: string }).message === 'before the restart');
  assert.equal(await pack.stop(), 0);
  fake.injectMessage(ROOM, { sender: ALICE, body: 'while it was down' });
  await pack.start(['pack', 'matrix'], matrixEnv());
  await events.waitFor((event) => (event.payload as { message?: string }).message === 'while it was down');
  fake.injectMessage(ROOM, { sender: ALICE, body: 'after the restart' });
  await events.waitFor((event) => (event.payload as { message?: string }).message === 'after the restart');
  assert.equal(received('before the restart').length, 1);
  assert.equal(received('while it was down').length, 1);
  assert.equal(received('after the restart').length, 1);
});

test('sync survives the homeserver going away and coming back, without duplicates', async () => {
  await fake.restart(1500);
  fake.injectMessage(ROOM, { sender: ALICE, body: 'after the outage' });
  await events.waitFor(
    (event) => (event.payload as { message?: string }).message === 'after the outage',
    1,
    30_000,
  );
  assert.equal(received('after the outage').length, 1);
  assert.equal(received('after the restart').length, 1);
});

test('a revoked token stops the pack with a message naming MATRIX_ACCESS_TOKEN and exit status 1', async () => {
  const running = pack.release() as Spawned;
  fake.revokeToken();
  assert.equal(await running.exit, 1);
  assert.match(
    running.stdout() + running.stderr(),
    /MATRIX_ACCESS_TOKEN: the homeserver no longer accepts the token \(M_UNKNOWN_TOKEN\)/,
  );
});
