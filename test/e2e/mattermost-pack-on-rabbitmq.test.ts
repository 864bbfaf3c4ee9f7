import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import type { Envelope } from '../../shared/envelope.ts';
import { type FakeMattermost, startFakeMattermost } from '../fakes/mattermost/index.ts';
import { brokerUrl, connectTestBus, EventCollector } from '../support/bus.ts';
import { PackProcess } from '../support/pack-process.ts';

// The Mattermost pack's acceptance, as users run it: its own process on RabbitMQ against the fake
// Mattermost, first as a bot account with slash commands, then with only an incoming webhook. The tests
// share the `mattermost` queue, so they run in order with one pack at a time.
const COMMAND_TOKEN = 'slash-command-token-0000001';
let fake: FakeMattermost;
let bus: AmqpBus;
let events: EventCollector;
let stateDir: string;
let flowsDir: string;
let pack: PackProcess;
let commandsUrl: string;
let deploys: string;
let random: string;
let alice: string;

const botEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  AMQP_URL: brokerUrl(),
  LOG_LEVEL: 'info',
  MATTERMOST_URL: fake.url,
  MATTERMOST_TOKEN: fake.bot.token,
  MATTERMOST_COMMAND_TOKENS: COMMAND_TOKEN,
  MATTERMOST_HTTP_HOST: '127.0.0.1',
  MATTERMOST_HTTP_PORT: '0',
  SWITCHBOARD_STATE_DIR: stateDir,
  ...extra,
});

const posted = (message: string) => fake.posts.filter((post) => post.message === message);

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'sb-mm-'));
  flowsDir = join(stateDir, 'flows');
  fake = await startFakeMattermost();
  fake.addTeam({ name: 'eng', displayName: 'Engineering' });
  alice = fake.addUser({ username: 'alice' }).id;
  deploys = fake.addChannel({ teamName: 'eng', name: 'deploys', members: ['alice'] }).id;
  random = fake.addChannel({ teamName: 'eng', name: 'random', members: ['alice'], botIsMember: false }).id;
  // A flow answering /deploy, and the echo flow moved to Mattermost, as README shows.
  await import('node:fs/promises').then(({ mkdir }) => mkdir(flowsDir));
  await writeFile(
    join(flowsDir, 'deploy.json'),
    JSON.stringify({
      name: 'deploy_command',
      steps: [
        {
          id: 'answer',
          event: { packName: 'Mattermost', name: 'SlashCommandReceived' },
          criteria: "{% if Event.Payload.command == '/deploy' %}true{% else %}false{% endif %}",
          command: {
            packName: 'Mattermost',
            name: 'RespondToCommand',
            input: {
              responseUrl: '{{ Event.Payload.responseUrl }}',
              responseType: 'in_channel',
              text: 'Deploying {{ Event.Payload.text }} for @{{ Event.Payload.userName }}',
            },
          },
        },
      ],
    }),
  );
  bus = await connectTestBus();
  events = await EventCollector.start(bus, 'mattermost.*');
  pack = new PackProcess('mattermost', bus, events);
  const all = await pack.start(
    ['all', '--flows', flowsDir, '--data-dir', stateDir],
    botEnv({ SWITCHBOARD_ENGINE_QUEUE: 'switchboard.engine.mattermost-e2e', SWITCHBOARD_CONSOLE_PORT: '0' }),
  );
  commandsUrl = /"url":"(http:\/\/[0-9.:]+)\/mattermost\/command"/.exec(
    await all.waitForOutput(/"url":"http:\/\/[0-9.:]+\/mattermost\/command"/),
  )?.[1] as string;
});

after(async () => {
  const code = await pack.stop();
  await events.stop();
  await bus.close();
  await fake.close();
  await rm(stateDir, { recursive: true, force: true });
  assert.ok(code === null || code === 0, `the last pack stops cleanly on SIGTERM (exit ${code})`);
});

test('a post in a channel the bot is in becomes ReceivedMessage, never the bot’s own', async () => {
  const post = fake.injectPost({ channelId: deploys, userId: alice, message: 'hello bot' });
  const [received] = await events.waitFor((event) => event.name === 'ReceivedMessage');
  assert.deepEqual(received?.payload, {
    channelId: deploys,
    user: { id: alice, name: 'alice' },
    message: 'hello bot',
    timestamp: post.id,
    threadTimestamp: '',
    postId: post.id,
  });
  await pack.resultOf(await pack.send('SendMessage', { channelId: deploys, message: 'my own' }));
  fake.injectPost({ channelId: deploys, userId: alice, message: 'marker' });
  await events.waitFor((event) => (event.payload as { message?: string }).message === 'marker');
  assert.ok(
    !events
      .named('ReceivedMessage')
      .some((event) => (event.payload as { message: string }).message === 'my own'),
  );
});

