import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Flow } from '../../../engine/flow.ts';
import { EngineStore } from '../../../engine/state/engine-store.ts';
import { parseSlackConfig } from '../../../packs/slack/slack-config.ts';
import { createSlackPack } from '../../../packs/slack/slack-pack.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { createEnvelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { type FakeSlack, startFakeSlack } from '../../fakes/slack/index.ts';
import { EventCollector } from '../../support/bus.ts';
import { createTestEngine, loadedFlow } from '../../support/engine.ts';
import { startPackRuntime } from '../../support/test-pack.ts';

const configFor = (fake: FakeSlack, extra: Record<string, string> = {}) =>
  parseSlackConfig({
    SLACK_BOT_TOKEN: fake.tokens.bot,
    SLACK_APP_TOKEN: fake.tokens.app,
    SLACK_API_URL: fake.apiUrl,
    SLACK_PACE_PER_SECOND: '20',
    ...extra,
  });

const startRuntime = async (bus: MemoryBus, fake: FakeSlack, extra: Record<string, string> = {}) =>
  startPackRuntime(bus, await createSlackPack(configFor(fake, extra)), {
    prefetch: 50,
    commandTimeoutMs: 10_000,
    retry: { maxRetries: 3, minDelayMs: 10, maxDelayMs: 50 },
  });

