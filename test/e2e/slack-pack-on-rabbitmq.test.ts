import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import type { Envelope } from '../../shared/envelope.ts';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.ts';
import { brokerUrl, connectTestBus, EventCollector } from '../support/bus.ts';
import { PackProcess } from '../support/pack-process.ts';
import { ROOT, runCli } from '../support/processes.ts';

// The Slack pack's acceptance, as users run it: `switchboard pack slack` (or `switchboard all`) in its
// own process, on RabbitMQ, against the fake Slack. Every test of this file shares the `slack` queue, so
// they run one after another and never leave two Slack packs running at once.
let fake: FakeSlack;
let bus: AmqpBus;
let events: EventCollector;
let builds: EventCollector;
let stateDir: string;
let pack: PackProcess;
/** The ci-webhook pack's base URL, in `switchboard all`. */
let webhooks: string;
const WEBHOOK_SECRET = 'e2e-jobserv-secret';

const slackEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  AMQP_URL: brokerUrl(),
  LOG_LEVEL: 'info',
  SLACK_BOT_TOKEN: fake.tokens.bot,
  SLACK_APP_TOKEN: fake.tokens.app,
  SLACK_API_URL: fake.apiUrl,
  SLACK_STATE_DIR: stateDir,
  SWITCHBOARD_STATE_DIR: stateDir,
  ...extra,
});

const posted = (text: string) => fake.messages.filter((message) => message.text === text);

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'sb-slack-'));
  fake = await startFakeSlack({ rateLimit: { burst: 3, perSecond: 1 } });
  fake.addChannel({ id: 'C0E2E', name: 'e2e', isMember: true });
  fake.addChannel({ id: 'C0ORDER', name: 'order', isMember: true });
  fake.addChannel({ id: 'C0STORM', name: 'storm', isMember: true });
  fake.addChannel({ id: 'C0CRASH', name: 'crash', isMember: true });
  fake.addChannel({ id: 'C0LATER', name: 'later' });
  fake.addChannel({ id: 'C0OUT', name: 'outside' });
  fake.addChannel({ id: 'C0OLD', name: 'old', isMember: true, isArchived: true });
  fake.addChannel({ id: 'C0BUILDS', name: 'builds', isMember: true });
  fake.addChannel({ id: 'C0FAILS', name: 'build-failures', isMember: true });
  fake.addUser({ id: 'U1', name: 'ada' });
  bus = await connectTestBus();
  events = await EventCollector.start(bus, 'slack.*');
  pack = new PackProcess('slack', bus, events);
  builds = await EventCollector.start(bus, 'ci-webhook.*');
  // An engine queue of its own: the engine tests' engine runs on the same broker at the same time.
  const all = await pack.start(
    ['all', '--flows', join(ROOT, 'flows'), '--data-dir', stateDir],
    slackEnv({
      SWITCHBOARD_CONSOLE_PORT: '0',
      SWITCHBOARD_ENGINE_QUEUE: 'switchboard.engine.slack-e2e',
      JOBSERV_WEBHOOK_SECRET: WEBHOOK_SECRET,
      CI_WEBHOOK_HOST: '127.0.0.1',
      CI_WEBHOOK_PORT: '0',
    }),
  );
  webhooks = /receiving CI webhooks on (http:\/\/[0-9.:]+)/.exec(
    await all.waitForOutput(/receiving CI webhooks on http:\/\/[0-9.:]+/),
  )?.[1] as string;
});

after(async () => {
  const code = await pack.stop();
  await events.stop();
  await builds.stop();
  await bus.close();
  await fake.close();
  await rm(stateDir, { recursive: true, force: true });
  assert.ok(code === null || code === 0, `the last pack stops cleanly on SIGTERM (exit ${code})`);
});