test('a slash command is answered in the channel by a flow, within Mattermost’s time', async () => {
  const answer = await fake.fireSlashCommand(`${commandsUrl}/mattermost/command`, {
    token: COMMAND_TOKEN,
    command: '/deploy',
    text: 'api v2',
    channelId: deploys,
    userId: alice,
  });
  assert.equal(answer.status, 200, JSON.stringify(answer));
  assert.ok(answer.elapsedMs < 3000, `answered in ${answer.elapsedMs} ms`);
  assert.equal((answer.body as { response_type?: string }).response_type, 'in_channel');
  assert.equal(posted('Deploying api v2 for @alice').length, 1);
  const [received] = await events.waitFor((event) => event.name === 'SlashCommandReceived');
  assert.equal((received?.payload as { command?: string } | undefined)?.command, '/deploy');
});

test('a forged slash command token gets 401 and emits nothing', async () => {
  const before = events.named('SlashCommandReceived').length;
  const answer = await fake.fireSlashCommand(`${commandsUrl}/mattermost/command`, {
    token: 'forged',
    command: '/deploy',
    text: 'evil',
    channelId: deploys,
    userId: alice,
  });
  assert.equal(answer.status, 401);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(events.named('SlashCommandReceived').length, before);
  assert.equal(posted('Deploying evil for @alice').length, 0);
});

test('a slash command no flow answers in time gets the acknowledgement; a later answer follows through response_url', async () => {
  const answer = await fake.fireSlashCommand(`${commandsUrl}/mattermost/command`, {
    token: COMMAND_TOKEN,
    command: '/status',
    text: 'api',
    channelId: deploys,
    userId: alice,
  });
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body, { response_type: 'ephemeral', text: 'Working on it…' });
  const result = await pack.resultOf(
    await pack.send('RespondToCommand', {
      responseUrl: answer.responseUrl,
      text: 'api is up',
      responseType: 'in_channel',
    }),
  );
  assert.deepEqual(
    [result.name, (result.payload as { via: string }).via],
    ['CommandResponded', 'response_url'],
  );
  assert.equal(fake.followUps.length, 1);
  assert.equal(posted('api is up')[0]?.channel_id, deploys);
});

test('an outgoing webhook is emitted too; an answer after its reply is posted in its thread by the bot', async () => {
  const fired = await fake.fireOutgoingWebhook(`${commandsUrl}/mattermost/outgoing`, {
    token: COMMAND_TOKEN,
    channelId: deploys,
    userId: alice,
    text: 'build status please',
    triggerWord: 'build',
  });
  assert.equal(fired.status, 200);
  const [received] = await events.waitFor(
    (event) =>
      event.name === 'SlashCommandReceived' && (event.payload as { command: string }).command === 'build',
  );
  const { responseUrl } = (received?.payload ?? {}) as { responseUrl: string };
  const result = await pack.resultOf(await pack.send('RespondToCommand', { responseUrl, text: 'all green' }));
  assert.deepEqual([result.name, (result.payload as { via: string }).via], ['CommandResponded', 'post']);
  assert.equal(posted('all green')[0]?.root_id, fired.triggerPost.id);
});

test('every command in bot mode, with its success event and its failure event', async () => {
  const cases: Array<[string, unknown, string, Record<string, unknown>]> = [
    ['SendMessage', { channelId: 'eng/deploys', message: 'by name' }, 'MessageSent', { channelId: deploys }],
    [
      'SendMessage',
      { channelId: random, message: 'x' },
      'SendMessageFailed',
      { errorCode: 'not_in_channel' },
    ],
    [
      'SendMessage',
      { channelId: 'eng/nowhere', message: 'x' },
      'SendMessageFailed',
      { errorCode: 'channel_not_found' },
    ],
    [
      'SendRichMessage',
      { channel: deploys, text: 'rich', attachments: [{ color: '#36a64f', title: 'Build 7' }] },
      'RichMessageSent',
      { channel: deploys },
    ],
    ['SendRichMessage', { channel: deploys }, 'SendRichMessageFailed', { errorCode: 'no_text' }],
    ['JoinChannel', { channelId: 'eng/random' }, 'ChannelJoined', { channelId: random }],
    ['Broadcast', { message: 'to every channel' }, 'BroadcastSent', { channelIds: [deploys, random].sort() }],
    ['LeaveChannel', { channelId: random }, 'ChannelLeft', { channelId: random }],
    ['LeaveChannel', { channelId: random }, 'ChannelLeft', { channelId: random }],
    ['JoinChannel', { channelId: 'eng/nowhere' }, 'JoinChannelFailed', { errorCode: 'channel_not_found' }],
    [
      'RespondToCommand',
      { responseUrl: 'http://elsewhere.example/hooks/x', text: 'x' },
      'RespondToCommandFailed',
      { errorCode: 'unknown_response_url' },
    ],
  ];
  for (const [name, payload, expected, fields] of cases) {
    const result = await pack.resultOf(await pack.send(name, payload));
    const label = `${name} ${JSON.stringify(payload)} → ${JSON.stringify(result.payload).slice(0, 300)}`;
    assert.equal(result.name, expected, label);
    for (const [key, value] of Object.entries(fields))
      assert.deepEqual((result.payload as Record<string, unknown>)[key], value, `${label}: ${key}`);
  }
  assert.deepEqual(posted('rich')[0]?.props?.attachments, [{ color: '#36a64f', title: 'Build 7' }]);
  assert.equal(posted('to every channel').length, 2);
});