describe('the Slack pack on Bolt in Socket Mode, against the fake Slack', () => {
  let fake: FakeSlack;
  let bus: MemoryBus;
  let runtime: PackRuntime;
  let events: EventCollector;
  let store: EngineStore;

  before(async () => {
    fake = await startFakeSlack({ rateLimit: { burst: 5, perSecond: 20 } });
    fake.addChannel({ id: 'C1', name: 'general', isMember: true });
    fake.addUser({ id: 'U1', name: 'ada', displayName: 'Ada' });
    bus = new MemoryBus();
    events = await EventCollector.start(bus, 'slack.*');
    runtime = await startRuntime(bus, fake, { SLACK_DEFAULT_JOIN_CHANNEL: '#general' });
    store = EngineStore.open(':memory:');
  });
  after(async () => {
    await runtime.stop({ graceMs: 1000 });
    await events.stop();
    store.close();
    await bus.close();
    await fake.close();
  });

  test('a message in a joined channel becomes ReceivedMessage, published before Slack gets its ack', async () => {
    await fake.sendEvent({
      type: 'message',
      channel: 'C1',
      user: 'U1',
      text: 'hello there',
      ts: '1700000000.000200',
    });
    const emitted = events
      .named('ReceivedMessage')
      .find((event) => (event.payload as { message: string }).message === 'hello there');
    assert.ok(emitted, 'published by the time the ack reached Slack');
    assert.deepEqual(emitted.payload, {
      channelId: 'C1',
      user: { id: 'U1', name: 'Ada', email: 'ada@example.com', firstName: 'ada' },
      message: 'hello there',
      timestamp: '1700000000.000200',
      threadTimestamp: '',
    });
  });

  test("the bot's own messages are never emitted", async () => {
    await fake.sendEvent({
      type: 'message',
      channel: 'C1',
      user: fake.bot.userId,
      text: 'my own',
      ts: '1700000000.000300',
    });
    await fake.sendEvent({
      type: 'message',
      subtype: 'bot_message',
      channel: 'C1',
      bot_id: fake.bot.botId,
      text: 'also mine',
      ts: '1700000000.000400',
    });
    const texts = events
      .named('ReceivedMessage')
      .map((event) => (event.payload as { message: string }).message);
    assert.ok(!texts.includes('my own') && !texts.includes('also mine'), texts.join(', '));
  });

  test('a reaction becomes ReactionAdded with who reacted, the emoji and the message it is on', async () => {
    await fake.sendEvent({
      type: 'reaction_added',
      user: 'U1',
      reaction: 'thumbsup',
      item: { type: 'message', channel: 'C1', ts: '1700000000.000200' },
      item_user: 'U0BOT',
      event_ts: '1700000000.000250',
    });
    const [reaction] = await events.waitFor((event) => event.name === 'ReactionAdded');
    assert.deepEqual(reaction?.payload, {
      user: 'U1',
      reaction: 'thumbsup',
      channelId: 'C1',
      messageTimestamp: '1700000000.000200',
    });
  });

  test('Slack sending an event again (its ack was lost) gives the same event id on the bus', async () => {
    const event = { type: 'message', channel: 'C1', user: 'U1', text: 'sent twice', ts: '1700000000.000600' };
    await fake.sendEvent(event);
    const first = events
      .named('ReceivedMessage')
      .filter((e) => (e.payload as { message: string }).message === 'sent twice');
    assert.equal(first.length, 1);
    // A resend carries the same event_id; the fake keeps it when told this is a retry of that envelope.
    const again = fake.envelopes.at(-1) as { payload: { event_id: string } };
    await fake.sendEvent(event, { retryAttempt: 1, retryReason: 'timeout', eventId: again.payload.event_id });
    const both = events
      .named('ReceivedMessage')
      .filter((e) => (e.payload as { message: string }).message === 'sent twice');
    assert.equal(both.length, 2);
    assert.equal(both[0]?.id, both[1]?.id);
  });

  test('the echo bot end to end: "echo hi" typed in Slack is answered in Slack', async () => {
    const echo = JSON.parse(
      await readFile(new URL('../../../flows/echo.json', import.meta.url), 'utf8'),
    ) as Flow;
    const engine = createTestEngine(bus, store, [loadedFlow(echo)]);
    await engine.start();
    await fake.sendEvent({
      type: 'message',
      channel: 'C1',
      user: 'U1',
      text: 'echo hi',
      ts: '1700000000.000500',
    });
    const reply = '<@U1>, you said:\n>>> hi';
    for (let i = 0; i < 200 && !fake.messages.some((message) => message.text === reply); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.ok(
      fake.messages.some((message) => message.channel === 'C1' && message.text === reply),
      `the reply was posted; results: ${JSON.stringify(events.events.filter((event) => event.name.includes('Message')).map((event) => [event.name, event.payload]))}; posted: ${JSON.stringify(fake.messages.map((message) => message.text))}`,
    );
    await engine.stop();
  });

  test('being invited into a channel adds it to the joined channels that Broadcast reaches', async () => {
    fake.addChannel({ id: 'C2', name: 'random', isMember: true });
    await fake.sendEvent({
      type: 'member_joined_channel',
      user: fake.bot.userId,
      channel: 'C2',
      channel_type: 'C',
    });
    const before = fake.messages.length;
    await events.waitFor((event) => event.name === 'PackStarted');
    const command = createEnvelope({
      kind: 'command',
      pack: 'slack',
      name: 'Broadcast',
      payload: { message: 'to everyone' },
    });
    await bus.publish({ exchange: 'switchboard.commands', routingKey: 'slack.Broadcast' }, command);
    const [result] = await events.waitFor((event) => event.causationId === command.id);
    assert.deepEqual((result?.payload as { channelIds: string[] } | undefined)?.channelIds, ['C1', 'C2']);
    assert.equal(fake.messages.length - before, 2);
  });
});

test('a refused bot token stops the pack at start with a message naming SLACK_BOT_TOKEN', async () => {
  const fake = await startFakeSlack();
  const bus = new MemoryBus();
  await assert.rejects(
    startRuntime(bus, fake, { SLACK_BOT_TOKEN: 'xoxb-wrong' }),
    /SLACK_BOT_TOKEN: Slack refused the token .*invalid_auth/,
  );
  await bus.close();
  await fake.close();
});

test('a refused app token stops the pack at start with a message naming SLACK_APP_TOKEN', async () => {
  const fake = await startFakeSlack();
  const bus = new MemoryBus();
  await assert.rejects(
    startRuntime(bus, fake, { SLACK_APP_TOKEN: 'xapp-wrong' }),
    /SLACK_APP_TOKEN: cannot open a Socket Mode connection .*invalid_auth/,
  );
  await bus.close();
  await fake.close();
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A bus that refuses the next `failures` publishes of an event, as RabbitMQ does when it is down. */
class FlakyBus extends MemoryBus {
  failures = 0;
  override async publish(...args: Parameters<MemoryBus['publish']>): Promise<void> {
    if (args[1].name === 'ReceivedMessage' && this.failures > 0) {
      this.failures -= 1;
      throw new Error('the broker is unreachable');
    }
    return super.publish(...args);
  }
}

test('over HTTP, an event that could not be published is answered 500; Slack’s retry puts it on the bus once', async () => {
  const fake = await startFakeSlack({ retryDelaysMs: [50, 50] });
  fake.addChannel({ id: 'C1', name: 'general', isMember: true });
  fake.addUser({ id: 'U1', name: 'ada' });
  const bus = new FlakyBus();
  const events = await EventCollector.start(bus, 'slack.*');
  const port = await freePort();
  const runtime = await startRuntime(bus, fake, {
    SLACK_APP_TOKEN: '',
    SLACK_SIGNING_SECRET: fake.signingSecret,
    SLACK_HTTP_PORT: String(port),
  });
  try {
    bus.failures = 1;
    const delivery = await fake.deliverEvent(`http://127.0.0.1:${port}/slack/events`, {
      type: 'message',
      channel: 'C1',
      user: 'U1',
      text: 'survives an outage',
      ts: '1700000000.000900',
    });
    assert.equal(delivery.status, 200);
    assert.deepEqual(
      fake.httpDeliveries.map((attempt) => [attempt.retryNum, attempt.status]),
      [
        [0, 500],
        [1, 200],
      ],
    );
    const received = events
      .named('ReceivedMessage')
      .filter((event) => (event.payload as { message: string }).message === 'survives an outage');
    assert.equal(received.length, 1);
  } finally {
    await runtime.stop({ graceMs: 1000 });
    await events.stop();
    await bus.close();
    await fake.close();
  }
});