test('the echo bot end to end: "echo hi" typed in Slack is answered in Slack by `switchboard all`', async () => {
  await fake.sendEvent({
    type: 'message',
    channel: 'C0E2E',
    user: 'U1',
    text: 'echo hi',
    ts: '1700000001.000100',
  });
  // The engine tests publish "echo hi" events of their own on this broker: only this channel's count.
  const echo = '<@U1>, you said:\n>>> hi';
  const [reply] = await events.waitFor(
    (event) =>
      event.name === 'MessageSent' &&
      (event.payload as { channelId: string; message: string }).channelId === 'C0E2E' &&
      (event.payload as { message: string }).message === echo,
  );
  const replies = posted(echo).filter((message) => message.channel === 'C0E2E');
  assert.equal(replies.length, 1);
  assert.equal((reply?.payload as { timestamp?: string } | undefined)?.timestamp, replies[0]?.ts);
  const received = events
    .named('ReceivedMessage')
    .find(
      (event) =>
        (event.payload as { message: string; channelId: string }).message === 'echo hi' &&
        (event.payload as { channelId: string }).channelId === 'C0E2E',
    );
  assert.equal((received?.payload as { user: { name: string } } | undefined)?.user.name, 'ada');
});

test("Deployment announcements: the README's signed curl of the example JobServ build becomes one rich message in #builds", async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const documented = readme
    .split('\n')
    .find((line) => line.trim().startsWith('body=$(cat docs/examples/jobserv-build.json)'));
  assert.ok(documented, 'the README shows the signed curl command');
  const curl = (): string =>
    execFileSync('bash', ['-c', documented.trim().replace('http://localhost:8080', webhooks)], {
      cwd: ROOT,
      env: { ...process.env, JOBSERV_WEBHOOK_SECRET: WEBHOOK_SECRET },
      encoding: 'utf8',
    });
  assert.match(curl(), /^HTTP\/1\.1 202/);
  const [built] = await events.waitFor(
    (event) =>
      event.name === 'RichMessageSent' && (event.payload as { channel: string }).channel === '#builds',
    1,
    20_000,
  );
  const announced = fake.messages.filter((message) => message.channel === 'C0BUILDS');
  assert.equal(announced.length, 1);
  assert.equal(announced[0]?.ts, (built?.payload as { timestamp?: string } | undefined)?.timestamp);
  assert.equal(announced[0]?.text, 'andy-corp/lmp build 67 (containers-devel) passed in 8 min 51 s');
  const [attachment] = (announced[0]?.attachments ?? []) as Array<{
    color: string;
    fields: Array<{ title: string; value: string }>;
    actions: Array<{ text: string; url: string }>;
  }>;
  assert.equal(attachment?.color, '#36a64f');
  assert.deepEqual(
    attachment?.fields.map((field) => `${field.title}: ${field.value}`),
    [
      'build-amd64-partner: passed',
      'build-armhf: passed',
      'build-aarch64: passed',
      'publish-compose-apps: passed',
    ],
  );
  assert.deepEqual(
    attachment?.actions.map((action) => [action.text, action.url]),
    [['View Logs', 'https://ci.foundries.io/projects/andy-corp/lmp/builds/67']],
  );

  // JobServ sending it again changes nothing.
  assert.match(curl(), /^HTTP\/1\.1 200/);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(fake.messages.filter((message) => message.channel === 'C0BUILDS').length, 1);
  assert.equal(builds.named('BuildCompleted').length, 1);
  assert.equal(
    fake.messages.filter((message) => message.channel === 'C0FAILS').length,
    0,
    'a passed build is not a failure',
  );
});

test('a failed build is announced in #builds and again in #build-failures, in red', async () => {
  const build = JSON.parse(await readFile(join(ROOT, 'docs/examples/jobserv-build.json'), 'utf8'));
  build.build_id = 68;
  build.url = build.url.replace('/67/', '/68/');
  build.status = 'FAILED';
  build.runs[1].status = 'FAILED';
  const body = JSON.stringify(build);
  const answer = await fetch(`${webhooks}/webhooks/jobserv`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-jobserv-sig': `sha256:${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
    },
    body,
  });
  assert.equal(answer.status, 202, await answer.text());
  await events.waitFor(
    (event) =>
      event.name === 'RichMessageSent' &&
      (event.payload as { channel: string }).channel === '#build-failures',
    1,
    20_000,
  );
  const failure = fake.messages.find((message) => message.channel === 'C0FAILS');
  assert.match(failure?.text ?? '', /build 68 .* failed/);
  assert.equal((failure?.attachments as Array<{ color: string }> | undefined)?.[0]?.color, '#d00000');
  assert.equal(fake.messages.filter((message) => message.channel === 'C0BUILDS').length, 2);
});