test('order through a 429 storm: every post once, in order', async () => {
  fake.failNext('createPost', { status: 429, retryAfter: 1, times: 3 });
  const commands: Envelope[] = [];
  for (let i = 1; i <= 6; i++)
    commands.push(await pack.send('SendMessage', { channelId: deploys, message: `storm ${i}` }));
  const results = await Promise.all(commands.map((command) => pack.resultOf(command, 60_000)));
  assert.ok(
    results.every((result) => result.name === 'MessageSent'),
    JSON.stringify(results.map((r) => r.payload)),
  );
  assert.deepEqual(
    fake.posts.filter((post) => post.message.startsWith('storm ')).map((post) => post.message),
    commands.map((_, i) => `storm ${i + 1}`),
  );
});

test('a SendMessage redelivered after the pack died mid-post does not post twice', async () => {
  // Mattermost makes the post but holds its answer past its 30 s pending_post_id memory; the pack is killed.
  fake.delayNext('createPost', { ms: 60_000, afterEffect: true });
  const command = await pack.send('SendMessage', { channelId: deploys, message: 'exactly once' });
  for (let i = 0; i < 400 && posted('exactly once').length === 0; i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  assert.equal(posted('exactly once').length, 1, 'the first run posted');
  await pack.stop('SIGKILL');
  await pack.start(['pack', 'mattermost'], botEnv());
  const result = await pack.resultOf(command, 30_000);
  assert.equal(result.name, 'MessageSent', JSON.stringify(result.payload));
  assert.equal(posted('exactly once').length, 1, 'not posted twice');
  assert.equal((result.payload as { postId: string }).postId, posted('exactly once')[0]?.id);
});

test('a short WebSocket disconnect loses no post: the pack catches up once reconnected', async () => {
  fake.dropConnections();
  fake.injectPost({ channelId: deploys, userId: alice, message: 'during the drop' });
  await events.waitFor(
    (event) => (event.payload as { message?: string }).message === 'during the drop',
    1,
    30_000,
  );
  fake.injectPost({ channelId: deploys, userId: alice, message: 'after the drop' });
  await events.waitFor(
    (event) => (event.payload as { message?: string }).message === 'after the drop',
    1,
    30_000,
  );
  const count = (message: string) =>
    events
      .named('ReceivedMessage')
      .filter((event) => (event.payload as { message: string }).message === message).length;
  assert.equal(count('during the drop'), 1);
  assert.equal(count('after the drop'), 1);
});

test('webhook mode: SendMessage and SendRichMessage post through the hook; account commands say what enables them', async () => {
  assert.equal(await pack.stop(), 0);
  const hook = fake.addIncomingHook({ channelId: deploys });
  await pack.start(['pack', 'mattermost'], {
    ...process.env,
    AMQP_URL: brokerUrl(),
    MATTERMOST_WEBHOOK_URL: hook.url,
  });
  const sent = await pack.resultOf(
    await pack.send('SendMessage', { channelId: 'deploys', message: 'through the hook' }),
  );
  assert.equal(sent.name, 'MessageSent', JSON.stringify(sent.payload));
  assert.equal(posted('through the hook')[0]?.channel_id, deploys);
  const rich = await pack.resultOf(
    await pack.send('SendRichMessage', {
      channel: 'deploys',
      text: 'rich hook',
      attachments: [{ title: 'T' }],
      username: 'ci',
    }),
  );
  assert.equal(rich.name, 'RichMessageSent', JSON.stringify(rich.payload));
  const failed = await pack.resultOf(await pack.send('SendMessage', { channelId: 'nowhere', message: 'x' }));
  assert.equal(failed.name, 'SendMessageFailed');
  for (const name of ['Broadcast', 'JoinChannel', 'LeaveChannel']) {
    const result = await pack.resultOf(
      await pack.send(name, name === 'Broadcast' ? { message: 'x' } : { channelId: deploys }),
    );
    assert.equal((result.payload as { errorCode: string }).errorCode, 'unsupported_in_webhook_mode', name);
    assert.match((result.payload as { error: string }).error, /MATTERMOST_URL and MATTERMOST_TOKEN/);
  }
});
