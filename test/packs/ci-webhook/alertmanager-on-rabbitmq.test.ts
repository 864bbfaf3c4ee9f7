import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { type CiWebhookPack, createCiWebhookPack } from '../../../packs/ci-webhook/ci-webhook-pack.ts';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import type { Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { connectTestBus, EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';

// The acceptance on a real RabbitMQ (the one `npm test` provides): a notification publishes exactly its
// events, the same notification again nothing, and every refusal nothing. "Nothing" is proved without
// waiting: the pack answers only once the broker has confirmed what it published, so anything a request
// published is queued before its answer, and a marker notification posted afterwards arrives after it.
const TOKEN = `am-${randomBytes(8).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
const FIXTURES = join(import.meta.dirname, 'fixtures', 'alertmanager');
const FIRING = JSON.parse(readFileSync(join(FIXTURES, 'firing.json'), 'utf8'));
const ONE_RESOLVED = JSON.parse(readFileSync(join(FIXTURES, 'one-resolved.json'), 'utf8'));

let packBus: AmqpBus;
let collectorBus: AmqpBus;
let events: EventCollector;
let pack: CiWebhookPack;
let runtime: PackRuntime;
let untokened: CiWebhookPack;
let untokenedRuntime: PackRuntime;

before(async () => {
  packBus = await connectTestBus();
  collectorBus = await connectTestBus();
  events = await EventCollector.start(collectorBus, 'ci-webhook.*');
  const env = { CI_WEBHOOK_PORT: '0', CI_WEBHOOK_HOST: '127.0.0.1' };
  pack = await createCiWebhookPack(parseCiWebhookConfig({ ...env, ALERTMANAGER_WEBHOOK_TOKEN: TOKEN }));
  runtime = await startPackRuntime(packBus, pack);
  // A pack that runs for another source only: its /webhooks/alertmanager has no token.
  untokened = await createCiWebhookPack(parseCiWebhookConfig({ ...env, GITHUB_WEBHOOK_SECRET: 'gh' }));
  untokenedRuntime = await startPackRuntime(packBus, untokened);
});
after(async () => {
  await untokenedRuntime?.stop({ graceMs: 1000 });
  await runtime?.stop({ graceMs: 1000 });
  await events?.stop();
  await Promise.allSettled([packBus?.close(), collectorBus?.close()]);
});

/** The fixture as the notification of a receiver of this run only (other tests share the broker). */
function notification(fixture: unknown, receiver: string): string {
  return JSON.stringify({ ...(fixture as object), receiver: `${receiver}-${RUN}` });
}

const BEARER = { authorization: `Bearer ${TOKEN}` };
const BASIC = { authorization: `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}` };

async function post(
  body: string | Buffer,
  headers: Record<string, string> = {},
  to: CiWebhookPack = pack,
): Promise<number> {
  const response = await fetch(`${to.url}/webhooks/alertmanager`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  return response.status;
}

function of(receiver: string): Envelope[] {
  return events.events.filter(
    (event) => (event.payload as { receiver?: string }).receiver === `${receiver}-${RUN}`,
  );
}

let markers = 0;
/** Posts a notification of its own and waits for its events: whatever came before it has arrived. */
async function everythingArrived(): Promise<void> {
  const receiver = `marker${++markers}`;
  assert.equal(await post(notification(FIRING, receiver), BEARER), 202);
  await events.waitFor(
    (event) => (event.payload as { receiver?: string }).receiver === `${receiver}-${RUN}`,
    3,
  );
}

test('a firing notification with a Bearer token publishes exactly its events; the same notification again, nothing', async () => {
  assert.equal(await post(notification(FIRING, 'bearer'), BEARER), 202);
  await events.waitFor((event) => of('bearer').includes(event), 3);
  assert.equal(await post(notification(FIRING, 'bearer'), BEARER), 200);
  await everythingArrived();
  const published = of('bearer');
  assert.deepEqual(
    published.map((event) => event.name),
    ['AlertGroupChanged', 'AlertFiring', 'AlertFiring'],
  );
  assert.deepEqual(
    published.map((event) => (event.payload as { fingerprint?: string }).fingerprint),
    [undefined, '4a9c2e6f3b1d7a05', 'd1e07b3c9f5a2864'],
  );
  assert.equal(new Set(published.map((event) => event.id)).size, 3);
});

test('with Basic credentials, an alert that resolves publishes AlertResolved (and the changed group), once', async () => {
  assert.equal(await post(notification(FIRING, 'basic'), BASIC), 202);
  assert.equal(await post(notification(ONE_RESOLVED, 'basic'), BASIC), 202);
  assert.equal(await post(notification(ONE_RESOLVED, 'basic'), BASIC), 200);
  await everythingArrived();
  const published = of('basic');
  assert.deepEqual(
    published.map((event) => event.name),
    ['AlertGroupChanged', 'AlertFiring', 'AlertFiring', 'AlertGroupChanged', 'AlertResolved'],
  );
  const resolved = published[4]?.payload as { fingerprint: string; endsAt: string };
  assert.equal(resolved.fingerprint, '4a9c2e6f3b1d7a05');
  assert.equal(resolved.endsAt, '2026-03-02T09:41:22.519Z');
});

test('every refusal publishes nothing: 401 wrong token, 403 none configured, 400 not the shape, 413', async () => {
  const body = notification(FIRING, 'refused');
  const big = Buffer.alloc(2 * 1024 * 1024, ' ');
  big.write(body);
  const wrongBasic = `Basic ${Buffer.from('alertmanager:wrong').toString('base64')}`;
  assert.equal(await post(body, { authorization: 'Bearer wrong' }), 401);
  assert.equal(await post(body, { authorization: wrongBasic }), 401);
  assert.equal(await post(body), 401);
  assert.equal(await post(body, BEARER, untokened), 403);
  assert.equal(await post(JSON.stringify({ ...JSON.parse(body), alerts: 'none' }), BEARER), 400);
  assert.equal(await post(big, BEARER), 413);
  await everythingArrived();
  assert.deepEqual(of('refused'), []);
});
