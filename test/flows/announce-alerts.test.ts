import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dryRunFlow, readDryRunEvent } from '../../engine/dry-run.ts';
import { parseFlow } from '../../engine/flows/parse-flow.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import { notificationReader } from '../../packs/ci-webhook/alertmanager/alertmanager-notification.ts';
import type { InterpretedEvent } from '../../packs/ci-webhook/webhook-source.ts';
import firing from '../packs/ci-webhook/fixtures/alertmanager/firing.json' with { type: 'json' };
import oneResolved from '../packs/ci-webhook/fixtures/alertmanager/one-resolved.json' with { type: 'json' };
import { runCli } from '../support/processes.ts';

// The shipped alert announcement, against what the ci-webhook pack emits for Alertmanager's notifications:
// in process with a datastore that names the channel (a dry run's datastore is empty), and through
// `switchboard flows test` to show that it stays idle until the channel is set.
const FLOW = 'flows/announce_alerts_mattermost.json';
const parsed = parseFlow('announce_alerts_mattermost.json', readFileSync(FLOW, 'utf8'));
const read = notificationReader();

/** The notification's event of that name and fingerprint, as the pack emits it. */
function alertEvent(notification: unknown, name: string, fingerprint: string): InterpretedEvent {
  const result = read(notification);
  assert.equal(result.kind, 'events');
  const event =
    result.kind === 'events'
      ? result.events.find((event) => event.event === name && event.payload.fingerprint === fingerprint)
      : undefined;
  assert.ok(event, `${name} ${fingerprint}`);
  return event;
}

/** The Mattermost commands the flow sends for the event, with `channel` in the datastore. */
async function announce(event: InterpretedEvent, channel: string | undefined) {
  assert.ok(parsed.flow, JSON.stringify(parsed.problems));
  const read = readDryRunEvent({ pack: 'ci-webhook', name: event.event, payload: event.payload });
  assert.ok(read.ok, read.ok ? '' : read.reason);
  const templates = new TemplateEngine({
    datastore: (key) => (key === 'mattermost_alerts_channel' ? channel : undefined),
  });
  const result = await dryRunFlow(parsed.flow, read.event, templates);
  return result.steps.flatMap((step) =>
    step.fired
      ? [{ ...step.command, payload: step.command.payload as { channelId: string; message: string } }]
      : [],
  );
}

const NODE_1 = '4a9c2e6f3b1d7a05';

test('a critical alert that fires is posted with @here, its summary, description and a link to its source', async () => {
  const commands = await announce(alertEvent(firing, 'AlertFiring', NODE_1), 'infra/alerts');
  assert.equal(commands.length, 1);
  assert.equal(commands[0]?.pack, 'mattermost');
  assert.equal(commands[0]?.name, 'SendMessage');
  assert.deepEqual(commands[0]?.payload, {
    channelId: 'infra/alerts',
    message: [
      '@here :rotating_light: **Firing: HostHighCpuLoad on node-1.example.com:9100** (critical)',
      'CPU above 80% on node-1.example.com:9100',
      'CPU load on node-1.example.com:9100 is 93% (above 80% for 5 minutes).',
      `[Open the source](${firing.alerts[0]?.generatorURL})`,
    ].join('\n'),
  });
});

test('a warning is posted without @here; an alert without annotations or link says only its name', async () => {
  const warning = structuredClone(firing);
  for (const alert of warning.alerts) alert.labels.severity = 'warning';
  const [command] = await announce(alertEvent(warning, 'AlertFiring', NODE_1), 'infra/alerts');
  assert.match(String(command?.payload.message), /^:rotating_light: \*\*Firing: HostHighCpuLoad on node-1/);
  assert.match(String(command?.payload.message), /\(warning\)/);

  const bare = structuredClone(firing) as { alerts: Array<Record<string, unknown>> };
  Object.assign(bare.alerts[0] as object, {
    labels: { alertname: 'Watchdog' },
    annotations: {},
    generatorURL: '',
  });
  const [plain] = await announce(alertEvent(bare, 'AlertFiring', NODE_1), 'infra/alerts');
  assert.equal(plain?.payload.message, ':rotating_light: **Firing: Watchdog**');
});

test('when it resolves, a follow-up says so and how long it fired', async () => {
  const commands = await announce(alertEvent(oneResolved, 'AlertResolved', NODE_1), 'infra/alerts');
  assert.equal(commands.length, 1);
  assert.deepEqual(commands[0]?.payload, {
    channelId: 'infra/alerts',
    message:
      ':white_check_mark: **Resolved: HostHighCpuLoad on node-1.example.com:9100** (critical) after 27 min\nCPU above 80% on node-1.example.com:9100',
  });
});

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-announce-alerts-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('it stays idle until mattermost_alerts_channel is set in the datastore', async () => {
  assert.deepEqual(await announce(alertEvent(firing, 'AlertFiring', NODE_1), undefined), []);
  const event = alertEvent(firing, 'AlertFiring', NODE_1);
  const file = join(dir, 'alert-firing.json');
  await writeFile(file, JSON.stringify({ pack: 'ci-webhook', name: event.event, payload: event.payload }));
  const { code, stdout } = await runCli(['flows', 'test', FLOW, '--event', file]);
  assert.equal(code, 1, stdout);
  assert.match(stdout, /step announce_firing: not fired \(criteria\)/);
  assert.match(stdout, /no step fired/);
});