test('switchboard send slack SendMessage --wait posts in Slack and prints MessageSent', async () => {
  const { code, stdout, stderr } = await runCli(
    ['send', 'slack', 'SendMessage', '--input', '{"channelId":"#e2e","message":"from the bus"}', '--wait'],
    slackEnv(),
  );
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout);
  assert.equal(result.name, 'MessageSent');
  assert.equal(posted('from the bus')[0]?.channel, 'C0E2E');
  assert.equal(result.payload.timestamp, posted('from the bus')[0]?.ts);
});

test('every command answers with its success event, and with its failure event carrying Slack’s code', async () => {
  // Invited into a channel that was archived since: Broadcast fails there and nowhere else.
  await fake.sendEvent({
    type: 'member_joined_channel',
    user: fake.bot.userId,
    channel: 'C0OLD',
    channel_type: 'C',
  });
  const cases: Array<[string, unknown, string, Record<string, unknown>]> = [
    ['SendMessage', { channelId: 'C0E2E', message: 'plain' }, 'MessageSent', { channelId: 'C0E2E' }],
    [
      'SendMessage',
      { channelId: '#outside', message: 'x' },
      'SendMessageFailed',
      { errorCode: 'not_in_channel' },
    ],
    ['SendMessage', { channelId: 'C0OLD', message: 'x' }, 'SendMessageFailed', { errorCode: 'is_archived' }],
    [
      'SendMessage',
      { channelId: 'C0E2E', message: 'x'.repeat(40_001) },
      'SendMessageFailed',
      { errorCode: 'msg_too_long' },
    ],
    ['SendMessage', { channelId: 'C0E2E' }, 'SendMessageFailed', { errorCode: 'invalid_input' }],
    [
      'SendRichMessage',
      { channel: '#e2e', text: 'rich', attachments: [{ color: '#36a64f', title: 'Build 42' }] },
      'RichMessageSent',
      { channel: '#e2e' },
    ],
    [
      'SendRichMessage',
      { channel: '#nowhere', text: 'x' },
      'SendRichMessageFailed',
      { errorCode: 'channel_not_found' },
    ],
    ['JoinChannel', { channelId: '#later' }, 'ChannelJoined', { channelId: 'C0LATER' }],
    ['JoinChannel', { channelId: 'C0E2E' }, 'ChannelJoined', { channelId: 'C0E2E' }],
    ['JoinChannel', { channelId: '#nowhere' }, 'JoinChannelFailed', { errorCode: 'channel_not_found' }],
    [
      'Broadcast',
      { message: 'to all' },
      'BroadcastFailed',
      { errorCode: 'is_archived', failedChannelIds: ['C0OLD'] },
    ],
    ['LeaveChannel', { channelId: '#later' }, 'ChannelLeft', { channelId: 'C0LATER' }],
    ['LeaveChannel', { channelId: '#outside' }, 'ChannelLeft', { channelId: 'C0OUT' }],
    ['LeaveChannel', { channelId: '#nowhere' }, 'LeaveChannelFailed', { errorCode: 'channel_not_found' }],
    ['GetChannelInfo', { channelName: 'e2e' }, 'GetChannelInfoSuccess', { channelName: 'e2e' }],
    ['GetChannelInfo', { channelName: 'nowhere' }, 'GetChannelInfoFail', { errorCode: 'channel_not_found' }],
    ['Unknown', {}, 'CommandFailed', { errorCode: 'unknown_command' }],
  ];
  for (const [name, payload, expected, fields] of cases) {
    const result = await pack.resultOf(await pack.send(name, payload));
    const label = `${name} ${JSON.stringify(payload).slice(0, 60)} → ${JSON.stringify(result.payload).slice(0, 300)}`;
    assert.equal(result.name, expected, label);
    for (const [key, value] of Object.entries(fields))
      assert.deepEqual((result.payload as Record<string, unknown>)[key], value, `${label}: ${key}`);
  }
  // The partial failure posted in the two other channels; Slack's removal of the bot takes the archived
  // channel out, so the next Broadcast succeeds, in the one channel left.
  assert.deepEqual(
    posted('to all')
      .map((message) => message.channel)
      .sort(),
    ['C0E2E', 'C0LATER'],
  );
  await fake.sendEvent({ type: 'channel_left', channel: 'C0OLD', actor_id: 'U1' });
  const sent = await pack.resultOf(await pack.send('Broadcast', { message: 'to all again' }));
  assert.equal(sent.name, 'BroadcastSent', JSON.stringify(sent.payload));
  assert.deepEqual((sent.payload as { channelIds: string[] }).channelIds, ['C0E2E']);
  assert.deepEqual(
    posted('to all again').map((message) => message.channel),
    ['C0E2E'],
  );
  const info = events.named('GetChannelInfoSuccess').at(-1)?.payload as { channel: { id: string } };
  assert.equal(info.channel.id, 'C0E2E');
});

