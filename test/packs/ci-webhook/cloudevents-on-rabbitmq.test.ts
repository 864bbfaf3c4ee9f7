import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { type CiWebhookPack, createCiWebhookPack } from '../../../packs/ci-webhook/ci-webhook-pack.ts';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import type { Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { connectTestBus, EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';
import {
  type FixtureName,
  forRun,
  type TektonRequest,
  tektonRequest,
  withNewId,
} from './fixtures/tekton/tekton-fixtures.ts';

// The acceptance of /webhooks/cloudevents on a real RabbitMQ (the broker `npm test` starts): a valid
// request publishes exactly what it stands for, the same Tekton state change again publishes nothing
// new, a late `running` reopens nothing, and every refusal publishes nothing. The broker is shared with
// other tests, so every run, source and id here carries this file's own marker.
const TOKEN = 'tekton-t0ken-for-tests';
const MARKER = randomBytes(4).toString('hex');

let packBus: AmqpBus;
let collectorBus: AmqpBus;
let events: EventCollector;
let pack: CiWebhookPack;
let closedPack: CiWebhookPack;
let runtimes: PackRuntime[] = [];

before(async () => {
  packBus = await connectTestBus();
  collectorBus = await connectTestBus();
  events = await EventCollector.start(collectorBus, 'ci-webhook.*');
  const common = { CI_WEBHOOK_PORT: '0', CI_WEBHOOK_HOST: '127.0.0.1', CI_WEBHOOK_MAX_BODY_BYTES: '16384' };
  pack = await createCiWebhookPack(
    parseCiWebhookConfig({
      ...common,
      CLOUDEVENTS_TOKENS: `rotated-away,${TOKEN}`,
      CLOUDEVENTS_ALLOWED_ORIGINS: 'tekton.example.com',
      TEKTON_DASHBOARD_URL: 'https://tekton.example.com',
    }),
  );
  // The same pack with no token configured: CloudEvents are refused there, whatever they carry.
  closedPack = await createCiWebhookPack(parseCiWebhookConfig({ ...common, JOBSERV_WEBHOOK_SECRET: 's' }));
  runtimes = [await startPackRuntime(packBus, pack), await startPackRuntime(packBus, closedPack)];
});
after(async () => {
  for (const runtime of runtimes) await runtime.stop({ graceMs: 1000 });
  await events?.stop();
  await Promise.allSettled([packBus?.close(), collectorBus?.close()]);
});

interface Answer {
  status: number;
  headers: Headers;
  outcome: string;
  message: string;
}

async function send(
  request: { headers: Record<string, string>; body: unknown },
  options: { query?: string; to?: CiWebhookPack; method?: string; raw?: string | Buffer } = {},
): Promise<Answer> {
  const { query = `?access_token=${TOKEN}`, to = pack, method = 'POST' } = options;
  const response = await fetch(`${to.url}/webhooks/cloudevents${query}`, {
    method,
    headers: request.headers,
    ...(method === 'POST' ? { body: options.raw ?? JSON.stringify(request.body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const answer = (await response.json()) as { outcome: string; message: string };
  return { status: response.status, headers: response.headers, ...answer };
}

/** A fixture for a run of this test file alone. */
function run(fixture: FixtureName, name: string): TektonRequest {
  const request = forRun(tektonRequest(fixture), `${MARKER}-${name}`, `${name}-${MARKER}`);
  request.headers['Ce-Id'] = `${request.headers['Ce-Id']}-${MARKER}-${name}`;
  return request;
}

/** The events about one of this file's runs (or events whose id or source names it). */
const about = (name: string) => (event: Envelope) =>
  JSON.stringify(event.payload).includes(`${MARKER}-${name}`);
const named = (name: string, eventName: string) => (event: Envelope) =>
  about(name)(event) && event.name === eventName;

/**
 * Everything published before now has arrived once a sentinel posted now has: the pack publishes in
 * order on one channel, and the collector's queue keeps it.
 */
async function settled(label: string): Promise<void> {
  const sentinel = {
    headers: {
      'ce-specversion': '1.0',
      'ce-id': `${MARKER}-sentinel-${label}`,
      'ce-source': `/sentinel/${MARKER}-sentinel-${label}`,
      'ce-type': 'dev.switchboard.test.sentinel',
    },
    body: '',
  };
  assert.equal((await send(sentinel, { raw: '' })).status, 202);
  await events.waitFor(about(`sentinel-${label}`));
}

test('a Tekton PipelineRun starting is one CloudEventReceived and one BuildStarted; resent with a new ce-id, nothing new', async () => {
  const started = run('pipelinerun-started', 'first');
  const first = await send(started);
  assert.equal(first.status, 202, first.message);
  const [build] = await events.waitFor(named('first', 'BuildStarted'));
  const payload = (build?.payload ?? {}) as Record<string, unknown>;
  assert.equal(payload.source, 'tekton');
  assert.equal(payload.project, 'build-and-test');
  assert.equal(payload.status, 'running');
  assert.equal(
    payload.webUrl,
    `https://tekton.example.com/#/namespaces/default/pipelineruns/first-${MARKER}`,
  );

  // As Tekton resends after a restart, this time with the token in the Authorization header.
  const resent = withNewId(started, `resent-${MARKER}`);
  resent.headers.Authorization = `Bearer ${TOKEN}`;
  const again = await send(resent, { query: '' });
  assert.equal(again.status, 200, 'the same state change: a duplicate');
  // Running is the same build under way: no second BuildStarted.
  assert.equal((await send(run('pipelinerun-running', 'first'))).status, 202);
  await settled('first');
  assert.deepEqual(
    events.events.filter(about('first')).map((event) => event.name),
    ['CloudEventReceived', 'BuildStarted', 'CloudEventReceived'],
  );
});

test('a PipelineRun that succeeded is one BuildCompleted; a late running after it publishes no BuildStarted', async () => {
  assert.equal((await send(run('pipelinerun-successful', 'late'))).status, 202);
  const completed = await events.waitFor(named('late', 'BuildCompleted'));
  assert.equal((completed[0]?.payload as { status?: string } | undefined)?.status, 'passed');
  assert.equal((await send(withNewId(run('pipelinerun-successful', 'late'), `x-${MARKER}`))).status, 200);
  const late = await send(run('pipelinerun-running', 'late'));
  assert.equal(late.status, 202, 'its CloudEventReceived is new');
  await settled('late');
  assert.deepEqual(
    events.events.filter(about('late')).map((event) => event.name),
    ['CloudEventReceived', 'BuildCompleted', 'CloudEventReceived'],
  );
});

test('a structured event from another sender is one CloudEventReceived; a batch of two is two', async () => {
  const event = (id: string) => ({
    specversion: '1.0',
    id: `${MARKER}-other-${id}`,
    source: 'https://argo.example/workflows',
    type: 'io.argoproj.workflow.v1alpha1.WorkflowSucceeded',
    data: { workflow: id },
  });
  const structured = await send({
    headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` },
    body: event('1'),
  });
  assert.equal(structured.status, 202, structured.message);
  const batch = await send({
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: [event('2'), event('3')],
  });
  assert.equal(batch.status, 202, batch.message);
  await settled('other');
  assert.deepEqual(
    events.events.filter(about('other')).map((e) => [e.name, (e.payload as { data: unknown }).data]),
    [
      ['CloudEventReceived', { workflow: '1' }],
      ['CloudEventReceived', { workflow: '2' }],
      ['CloudEventReceived', { workflow: '3' }],
    ],
  );
});

test('every refusal publishes nothing: 401, 403, 400, 415 and 413', async () => {
  const request = run('pipelinerun-successful', 'refused');
  const refusals: Array<[number, Promise<Answer>]> = [
    [401, send(request, { query: '?access_token=wrong' })],
    [
      401,
      send({ ...request, headers: { ...request.headers, authorization: 'Bearer wrong' } }, { query: '' }),
    ],
    [403, send(request, { to: closedPack })],
  ];
  const withoutId = structuredClone(request);
  delete withoutId.headers['Ce-Id'];
  refusals.push([400, send(withoutId)]);
  refusals.push([
    415,
    send({ ...request, headers: { ...request.headers, 'Content-Type': 'application/cloudevents+avro' } }),
  ]);
  const batch = {
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: [
      { specversion: '1.0', id: `${MARKER}-refused-1`, source: '/a', type: 't' },
      { specversion: '1.0', id: `${MARKER}-refused-2`, source: '/a' },
    ],
  };
  refusals.push([400, send(batch)]);
  refusals.push([
    413,
    send(request, { raw: JSON.stringify({ ...request.body, padding: 'x'.repeat(20_000) }) }),
  ]);
  for (const [status, answer] of refusals) {
    const { status: got, message } = await answer;
    assert.equal(got, status, message);
    assert.doesNotMatch(message, new RegExp(TOKEN));
  }
  await settled('refused');
  assert.deepEqual(events.events.filter(about('refused')), []);
});

test('the Web Hook handshake: OPTIONS from an allowed origin is granted, from another refused', async () => {
  const options = (origin: string) =>
    send(
      { headers: { 'WebHook-Request-Origin': origin }, body: undefined },
      { method: 'OPTIONS', query: '' },
    );
  const granted = await options('tekton.example.com');
  assert.equal(granted.status, 200);
  assert.equal(granted.headers.get('webhook-allowed-origin'), 'tekton.example.com');
  assert.equal(granted.headers.get('allow'), 'POST');
  const refused = await options('elsewhere.example.org');
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('webhook-allowed-origin'), null);
});
