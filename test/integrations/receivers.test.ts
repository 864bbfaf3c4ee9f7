// The shipped receivers' settings work as written: Tekton's config-events sink (its path and its
// ?access_token=) and the Alertmanager example's webhook (its path and its Bearer credentials) are
// accepted by the ci-webhook pack, each delivery as the sender makes it, pointed at a pack in this process.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseCiWebhookConfig } from '../../packs/ci-webhook/ci-webhook-config.ts';
import { type CiWebhookPack, createCiWebhookPack } from '../../packs/ci-webhook/ci-webhook-pack.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { tektonRequest } from '../packs/ci-webhook/fixtures/tekton/tekton-fixtures.ts';
import { EventCollector } from '../support/bus.ts';
import { startPackRuntime } from '../support/test-pack.ts';
import { INTEGRATIONS, readYaml } from './support.ts';

const CLOUDEVENTS_TOKEN = 'cloudevents-token-0123456789';
const ALERTMANAGER_TOKEN = 'alertmanager-token-0123456789';
const ALERT_FIXTURE = join(import.meta.dirname, '../packs/ci-webhook/fixtures/alertmanager/firing.json');

let bus: MemoryBus;
let events: EventCollector;
let pack: CiWebhookPack;
let runtime: PackRuntime;

before(async () => {
  bus = new MemoryBus();
  events = await EventCollector.start(bus, 'ci-webhook.*');
  pack = await createCiWebhookPack(
    parseCiWebhookConfig({
      CI_WEBHOOK_PORT: '0',
      CI_WEBHOOK_HOST: '127.0.0.1',
      CLOUDEVENTS_TOKENS: CLOUDEVENTS_TOKEN,
      ALERTMANAGER_WEBHOOK_TOKEN: ALERTMANAGER_TOKEN,
    }),
  );
  runtime = await startPackRuntime(bus, pack);
});
after(async () => {
  await runtime?.stop({ graceMs: 1000 });
  await events?.stop();
  await bus?.close();
});

/** `url` with its scheme, host and port swapped for the pack's, path and query kept. */
function atThePack(url: string): URL {
  const shipped = new URL(url);
  return new URL(`${shipped.pathname}${shipped.search}`, pack.url);
}

test("Tekton's events, sent to the config-events sink with its access_token, are taken in", async () => {
  const configMap = readYaml(join(INTEGRATIONS, 'tekton/config-events.yaml')) as {
    data: { sink: string };
  };
  const sink = atThePack(configMap.data.sink);
  // What an operator does with the placeholder: put a token of CLOUDEVENTS_TOKENS there.
  assert.ok(sink.searchParams.has('access_token'), `${configMap.data.sink} has no access_token`);
  sink.searchParams.set('access_token', CLOUDEVENTS_TOKEN);
  const request = tektonRequest('pipelinerun-successful');
  const response = await fetch(sink, {
    method: 'POST',
    headers: request.headers,
    body: JSON.stringify(request.body),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(response.status, 202, await response.text());
  const [received] = await events.waitFor((event) => event.name === 'CloudEventReceived');
  assert.equal((received?.payload as { id?: string } | undefined)?.id, request.headers['Ce-Id']);

  // And the sink without the token is refused, so the placeholder cannot be left in by mistake.
  sink.searchParams.delete('access_token');
  const refused = await fetch(sink, { method: 'POST', headers: request.headers, body: '{}' });
  assert.equal(refused.status, 401);
});

test("an Alertmanager notification, sent as the example's webhook_config sends it, is taken in", async () => {
  const config = readYaml(join(INTEGRATIONS, 'alertmanager/alertmanager.yml')) as {
    receivers: Array<{
      webhook_configs: Array<{ url: string; http_config: { authorization: { type?: string } } }>;
    }>;
  };
  const webhook = config.receivers[0]?.webhook_configs[0];
  assert.ok(webhook);
  // Alertmanager sends `Authorization: <type> <credentials>`, the credentials read from credentials_file.
  const type = webhook.http_config.authorization.type ?? 'Bearer';
  const response = await fetch(atThePack(webhook.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `${type} ${ALERTMANAGER_TOKEN}` },
    body: readFileSync(ALERT_FIXTURE),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(response.status, 202, await response.text());
  await events.waitFor((event) => event.name === 'AlertFiring');
});