test('30 messages to one channel arrive once each and in order, with the fake enforcing 1 per second', async () => {
  fake.setRateLimit({ burst: 3, perSecond: 1 });
  const commands: Envelope[] = [];
  for (let i = 1; i <= 30; i++)
    commands.push(await pack.send('SendMessage', { channelId: '#order', message: `order ${i}` }));
  const results = await Promise.all(commands.map((command) => pack.resultOf(command, 90_000)));
  assert.deepEqual(
    results.map((result) => result.name),
    commands.map(() => 'MessageSent'),
  );
  const texts = fake.messages
    .filter((message) => message.channel === 'C0ORDER')
    .map((message) => message.text);
  assert.deepEqual(
    texts,
    commands.map((_, i) => `order ${i + 1}`),
  );
});

test('a 429 storm delays messages but loses none, posts none twice and keeps their order', async () => {
  fake.setRateLimit({ burst: 100, perSecond: 100 });
  fake.failNext('chat.postMessage', { retryAfter: 1, times: 6 });
  const commands: Envelope[] = [];
  for (let i = 1; i <= 5; i++)
    commands.push(await pack.send('SendMessage', { channelId: 'C0STORM', message: `storm ${i}` }));
  const results = await Promise.all(commands.map((command) => pack.resultOf(command, 60_000)));
  assert.ok(
    results.every((result) => result.name === 'MessageSent'),
    JSON.stringify(results.map((r) => r.payload)),
  );
  assert.equal(fake.requests.filter((request) => request.status === 429).length >= 6, true);
  assert.deepEqual(
    fake.messages.filter((message) => message.channel === 'C0STORM').map((message) => message.text),
    ['storm 1', 'storm 2', 'storm 3', 'storm 4', 'storm 5'],
  );
});

test('a dropped Socket Mode connection is reopened: the event sent meanwhile arrives, commands go on', async () => {
  const opened = fake.requests.filter((request) => request.method === 'apps.connections.open').length;
  fake.dropConnections();
  const command = await pack.send('SendMessage', { channelId: 'C0E2E', message: 'while reconnecting' });
  const ack = await fake.sendEvent(
    { type: 'message', channel: 'C0E2E', user: 'U1', text: 'after the drop', ts: '1700000003.000100' },
    { timeoutMs: 30_000 },
  );
  assert.ok(ack.envelope_id, 'acknowledged once published');
  await events.waitFor(
    (event) =>
      event.name === 'ReceivedMessage' && (event.payload as { message: string }).message === 'after the drop',
  );
  assert.equal((await pack.resultOf(command)).name, 'MessageSent');
  assert.ok(fake.requests.filter((request) => request.method === 'apps.connections.open').length > opened);
});

