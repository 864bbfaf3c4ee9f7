import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSlackConfig } from '../../packs/slack/slack-config.ts';
import { createSlackPack } from '../../packs/slack/slack-pack.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../shared/envelope.ts';
import { startFakeSlack } from '../fakes/slack/index.ts';
import { connectTestBus, EventCollector } from '../support/bus.ts';
import { startPackRuntime } from '../support/test-pack.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../support/throwaway-rabbitmq.ts';

// A pack named slack consumes switchboard.pack.slack: on the shared broker it would take the commands of
// the other Slack tests running at the same time, so this one has a broker of its own.
let broker: ThrowawayBroker;
before(async () => {
  broker = await startThrowawayBroker();
});
after(async () => {
  await broker?.dispose();
});

/**
 * A burst far longer than the command time limit, to one channel paced at 5 messages a second: the time
 * each message waits for its channel is not run time, so all of it is posted, in order; meanwhile the
 * other channels are not held up. 300 messages at 5/s take a minute.
 */
test('a burst of 300 messages to one channel is posted in full and in order; other channels go on', async () => {
  const fake = await startFakeSlack({ rateLimit: { burst: 5, perSecond: 5 } });
  const others = Array.from({ length: 10 }, (_, i) => `C0OTHER${i}`);
  for (const id of ['C0BURST', ...others]) fake.addChannel({ id, name: id.toLowerCase(), isMember: true });
  const postedAt = new Map<string, number>();
  fake.onPost((message) => postedAt.set(message.text ?? '', Date.now()));
  const bus = await connectTestBus(broker.url);
  const events = await EventCollector.start(bus, 'slack.*');
  const config = parseSlackConfig({
    SLACK_BOT_TOKEN: fake.tokens.bot,
    SLACK_APP_TOKEN: fake.tokens.app,
    SLACK_API_URL: fake.apiUrl,
    SLACK_PACE_PER_SECOND: '5',
  });
  const runtime = await startPackRuntime(bus, await createSlackPack(config), {
    prefetch: 500,
    commandTimeoutMs: 10_000,
    retry: { maxRetries: 3, minDelayMs: 10, maxDelayMs: 50 },
  });
  const send = async (channelId: string, message: string) => {
    const command = createEnvelope({
      kind: 'command',
      pack: 'slack',
      name: 'SendMessage',
      payload: { channelId, message },
    });
    await bus.publish(
      { exchange: COMMANDS_EXCHANGE, routingKey: routingKey('slack', 'SendMessage') },
      command,
    );
    return command;
  };
  try {
    const burst: Envelope[] = [];
    for (let i = 0; i < 300; i++) burst.push(await send('C0BURST', `burst ${String(i).padStart(3, '0')}`));
    await sleep(3000);
    const sentAt = new Map<string, number>();
    const singles: Envelope[] = [];
    for (const channelId of others) {
      sentAt.set(`single to ${channelId}`, Date.now());
      singles.push(await send(channelId, `single to ${channelId}`));
    }

    const commandIds = new Set([...burst, ...singles].map((command) => command.id));
    const results = await events.waitFor((event) => commandIds.has(event.causationId ?? ''), 310, 100_000);
    const failed = results.filter((result) => result.name !== 'MessageSent');
    assert.deepEqual(
      failed.slice(0, 3).map((result) => result.payload),
      [],
      `${failed.length} of 310 failed`,
    );
    assert.deepEqual(
      fake.messages.filter((message) => message.channel === 'C0BURST').map((message) => message.text),
      burst.map((command) => (command.payload as { message: string }).message),
      'the whole burst, in order',
    );
    for (const [text, sent] of sentAt) {
      const posted = postedAt.get(text);
      assert.ok(
        posted !== undefined && posted - sent <= 5000,
        `${text} took ${(posted ?? Number.NaN) - sent} ms`,
      );
    }
  } finally {
    await runtime.stop({ graceMs: 1000 });
    await events.stop();
    await bus.close();
    await fake.close();
  }
});
