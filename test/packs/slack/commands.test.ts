import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import { ChannelResolver } from '../../../packs/slack/channel-resolver.ts';
import { slackCommands } from '../../../packs/slack/commands.ts';
import { JoinedChannels } from '../../../packs/slack/joined-channels.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import { ChannelPacer } from '../../../shared/runtime/channel-pacer.ts';
import { definePack } from '../../../shared/runtime/pack-definition.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { type FakeSlack, startFakeSlack } from '../../fakes/slack/index.ts';
import { EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';

// The Slack commands run by the real pack runtime (on the in-memory bus) against the fake Slack.
describe('Slack commands', () => {
  let fake: FakeSlack;
  let bus: MemoryBus;
  let runtime: PackRuntime;
  let events: EventCollector;
  let joined: JoinedChannels;

  before(async () => {
    fake = await startFakeSlack({ rateLimit: { burst: 5, perSecond: 20 } });
    fake.addChannel({ id: 'C0GENERAL', name: 'general', isMember: true });
    fake.addChannel({ id: 'C0DEPLOYS', name: 'deploys', isMember: true, topic: 'releases' });
    fake.addChannel({ id: 'C0OUTSIDE', name: 'outside' });
    fake.addChannel({ id: 'C0OLD', name: 'old', isMember: true, isArchived: true });
    const web = new WebClient(fake.tokens.bot, {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
    joined = await JoinedChannels.open({});
    bus = new MemoryBus();
    events = await EventCollector.start(bus, 'slack.*');
    const pack = definePack({
      name: 'slack',
      version: 'test',
      description: 'Slack commands under test',
      commands: slackCommands({
        web,
        pacer: new ChannelPacer({ burst: 5, perSecond: 20 }),
        channels: new ChannelResolver(web),
        joined,
      }),
    });
    runtime = await startPackRuntime(bus, pack, {
      prefetch: 50,
      commandTimeoutMs: 20_000,
      retry: { maxRetries: 5, minDelayMs: 10, maxDelayMs: 50 },
    });
  });
  after(async () => {
    await runtime.stop({ graceMs: 1000 });
    await events.stop();
    await bus.close();
    await fake.close();
  });

  async function run(name: string, payload: unknown): Promise<Envelope> {
    const command = createEnvelope({ kind: 'command', pack: 'slack', name, payload });
    await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey('slack', name) }, command);
    return (await events.waitFor((event) => event.causationId === command.id, 1, 20_000))[0] as Envelope;
  }

  test('SendMessage posts and reports the timestamp Slack gave the message', async () => {
    const result = await run('SendMessage', { channelId: '#general', message: 'hello' });
    assert.equal(result.name, 'MessageSent');
    const posted = fake.messages.at(-1);
    assert.deepEqual(result.payload, {
      message: 'hello',
      channelId: 'C0GENERAL',
      threadTimestamp: '',
      timestamp: posted?.ts,
    });
    assert.equal(posted?.text, 'hello');
  });

  test('SendMessage to a channel the bot is not in fails with not_in_channel, at once', async () => {
    const before = fake.requests.length;
    const result = await run('SendMessage', { channelId: 'C0OUTSIDE', message: 'hello' });
    assert.equal(result.name, 'SendMessageFailed');
    assert.equal((result.payload as { errorCode: string }).errorCode, 'not_in_channel');
    assert.equal(
      fake.requests.filter((r, i) => i >= before && r.method === 'chat.postMessage').length,
      1,
      'not retried',
    );
  });

  test('a 429 storm delays the message but loses nothing and posts it once', async () => {
    fake.failNext('chat.postMessage', { retryAfter: 1, times: 2 });
    const result = await run('SendMessage', { channelId: 'C0GENERAL', message: 'after the storm' });
    assert.equal(result.name, 'MessageSent');
    assert.equal(fake.messages.filter((message) => message.text === 'after the storm').length, 1);
  });

  test('30 messages to one channel arrive in the order of their commands', async () => {
    const commands = Array.from({ length: 30 }, (_, i) =>
      createEnvelope({
        kind: 'command',
        pack: 'slack',
        name: 'SendMessage',
        payload: { channelId: 'C0DEPLOYS', message: `n${i}` },
      }),
    );
    for (const command of commands) {
      await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'slack.SendMessage' }, command);
    }
    await events.waitFor((event) => commands.some((command) => command.id === event.causationId), 30, 30_000);
    const texts = fake.messages
      .filter((message) => message.channel === 'C0DEPLOYS')
      .map((message) => message.text);
    assert.deepEqual(
      texts,
      commands.map((_, i) => `n${i}`),
    );
  });

  test('SendRichMessage passes attachments through as Slack shows them', async () => {
    const attachments = [
      {
        color: '#36a64f',
        title: 'Deployment Update',
        fields: [{ title: 'Environment', value: 'staging', short: true }],
      },
    ];
    const result = await run('SendRichMessage', { channel: 'deploys', text: 'deployed', attachments });
    assert.equal(result.name, 'RichMessageSent');
    assert.deepEqual(fake.messages.at(-1)?.attachments, attachments);
    assert.equal((result.payload as { timestamp: string }).timestamp, fake.messages.at(-1)?.ts);
    const failed = await run('SendRichMessage', { channel: 'C0OLD', text: 'x' });
    assert.equal(failed.name, 'SendRichMessageFailed');
    assert.deepEqual(failed.payload, {
      inputMessage: { channel: 'C0OLD', text: 'x' },
      error: 'Slack refused the call: is_archived',
      errorCode: 'is_archived',
    });
  });

  test('JoinChannel records the channel; LeaveChannel of a channel the bot is not in succeeds', async () => {
    const joinedResult = await run('JoinChannel', { channelId: '#outside' });
    assert.equal(joinedResult.name, 'ChannelJoined');
    assert.ok(joined.has('C0OUTSIDE'));
    assert.ok(fake.members('C0OUTSIDE').includes(fake.bot.userId));
    assert.equal((await run('LeaveChannel', { channelId: 'C0OUTSIDE' })).name, 'ChannelLeft');
    assert.equal(
      (await run('LeaveChannel', { channelId: 'C0OUTSIDE' })).name,
      'ChannelLeft',
      'again, not a member',
    );
    assert.ok(!joined.has('C0OUTSIDE'));
  });

  test('Broadcast reports a partial failure without repeating the posts that succeeded', async () => {
    await joined.add('C0GENERAL');
    await joined.add('C0OLD');
    const result = await run('Broadcast', { message: 'to all' });
    assert.equal(result.name, 'BroadcastFailed');
    const payload = result.payload as { failedChannelIds: string[]; channelIds: string[]; errorCode: string };
    assert.deepEqual(payload.failedChannelIds, ['C0OLD']);
    assert.deepEqual(payload.channelIds, ['C0GENERAL']);
    assert.equal(payload.errorCode, 'is_archived');
    assert.equal(fake.messages.filter((message) => message.text === 'to all').length, 1);
    await joined.remove('C0OLD');
    const ok = await run('Broadcast', { message: 'all fine' });
    assert.deepEqual(ok.payload, { message: 'all fine', channelIds: ['C0GENERAL'] });
  });

  test('GetChannelInfo finds a channel by name, or fails with channel_not_found', async () => {
    const found = await run('GetChannelInfo', { channelName: '#deploys' });
    assert.deepEqual(found.payload, {
      channelName: '#deploys',
      channel: { id: 'C0DEPLOYS', name: 'deploys', topic: 'releases' },
    });
    const missing = await run('GetChannelInfo', { channelName: 'nowhere' });
    assert.equal(missing.name, 'GetChannelInfoFail');
    assert.equal((missing.payload as { errorCode: string }).errorCode, 'channel_not_found');
  });
});
