import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseMatrixConfig } from '../../../packs/matrix/matrix-config.ts';
import { createMatrixPack } from '../../../packs/matrix/matrix-pack.ts';
import { parseNotifyConfig } from '../../../packs/notify/notify-config.ts';
import { createNotifyPack } from '../../../packs/notify/notify-pack.ts';
import { parseSlackConfig } from '../../../packs/slack/slack-config.ts';
import { createSlackPack } from '../../../packs/slack/slack-pack.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, routingKey } from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { type FakeMatrix, startFakeMatrix } from '../../fakes/matrix/index.ts';
import { type FakeSlack, startFakeSlack } from '../../fakes/slack/index.ts';
import { EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';

const ROOM = '!ops:fake.local';

describe('the notify pack, with the Slack and Matrix packs on the in-memory bus', () => {
  let dir: string;
  let slack: FakeSlack;
  let matrix: FakeMatrix;
  let bus: MemoryBus;
  let events: EventCollector;
  const runtimes: PackRuntime[] = [];
  const options = {
    prefetch: 50,
    commandTimeoutMs: 20_000,
    retry: { maxRetries: 2, minDelayMs: 10, maxDelayMs: 50 },
  };

  const startNotify = async () =>
    startPackRuntime(
      bus,
      await createNotifyPack(parseNotifyConfig({ SWITCHBOARD_FLOWS_DIR: dir, NOTIFY_DELIVERY_TIMEOUT: '2' })),
      options,
    );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-notify-'));
    await writeFile(
      join(dir, 'audiences.json'),
      JSON.stringify({
        '#admins': { slack: ['#alerts'], matrix: [ROOM] },
        '#oncall': { include: ['#admins'], slack: ['#alerts', '#pager'] },
        '#everyone': { include: ['#admins'], mattermost: ['team/town-square'] },
      }),
    );
    slack = await startFakeSlack({ rateLimit: { burst: 50, perSecond: 50 } });
    slack.addChannel({ id: 'C0ALERTS', name: 'alerts', isMember: true });
    slack.addChannel({ id: 'C0PAGER', name: 'pager', isMember: true });
    matrix = await startFakeMatrix({ rooms: [{ id: ROOM, joined: true }] });
    bus = new MemoryBus();
    events = await EventCollector.start(bus, 'notify.*');
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
        await createMatrixPack(
          parseMatrixConfig({
            MATRIX_HOMESERVER_URL: matrix.url,
            MATRIX_ACCESS_TOKEN: matrix.bot.accessToken,
          }),
        ),
        options,
      ),
      await startPackRuntime(
        bus,
        await createNotifyPack(
          parseNotifyConfig({ SWITCHBOARD_FLOWS_DIR: dir, NOTIFY_DELIVERY_TIMEOUT: '2' }),
        ),
        options,
      ),
    );
  });
  after(async () => {
    for (const runtime of runtimes.reverse()) await runtime.stop({ graceMs: 1000 });
    await events.stop();
    await bus.close();
    await slack.close();
    await matrix.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function notify(payload: unknown, id?: string): Promise<Envelope> {
    const command = {
      ...createEnvelope({ kind: 'command', pack: 'notify', name: 'Notify', payload }),
      ...(id ? { id } : {}),
    };
    const answered = events.events.filter((event) => event.causationId === command.id).length;
    await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: routingKey('notify', 'Notify') }, command);
    const matching = await events.waitFor((event) => event.causationId === command.id, answered + 1, 20_000);
    return matching.at(-1) as Envelope;
  }

  test('a group reaches each of its channels once, through each pack, and says where', async () => {
    const result = await notify({ to: ['#oncall', '#admins'], message: 'disk full' });
    assert.equal(result.name, 'NotificationSent', JSON.stringify(result.payload));
    const deliveries = (
      result.payload as { deliveries: Array<{ pack: string; channelId: string; status: string }> }
    ).deliveries;
    assert.deepEqual(
      deliveries.map((delivery) => [delivery.pack, delivery.channelId, delivery.status]),
      [
        ['slack', '#alerts', 'sent'],
        ['slack', '#pager', 'sent'],
        ['matrix', ROOM, 'sent'],
      ],
    );
    assert.deepEqual(
      slack.messages
        .filter((message) => message.text === 'disk full')
        .map((message) => message.channel)
        .sort(),
      ['C0ALERTS', 'C0PAGER'],
    );
    assert.equal(matrix.sends.filter((send) => send.content.body === 'disk full').length, 1);
  });

  test('a Notify run again (redelivered to a fresh instance) does not repeat the deliveries that went out', async () => {
    const id = crypto.randomUUID();
    await notify({ to: '#admins', message: 'only once' }, id);
    // A new instance has no record of the Notify and runs it again; the packs know its deliveries.
    await runtimes.pop()?.stop({ graceMs: 1000 });
    runtimes.push(await startNotify());
    const again = await notify({ to: '#admins', message: 'only once' }, id);
    assert.equal(again.name, 'NotificationSent');
    assert.equal(events.events.filter((event) => event.causationId === id).length, 2, 'answered twice');
    assert.equal(slack.messages.filter((message) => message.text === 'only once').length, 1);
    assert.equal(matrix.sends.filter((send) => send.content.body === 'only once').length, 1);
  });

  test('a pack that is not running fails its deliveries by timeout; the others arrive', async () => {
    const result = await notify({ to: '#everyone', message: 'partial' });
    assert.equal(result.name, 'NotificationSent', JSON.stringify(result.payload));
    const failed = (
      result.payload as { deliveries: Array<{ pack: string; status: string; errorCode?: string }> }
    ).deliveries.filter((delivery) => delivery.status === 'failed');
    assert.deepEqual(
      failed.map((delivery) => [delivery.pack, delivery.errorCode]),
      [['mattermost', 'timeout']],
    );
    assert.equal(slack.messages.filter((message) => message.text === 'partial').length, 1);
  });

  test('an unknown group fails with unknown_audience, naming it', async () => {
    const result = await notify({ to: ['#admins', '#nobody'], message: 'x' });
    assert.equal(result.name, 'NotificationFailed');
    assert.equal((result.payload as { errorCode: string }).errorCode, 'unknown_audience');
    assert.match((result.payload as { error: string }).error, /#nobody/);
  });

  test('a rich message goes out as SendRichMessage, rendered by each pack its own way', async () => {
    const rich = {
      text: 'Build 42 failed',
      attachments: [{ color: 'danger', title: 'Build 42', text: 'failed' }],
    };
    const result = await notify({ to: '#admins', message: 'Build 42 failed', rich });
    assert.equal(result.name, 'NotificationSent', JSON.stringify(result.payload));
    assert.deepEqual(slack.messages.at(-1)?.attachments, rich.attachments);
    assert.equal(matrix.sends.at(-1)?.content.format, 'org.matrix.custom.html');
  });

  test('editing the audiences file changes the next notification without a restart', async () => {
    await writeFile(join(dir, 'audiences.json'), JSON.stringify({ '#admins': { slack: ['#pager'] } }));
    let result: Envelope | undefined;
    for (let i = 0; i < 50; i++) {
      result = await notify({ to: '#admins', message: `after the edit ${i}` });
      const deliveries = (result.payload as { deliveries?: Array<{ channelId: string }> }).deliveries ?? [];
      if (deliveries.length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(
      ((result?.payload ?? {}) as { deliveries: Array<{ pack: string; channelId: string }> }).deliveries.map(
        (d) => [d.pack, d.channelId],
      ),
      [['slack', '#pager']],
    );
  });
});