test('a pack killed after Slack posted, before it answered, does not post again when the command is redelivered', async () => {
  // Slack records the post but holds its answer; the pack dies waiting for it.
  fake.delayNext('chat.postMessage', { ms: 60_000, afterEffect: true });
  const command = await pack.send('SendMessage', { channelId: '#crash', message: 'exactly once' });
  for (let i = 0; i < 400 && posted('exactly once').length === 0; i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  assert.equal(posted('exactly once').length, 1, 'the first run posted');
  await pack.stop('SIGKILL');
  await pack.start(['pack', 'slack'], slackEnv());
  const result = await pack.resultOf(command, 30_000);
  assert.equal(result.name, 'MessageSent', JSON.stringify(result.payload));
  assert.equal(posted('exactly once').length, 1, 'not posted twice');
  assert.equal((result.payload as { timestamp: string }).timestamp, posted('exactly once')[0]?.ts);
});

test('the joined channels survive a restart: Broadcast after it reaches a channel joined before it', async () => {
  fake.addChannel({ id: 'C0KEPT', name: 'kept' });
  assert.equal(
    (await pack.resultOf(await pack.send('JoinChannel', { channelId: '#kept' }))).name,
    'ChannelJoined',
  );
  assert.equal(await pack.stop(), 0, 'stops cleanly on SIGTERM');
  await pack.start(['pack', 'slack'], slackEnv());
  const result = await pack.resultOf(await pack.send('Broadcast', { message: 'after restart' }));
  assert.equal(result.name, 'BroadcastSent', JSON.stringify(result.payload));
  assert.ok((result.payload as { channelIds: string[] }).channelIds.includes('C0KEPT'));
  assert.ok(posted('after restart').some((message) => message.channel === 'C0KEPT'));
});

test('HTTP Events API mode: url_verification, signed events in, bad or stale signatures refused', async () => {
  assert.equal(await pack.stop(), 0);
  const http = await pack.start(
    ['pack', 'slack'],
    slackEnv({ SLACK_APP_TOKEN: '', SLACK_SIGNING_SECRET: fake.signingSecret, SLACK_HTTP_PORT: '0' }),
  );
  const listening = await http.waitForOutput(/"eventsUrl":"http:\/\/[^:]+:\d+/);
  const url = `http://127.0.0.1:${/(\d+)$/.exec(listening)?.[1]}/slack/events`;

  const verification = await fake.verifyUrl(url);
  assert.equal(verification.status, 200);
  assert.match(JSON.stringify(verification.body), /challenge/);

  const delivered = await fake.deliverEvent(url, {
    type: 'message',
    channel: 'C0E2E',
    user: 'U1',
    text: 'over http',
    ts: '1700000002.000100',
  });
  assert.equal(delivered.status, 200);
  const [received] = await events.waitFor(
    (event) =>
      event.name === 'ReceivedMessage' && (event.payload as { message: string }).message === 'over http',
  );
  assert.equal((received?.payload as { channelId?: string } | undefined)?.channelId, 'C0E2E');

  const forged = await fake.deliverEvent(
    url,
    { type: 'message', channel: 'C0E2E', user: 'U1', text: 'forged', ts: '1700000002.000200' },
    { signature: 'v0=00', retries: false },
  );
  assert.equal(forged.status, 401);
  const stale = await fake.deliverEvent(
    url,
    { type: 'message', channel: 'C0E2E', user: 'U1', text: 'stale', ts: '1700000002.000300' },
    { timestamp: Math.floor(Date.now() / 1000) - 6 * 60, retries: false },
  );
  assert.equal(stale.status, 401);
  const early = await fake.deliverEvent(
    url,
    { type: 'message', channel: 'C0E2E', user: 'U1', text: 'from the future', ts: '1700000002.000400' },
    { timestamp: Math.floor(Date.now() / 1000) + 6 * 60, retries: false },
  );
  assert.equal(early.status, 401);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const texts = events
    .named('ReceivedMessage')
    .map((event) => (event.payload as { message: string }).message);
  assert.ok(
    !texts.includes('forged') && !texts.includes('stale') && !texts.includes('from the future'),
    texts.join(', '),
  );
  assert.match(http.stdout() + http.stderr(), /signature|verify/i, 'the refusal is logged with its reason');
});
