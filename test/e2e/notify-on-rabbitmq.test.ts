import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeMatrix, startFakeMatrix } from '../fakes/matrix/index.ts';
import { type FakeMattermost, startFakeMattermost } from '../fakes/mattermost/index.ts';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.ts';
import { CLI, runCli, type Spawned, spawnNode } from '../support/processes.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../support/throwaway-rabbitmq.ts';

// "The app notifies #admins": `switchboard all` with the Slack, Matrix and Mattermost packs and the
// notify pack, on a RabbitMQ of its own (the chat packs' queues are shared with the other end-to-end
// files otherwise), against the three fakes.
const ROOM = '!ops:fake.local';
let broker: ThrowawayBroker;
let slack: FakeSlack;
let matrix: FakeMatrix;
let mattermost: FakeMattermost;
let dir: string;
let flows: string;
let all: Spawned;
let opsChannel: string;

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  AMQP_URL: broker.url,
  LOG_LEVEL: 'info',
  SLACK_BOT_TOKEN: slack.tokens.bot,
  SLACK_APP_TOKEN: slack.tokens.app,
  SLACK_API_URL: slack.apiUrl,
  MATRIX_HOMESERVER_URL: matrix.url,
  MATRIX_ACCESS_TOKEN: matrix.bot.accessToken,
  MATTERMOST_URL: mattermost.url,
  MATTERMOST_TOKEN: mattermost.bot.token,
  NOTIFY_DELIVERY_TIMEOUT: '3',
});

const writeAudiences = (mapping: unknown) =>
  writeFile(join(flows, 'audiences.json'), JSON.stringify(mapping));

async function notify(payload: unknown) {
  const { code, stdout, stderr } = await runCli(
    ['send', 'notify', 'Notify', '--input', JSON.stringify(payload), '--wait', '--timeout', '30'],
    env(),
  );
  return { code, stderr, result: stdout ? JSON.parse(stdout) : undefined };
}

before(async () => {
  broker = await startThrowawayBroker();
  dir = await mkdtemp(join(tmpdir(), 'sb-notify-e2e-'));
  flows = join(dir, 'flows');
  await mkdir(flows);
  slack = await startFakeSlack();
  slack.addChannel({ id: 'C0ALERTS', name: 'alerts', isMember: true });
  slack.addChannel({ id: 'C0PAGER', name: 'pager', isMember: true });
  matrix = await startFakeMatrix({ rooms: [{ id: ROOM, alias: '#ops:fake.local', joined: true }] });
  mattermost = await startFakeMattermost();
  mattermost.addTeam({ name: 'team' });
  opsChannel = mattermost.addChannel({ teamName: 'team', name: 'ops' }).id;
  await writeAudiences({
    '#admins': { matrix: ['#ops:fake.local'], slack: ['#alerts'], mattermost: ['team/ops'] },
    '#oncall': { include: ['#admins'], slack: ['#pager'] },
    '#everywhere': { include: ['#admins'], email: ['ops@example.org'] },
  });
  all = spawnNode(CLI, ['all', '--flows', flows, '--data-dir', dir], {
    ...env(),
    SWITCHBOARD_CONSOLE_PORT: '0',
  });
  for (const pack of ['slack', 'matrix', 'mattermost', 'notify'])
    await all.waitForOutput(new RegExp(`"pack":"${pack}".*"msg":"pack started"`), 60_000);
});

after(async () => {
  all.child.kill('SIGTERM');
  const code = await all.exit;
  await slack.close();
  await matrix.close();
  await mattermost.close();
  await broker.dispose();
  await rm(dir, { recursive: true, force: true });
  assert.equal(code, 0, 'stops cleanly on SIGTERM');
});

test('switchboard send notify Notify to #oncall puts one message in each mapped channel and prints NotificationSent', async () => {
  const { code, stderr, result } = await notify({ to: '#oncall', message: 'disk full' });
  assert.equal(code, 0, stderr);
  assert.equal(result.name, 'NotificationSent');
  assert.deepEqual(
    result.payload.deliveries.map((delivery: { pack: string; channelId: string; status: string }) => [
      delivery.pack,
      delivery.channelId,
      delivery.status,
    ]),
    // The group's own targets first, then those of the groups it includes, in the order written.
    [
      ['slack', '#pager', 'sent'],
      ['matrix', '#ops:fake.local', 'sent'],
      ['slack', '#alerts', 'sent'],
      ['mattermost', 'team/ops', 'sent'],
    ],
  );
  assert.deepEqual(
    slack.messages
      .filter((message) => message.text === 'disk full')
      .map((message) => message.channel)
      .sort(),
    ['C0ALERTS', 'C0PAGER'],
  );
  assert.deepEqual(
    matrix.sends.filter((send) => send.content.body === 'disk full').map((send) => send.roomId),
    [ROOM],
  );
  assert.deepEqual(
    mattermost.posts.filter((post) => post.message === 'disk full').map((post) => post.channel_id),
    [opsChannel],
  );
});

test('a group with an unreachable pack reports that delivery as failed while the others arrive', async () => {
  const { code, result } = await notify({ to: '#everywhere', message: 'partial' });
  assert.equal(code, 0);
  assert.equal(result.name, 'NotificationSent');
  const failed = result.payload.deliveries.filter(
    (delivery: { status: string }) => delivery.status === 'failed',
  );
  assert.deepEqual(
    failed.map((delivery: { pack: string; errorCode: string }) => [delivery.pack, delivery.errorCode]),
    [['email', 'timeout']],
  );
  assert.equal(slack.messages.filter((message) => message.text === 'partial').length, 1);
  assert.equal(matrix.sends.filter((send) => send.content.body === 'partial').length, 1);
  assert.equal(mattermost.posts.filter((post) => post.message === 'partial').length, 1);
});

test('editing the mapping file changes the next notification’s targets without a restart', async () => {
  await writeAudiences({ '#admins': { slack: ['#pager'] } });
  await all.waitForOutput(/"msg":"audiences loaded"/, 10_000);
  const { result } = await notify({ to: '#admins', message: 'after the edit' });
  assert.deepEqual(
    result.payload.deliveries.map((delivery: { pack: string; channelId: string }) => [
      delivery.pack,
      delivery.channelId,
    ]),
    [['slack', '#pager']],
  );
  assert.equal(matrix.sends.filter((send) => send.content.body === 'after the edit').length, 0);
});

test('an unknown group fails with unknown_audience and exit status 1', async () => {
  const { code, result } = await notify({ to: '#nobody', message: 'x' });
  assert.equal(code, 1);
  assert.equal(result.name, 'NotificationFailed');
  assert.equal(result.payload.errorCode, 'unknown_audience');
  assert.match(result.payload.error, /#nobody/);
});
