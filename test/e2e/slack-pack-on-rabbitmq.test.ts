import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.ts';
import { brokerUrl, connectTestBus, EventCollector } from '../support/bus.ts';
import { CLI, runCli, type Spawned, spawnNode } from '../support/processes.ts';

// `switchboard pack slack` as users run it, on RabbitMQ, against the fake Slack.
let fake: FakeSlack;
let pack: Spawned;
let bus: AmqpBus;
let events: EventCollector;
const env = () => ({
  ...process.env,
  AMQP_URL: brokerUrl(),
  SLACK_BOT_TOKEN: fake.tokens.bot,
  SLACK_APP_TOKEN: fake.tokens.app,
  SLACK_API_URL: fake.apiUrl,
});

before(async () => {
  fake = await startFakeSlack();
  fake.addChannel({ id: 'C0E2E', name: 'e2e', isMember: true });
  fake.addUser({ id: 'U1', name: 'ada' });
  bus = await connectTestBus();
  events = await EventCollector.start(bus, 'slack.*');
  pack = spawnNode(CLI, ['pack', 'slack'], env());
  await events.waitFor((event) => event.name === 'PackStarted', 1, 30_000);
});

after(async () => {
  pack.child.kill('SIGTERM');
  assert.equal(await pack.exit, 0, 'the pack stops cleanly on SIGTERM');
  await events.stop();
  await bus.close();
  await fake.close();
});

test('switchboard send slack SendMessage --wait posts in Slack and prints MessageSent', async () => {
  const { code, stdout, stderr } = await runCli(
    ['send', 'slack', 'SendMessage', '--input', '{"channelId":"#e2e","message":"from the bus"}', '--wait'],
    env(),
  );
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout);
  assert.equal(result.name, 'MessageSent');
  const posted = fake.messages.find((message) => message.text === 'from the bus');
  assert.equal(posted?.channel, 'C0E2E');
  assert.equal(result.payload.timestamp, posted?.ts);
});

test('a message typed in Slack arrives on the bus as slack.ReceivedMessage', async () => {
  await fake.sendEvent({
    type: 'message',
    channel: 'C0E2E',
    user: 'U1',
    text: 'hi bus',
    ts: '1700000001.000100',
  });
  const [received] = await events.waitFor(
    (event) =>
      event.name === 'ReceivedMessage' && (event.payload as { message: string }).message === 'hi bus',
  );
  assert.equal((received?.payload as { user: { name: string } } | undefined)?.user.name, 'ada');
});
