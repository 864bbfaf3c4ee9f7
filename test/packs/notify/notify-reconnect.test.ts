import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseNotifyConfig } from '../../../packs/notify/notify-config.ts';
import { createNotifyPack } from '../../../packs/notify/notify-pack.ts';
import { parseSlackConfig } from '../../../packs/slack/slack-config.ts';
import { createSlackPack } from '../../../packs/slack/slack-pack.ts';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { type FakeSlack, startFakeSlack } from '../../fakes/slack/index.ts';
import { connectTestBus, EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../../support/throwaway-rabbitmq.ts';

// Notify and the Slack pack in one process on RabbitMQ, as `switchboard all` runs them; the test drops
// every connection, so it runs a broker of its own.
let broker: ThrowawayBroker;
let slack: FakeSlack;
let bus: AmqpBus;
let senderBus: AmqpBus;
let events: EventCollector;
let dir: string;
const runtimes: PackRuntime[] = [];
const options = {
  prefetch: 10,
  commandTimeoutMs: 20_000,
  retry: { maxRetries: 2, minDelayMs: 10, maxDelayMs: 50 },
};

before(async () => {
  broker = await startThrowawayBroker();
  dir = await mkdtemp(join(tmpdir(), 'sb-notify-reconnect-'));
  await writeFile(
    join(dir, 'audiences.json'),
    JSON.stringify({ '#admins': { slack: ['#alerts', '#pager'] } }),
  );
  slack = await startFakeSlack();
  slack.addChannel({ id: 'C0ALERTS', name: 'alerts', isMember: true });
  slack.addChannel({ id: 'C0PAGER', name: 'pager', isMember: true });
  bus = await connectTestBus(broker.url);
  senderBus = await connectTestBus(broker.url);
  events = await EventCollector.start(senderBus, 'notify.*', { durableQueue: 'test.notify.results' });
  runtimes.push(
    await startPackRuntime(
      bus,
      await createSlackPack(
        parseSlackConfig({
          SLACK_BOT_TOKEN: slack.tokens.bot,
          SLACK_APP_TOKEN: slack.tokens.app,
          SLACK_API_URL: slack.apiUrl,
        }),
      ),
      options,
    ),
    await startPackRuntime(
      bus,
      await createNotifyPack(parseNotifyConfig({ SWITCHBOARD_FLOWS_DIR: dir, NOTIFY_DELIVERY_TIMEOUT: '3' })),
      options,
    ),
  );
});
after(async () => {
  for (const runtime of runtimes.reverse()) await runtime.stop({ graceMs: 1000 });
  await events?.stop();
  await Promise.all([bus?.close(), senderBus?.close()]);
  await slack?.close();
  await broker?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function notify(message: string): Promise<Envelope> {
  const command = createEnvelope({
    kind: 'command',
    pack: 'notify',
    name: 'Notify',
    payload: { to: '#admins', message },
  });
  await senderBus.publish(
    { exchange: COMMANDS_EXCHANGE, routingKey: routingKey('notify', 'Notify') },
    command,
  );
  const [result] = await events.waitFor((event) => event.causationId === command.id, 1, 20_000);
  return result as Envelope;
}

function deliveries(result: Envelope): Array<[string, string, string]> {
  return (
    result.payload as { deliveries: Array<{ pack: string; channelId: string; status: string }> }
  ).deliveries.map((delivery) => [delivery.pack, delivery.channelId, delivery.status]);
}

test('after the connection to RabbitMQ dropped, a Notify still reports every delivery sent', async () => {
  const first = await notify('before the blip');
  assert.equal(first.name, 'NotificationSent', JSON.stringify(first.payload));

  await broker.ctl(['close_all_connections', 'test: a broker blip']);
  for (let tries = 0; tries < 100 && !(bus.isConnected() && senderBus.isConnected()); tries++)
    await sleep(100);

  for (let i = 0; i < 3; i++) {
    const result = await notify(`after the blip ${i}`);
    assert.equal(result.name, 'NotificationSent', JSON.stringify(result.payload));
    assert.deepEqual(deliveries(result), [
      ['slack', '#alerts', 'sent'],
      ['slack', '#pager', 'sent'],
    ]);
    assert.equal(slack.messages.filter((posted) => posted.text === `after the blip ${i}`).length, 2);
  }
});
