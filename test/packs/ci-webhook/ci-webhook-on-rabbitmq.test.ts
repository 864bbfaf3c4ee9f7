import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { type CiWebhookPack, createCiWebhookPack } from '../../../packs/ci-webhook/ci-webhook-pack.ts';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import type { Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { connectTestBus, EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../../support/throwaway-rabbitmq.ts';
import { jobservSignature } from './support.ts';

// The acceptance on a real RabbitMQ: the seed's build is one event, and a broker outage loses and doubles
// nothing. This test stops its broker, so it runs its own instead of the shared one (AMQP_URL).
const SECRET = 'UseSomethingGoodHere';
const SEED_BUILD = readFileSync(join(import.meta.dirname, 'fixtures', 'jobserv-build-67.json'));

let broker: ThrowawayBroker;
let packBus: AmqpBus;
let collectorBus: AmqpBus;
let events: EventCollector;
let pack: CiWebhookPack;
let runtime: PackRuntime;

before(async () => {
  broker = await startThrowawayBroker();
  packBus = await connectTestBus(broker.url, { publishTimeoutMs: 60_000 });
  collectorBus = await connectTestBus(broker.url, { publishTimeoutMs: 60_000 });
  // Durable, so that events published while the collector reconnects wait for it.
  events = await EventCollector.start(collectorBus, 'ci-webhook.*', {
    durableQueue: 'test.ci-webhook.builds',
  });
  pack = await createCiWebhookPack(
    parseCiWebhookConfig({
      CI_WEBHOOK_PORT: '0',
      CI_WEBHOOK_HOST: '127.0.0.1',
      JOBSERV_WEBHOOK_SECRET: SECRET,
      CI_WEBHOOK_PUBLISH_TIMEOUT: '1',
    }),
  );
  runtime = await startPackRuntime(packBus, pack);
});
after(async () => {
  await runtime?.stop({ graceMs: 1000 });
  await events?.stop();
  await Promise.allSettled([packBus?.close(), collectorBus?.close()]);
  await broker?.dispose();
});

function post(body: string | Buffer): Promise<number> {
  return fetch(`${pack.url}/webhooks/jobserv`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'X-JobServ-Sig': jobservSignature(SECRET, body) },
    signal: AbortSignal.timeout(10_000),
  }).then((response) => response.status);
}

const ofBuild = (buildId: string) => (event: Envelope) =>
  (event.payload as { buildId?: string }).buildId === buildId;

test("the seed's build, signed as JobServ signs it, is one BuildCompleted on RabbitMQ; again, nothing", async () => {
  assert.equal(await post(SEED_BUILD), 202);
  const event = (await events.waitFor(ofBuild('67')))[0] as Envelope;
  assert.equal(event.name, 'BuildCompleted');
  assert.equal((event.payload as { status: string }).status, 'passed');
  assert.equal(await post(SEED_BUILD), 200);
  await sleep(500);
  assert.equal(events.events.filter(ofBuild('67')).length, 1);
});

test('with the broker stopped the endpoint answers 503; once it is back, the retried delivery gets through once', async () => {
  const body = JSON.stringify({
    build_id: 77,
    status: 'FAILED',
    url: 'https://api.foundries.io/projects/andy-corp/lmp/builds/77/',
    completed: '2021-07-27T09:00:00+00:00',
  });
  await broker.stop();
  assert.equal(await post(body), 503);
  assert.equal(await post(body), 503, 'JobServ retries 1, 2, 4 s later: still down');
  await broker.start();
  // JobServ would give up after 4 tries; a person (or a proxy) retrying until it is taken is what matters here.
  let status = 503;
  for (const deadline = Date.now() + 60_000; status === 503 && Date.now() < deadline; ) {
    await sleep(500);
    status = await post(body);
  }
  assert.ok(status === 202 || status === 200, `taken once the broker is back (got ${status})`);
  await events.waitFor(ofBuild('77'), 1, 30_000);
  assert.equal(await post(body), 200, 'and remembered');
  await sleep(1000);
  // RabbitMQ may deliver an event twice after an outage, always with the same id: still one event.
  const ids = new Set(events.events.filter(ofBuild('77')).map((event) => event.id));
  assert.equal(ids.size, 1);
});
