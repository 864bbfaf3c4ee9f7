import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Counter } from 'prom-client';
import { BUILD_EVENT_SCHEMA } from '../../../packs/ci-webhook/build-events.ts';
import { parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { createCiWebhookPack } from '../../../packs/ci-webhook/ci-webhook-pack.ts';
import type { Envelope } from '../../../shared/envelope.ts';
import type { EventCollector } from '../../support/bus.ts';
import { startPackRuntime } from '../../support/test-pack.ts';
import {
  githubSignature,
  jobservSignature,
  type Running,
  standardWebhookHeaders,
  startPack,
  stopPack,
} from './support.ts';

const JOBSERV_SECRET = 's3cret';
const GITHUB_SECRET = "It's a Secret to Everybody";
const TEKTON_TOKEN = 'tekton-t0ken';
const FIXTURES = join(import.meta.dirname, 'fixtures');
const SEED_BUILD = readFileSync(join(FIXTURES, 'jobserv-build-67.json'));
const WORKFLOW_RUN = readFileSync(join(FIXTURES, 'github-workflow-run-completed.json'));
const PIPELINE = readFileSync(join(FIXTURES, 'gitlab-pipeline-success.json'));

/** Events other than the runtime's own announcements. */
function announced(events: EventCollector): Envelope[] {
  return events.events.filter((event) => event.name !== 'PackStarted' && event.name !== 'PackStopped');
}

/** The first event matching `predicate`, once it arrives. */
async function firstEvent(
  events: EventCollector,
  predicate: (event: Envelope) => boolean,
): Promise<Envelope> {
  return (await events.waitFor(predicate))[0] as Envelope;
}

/** Long enough for a stray event to arrive on the in-memory bus, which delivers on the next turns. */
const settle = () => sleep(50);

describe('the ci-webhook pack over HTTP', () => {
  let running: Running;
  let post: (
    path: string,
    body: string | Buffer,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; outcome: string; message: string }>;

  before(async () => {
    const directory = mkdtempSync(join(tmpdir(), 'ci-webhook-pack-'));
    const generic = join(directory, 'generic.json');
    writeFileSync(generic, JSON.stringify({ tekton: { header: 'X-Webhook-Token', token: TEKTON_TOKEN } }));
    running = await startPack({
      JOBSERV_WEBHOOK_SECRET: `rotated-away,${JOBSERV_SECRET}`,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      CI_WEBHOOK_GENERIC_CONFIG: generic,
      CI_WEBHOOK_PUBLISH_TIMEOUT: '0.3',
    });
    post = async (path, body, headers = {}) => {
      const response = await fetch(`${running.pack.url}${path}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
        signal: AbortSignal.timeout(5000),
      });
      const answer = (await response.json()) as { outcome: string; message: string };
      return { status: response.status, ...answer };
    };
  });
  after(() => stopPack(running));

  async function requests(source: string, outcome: string): Promise<number> {
    const counter = running.registry.getSingleMetric('switchboard_ci_webhook_requests_total') as Counter;
    const { values } = await counter.get();
    return (
      values.find((value) => value.labels.source === source && value.labels.outcome === outcome)?.value ?? 0
    );
  }

  test("the seed's JobServ build, signed as JobServ signs, is one BuildCompleted; posting it again changes nothing", async () => {
    const signature = jobservSignature(JOBSERV_SECRET, SEED_BUILD);
    const first = await post('/webhooks/jobserv', SEED_BUILD, { 'X-JobServ-Sig': signature });
    assert.equal(first.status, 202, first.message);
    const isSeedBuild = (event: Envelope) =>
      event.name === 'BuildCompleted' &&
      (event.payload as { trigger: string }).trigger === 'containers-devel';
    const event = await firstEvent(running.events, isSeedBuild);
    const payload = event.payload as Record<string, unknown>;
    assert.equal(event.pack, 'ci-webhook');
    assert.equal(payload.source, 'jobserv');
    assert.equal(payload.status, 'passed');
    assert.equal(payload.project, 'andy-corp/lmp');
    assert.equal(payload.webUrl, 'https://ci.foundries.io/projects/andy-corp/lmp/builds/67');
    assert.equal((payload.runs as unknown[]).length, 4);
    assert.deepEqual(payload.raw, JSON.parse(SEED_BUILD.toString()));

    const again = await post('/webhooks/jobserv', SEED_BUILD, { 'X-JobServ-Sig': signature });
    assert.equal(again.status, 200);
    assert.equal(again.outcome, 'duplicate');
    await settle();
    assert.equal(running.events.events.filter(isSeedBuild).length, 1);
  });

  test('the check vectors of apis.md pass verification', async () => {
    const vector = '{"build_id": 67, "status": "PASSED"}';
    const jobserv = await post('/webhooks/jobserv', vector, {
      'X-JobServ-Sig': 'sha256:48551dbc130255e27c184f8e2b3299061c7e2b48512b2ff4496ee56a8d7ec40e',
    });
    assert.equal(jobserv.status, 202, jobserv.message);
    await running.events.waitFor((event) => (event.payload as { url: unknown }).url === null);
    // Verified, then found not to be JSON: 400, not 401.
    const github = await post('/webhooks/github', 'Hello, World!', {
      'X-Hub-Signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      'X-GitHub-Event': 'push',
    });
    assert.equal(github.status, 400);
    assert.equal(github.outcome, 'invalid_json');
  });

  test('each refusal gets its status, is counted and logged with its reason, and emits nothing', async () => {
    const body = JSON.stringify({
      build_id: 901,
      status: 'FAILED',
      url: 'https://jobserv.example/builds/901/',
    });
    const signature = jobservSignature(JOBSERV_SECRET, body);
    const flipped = body.replace('FAILED', 'FAILEE');
    const big = Buffer.alloc(2 * 1024 * 1024, ' ');
    big.write(body);
    const before = announced(running.events).length;
    const unauthorizedBefore = await requests('jobserv', 'unauthorized');
    const cases: Array<
      [string, Promise<{ status: number; outcome: string; message: string }>, number, RegExp]
    > = [
      [
        'flipped byte',
        post('/webhooks/jobserv', flipped, { 'X-JobServ-Sig': signature }),
        401,
        /matches none/,
      ],
      [
        'truncated signature',
        post('/webhooks/jobserv', body, { 'X-JobServ-Sig': signature.slice(0, -1) }),
        401,
        /not a hex/,
      ],
      [
        'wrong prefix',
        post('/webhooks/jobserv', body, { 'X-JobServ-Sig': signature.replace('sha256:', 'sha256=') }),
        401,
        /does not start with "sha256:"/,
      ],
      ['missing header', post('/webhooks/jobserv', body), 401, /missing X-JobServ-Sig/],
      [
        '2 MiB body',
        post('/webhooks/jobserv', big, { 'X-JobServ-Sig': jobservSignature(JOBSERV_SECRET, big) }),
        413,
        /larger than 1048576 bytes/,
      ],
      [
        'invalid JSON',
        post('/webhooks/jobserv', '{"build_id": 67,', {
          'X-JobServ-Sig': jobservSignature(JOBSERV_SECRET, '{"build_id": 67,'),
        }),
        400,
        /not JSON/,
      ],
      ['unknown source', post('/webhooks/travis', body), 404, /no webhook source at \/webhooks\/travis/],
      ['unknown generic source', post('/webhooks/generic/jenkins', body), 404, /no webhook source/],
      ['outside /webhooks', post('/jobserv', body), 404, /no webhook source/],
      [
        'source without a secret',
        post('/webhooks/gitlab', body, { 'X-Gitlab-Token': 'x' }),
        403,
        /GITLAB_WEBHOOK_TOKEN/,
      ],
    ];
    for (const [name, answer, status, message] of cases) {
      const { status: got, message: said } = await answer;
      assert.equal(got, status, `${name}: ${said}`);
      assert.match(said, message, name);
    }
    await settle();
    assert.equal(announced(running.events).length, before, 'nothing emitted');
    assert.equal((await requests('jobserv', 'unauthorized')) - unauthorizedBefore, 4);
    assert.ok((await requests('jobserv', 'too_large')) >= 1);
    assert.ok((await requests('unknown', 'unknown_source')) >= 3);
    assert.ok((await requests('gitlab', 'not_configured')) >= 1);
    const refusals = running.logs.filter((line) => line.includes('"webhook refused"'));
    assert.ok(refusals.some((line) => line.includes('"reason":"missing X-JobServ-Sig header"')));
    for (const line of running.logs) {
      assert.ok(!line.includes(JOBSERV_SECRET) && !line.includes(signature.slice(7)), `leaked: ${line}`);
    }
    const metrics = await running.registry.metrics();
    assert.match(
      metrics,
      /switchboard_ci_webhook_requests_total\{source="jobserv",outcome="unauthorized"\} \d+/,
    );
  });

  test('an oversized body is refused as soon as it passes the limit, without waiting for the rest', async () => {
    const url = new URL(`${running.pack.url}/webhooks/github`);
    const status = await new Promise<number>((resolve, reject) => {
      // Chunked, so no Content-Length gives the size away; the body is never ended.
      const request = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST' },
        (response) => {
          resolve(response.statusCode ?? 0);
          response.resume();
          request.destroy();
        },
      );
      request.on('error', reject);
      request.setTimeout(5000, () => request.destroy(new Error('no answer within 5 s')));
      request.write(Buffer.alloc(1536 * 1024, ' '));
    });
    assert.equal(status, 413);
  });

  test('GitHub workflow_run success is a passed BuildCompleted; the same delivery id again is answered 200', async () => {
    const headers = {
      'X-Hub-Signature-256': githubSignature(GITHUB_SECRET, WORKFLOW_RUN),
      'X-GitHub-Event': 'workflow_run',
      'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    };
    assert.equal((await post('/webhooks/github', WORKFLOW_RUN, headers)).status, 202);
    const isRun = (event: Envelope) => (event.payload as { buildId?: string }).buildId === '30433642';
    const event = await firstEvent(running.events, isRun);
    assert.equal(event.name, 'BuildCompleted');
    assert.equal((event.payload as { status: string }).status, 'passed');
    assert.equal((await post('/webhooks/github', WORKFLOW_RUN, headers)).status, 200);
    const ping = await post('/webhooks/github', '{"zen":"Keep it logically awesome."}', {
      'X-Hub-Signature-256': githubSignature(GITHUB_SECRET, '{"zen":"Keep it logically awesome."}'),
      'X-GitHub-Event': 'ping',
    });
    assert.equal(ping.status, 200);
    assert.equal(ping.outcome, 'ignored');
    await settle();
    assert.equal(running.events.events.filter(isRun).length, 1);
  });

  test('a generic source takes any JSON with its token, and passes on headers without credentials', async () => {
    const cloudEvent = JSON.stringify({ pipelineRun: { metadata: { name: 'build-42' } } });
    const answer = await post('/webhooks/generic/tekton', cloudEvent, {
      'X-Webhook-Token': TEKTON_TOKEN,
      'Ce-Type': 'dev.tekton.event.pipelinerun.successful.v1',
      'Ce-Id': 'e-42',
      Authorization: 'Bearer abc',
    });
    assert.equal(answer.status, 202, answer.message);
    const event = await firstEvent(running.events, (candidate) => candidate.name === 'WebhookReceived');
    const payload = event.payload as { name: string; headers: Record<string, string>; payload: unknown };
    assert.equal(payload.name, 'tekton');
    assert.deepEqual(payload.payload, JSON.parse(cloudEvent));
    assert.equal(payload.headers['ce-type'], 'dev.tekton.event.pipelinerun.successful.v1');
    assert.equal(payload.headers['x-webhook-token'], undefined);
    assert.equal(payload.headers.authorization, undefined);
    const wrong = await post('/webhooks/generic/tekton', cloudEvent, { 'X-Webhook-Token': 'guess' });
    assert.equal(wrong.status, 401);
    const repeated = await post('/webhooks/generic/tekton', cloudEvent, {
      'X-Webhook-Token': TEKTON_TOKEN,
      'Ce-Id': 'e-42',
    });
    assert.equal(repeated.status, 200, 'the same CloudEvent id');
    await settle();
    assert.equal(running.events.named('WebhookReceived').length, 1);
  });

  test('PackStarted describes the events and their schemas', async () => {
    const started = await firstEvent(running.events, (event) => event.name === 'PackStarted');
    const manifest = started.payload as {
      commands: unknown[];
      events: Array<{ name: string; schema?: object }>;
    };
    assert.deepEqual(manifest.commands, []);
    assert.deepEqual(
      manifest.events.map((event) => event.name),
      [
        'BuildStarted',
        'BuildCompleted',
        'DeploymentCompleted',
        'WebhookReceived',
        'CloudEventReceived',
        'AlertFiring',
        'AlertResolved',
        'AlertGroupChanged',
      ],
    );
    const completed = manifest.events.find((event) => event.name === 'BuildCompleted');
    assert.deepEqual(completed?.schema, BUILD_EVENT_SCHEMA);
  });

  test('503 while the broker refuses; the delivery sent again then gets through exactly once', async () => {
    const body = JSON.stringify({
      build_id: 501,
      status: 'PASSED',
      url: 'https://api.foundries.io/projects/andy-corp/lmp/builds/501/',
      completed: '2021-07-26T18:19:24+00:00',
    });
    const headers = { 'X-JobServ-Sig': jobservSignature(JOBSERV_SECRET, body) };
    const isBuild = (event: Envelope) => (event.payload as { buildId?: string }).buildId === '501';
    running.bus.mode = 'fail';
    const refused = await post('/webhooks/jobserv', body, headers);
    assert.equal(refused.status, 503);
    assert.equal(refused.outcome, 'unavailable');
    assert.match(refused.message, /send it again/);
    assert.ok(!refused.message.includes('unreachable'), 'the broker error stays in the log');
    assert.ok(running.logs.some((line) => line.includes('publish failed: the broker is unreachable')));
    running.bus.mode = 'ok';
    assert.equal((await post('/webhooks/jobserv', body, headers)).status, 202);
    await running.events.waitFor(isBuild);
    assert.equal((await post('/webhooks/jobserv', body, headers)).status, 200);
    await settle();
    assert.equal(running.events.events.filter(isBuild).length, 1);
  });

  test('a broker slow to confirm: 503 at the deadline, the retry joins, the late confirmation counts; one event', async () => {
    const body = JSON.stringify({
      build_id: 502,
      status: 'FAILED',
      url: 'https://api.foundries.io/projects/andy-corp/lmp/builds/502/',
      completed: '2021-07-26T18:19:24+00:00',
    });
    const headers = { 'X-JobServ-Sig': jobservSignature(JOBSERV_SECRET, body) };
    const isBuild = (event: Envelope) => (event.payload as { buildId?: string }).buildId === '502';
    running.bus.mode = 'hold';
    const first = await post('/webhooks/jobserv', body, headers);
    assert.equal(first.status, 503, 'not confirmed within CI_WEBHOOK_PUBLISH_TIMEOUT');
    assert.match(first.message, /did not confirm the event in time/);
    const pendingRetry = await post('/webhooks/jobserv', body, headers);
    assert.equal(pendingRetry.status, 503, 'still not confirmed');
    assert.equal(running.bus.heldCount, 1, 'the retry did not publish a second time');
    const joining = post('/webhooks/jobserv', body, headers);
    await sleep(50);
    running.bus.mode = 'ok';
    running.bus.release();
    assert.equal((await joining).status, 200, 'the publish it joined was confirmed');
    assert.equal((await post('/webhooks/jobserv', body, headers)).status, 200);
    await running.events.waitFor(isBuild);
    await settle();
    assert.equal(running.events.events.filter(isBuild).length, 1);
    assert.equal(running.events.events.find(isBuild)?.name, 'BuildCompleted');
  });
});

describe('the ci-webhook pack with GitLab', () => {
  const token = 'glpat-hook-token';
  const keyBase64 = 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const key = Buffer.from(keyBase64, 'base64');
  let running: Running;

  before(async () => {
    running = await startPack({ GITLAB_WEBHOOK_TOKEN: token, GITLAB_WEBHOOK_SECRET: `whsec_${keyBase64}` });
  });
  after(() => stopPack(running));

  const post = (body: string | Buffer, headers: Record<string, string>) =>
    fetch(`${running.pack.url}/webhooks/gitlab`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'X-Gitlab-Event': 'Pipeline Hook', ...headers },
    }).then((response) => response.status);

  test('a pipeline with its token is one BuildCompleted; the same Idempotency-Key again is 200', async () => {
    const headers = { 'X-Gitlab-Token': token, 'Idempotency-Key': 'f6b3b2a0-0000-4000-8000-000000000031' };
    assert.equal(await post(PIPELINE, headers), 202);
    const event = await firstEvent(running.events, (candidate) => candidate.name === 'BuildCompleted');
    assert.equal((event.payload as { project: string }).project, 'gitlab-org/gitlab-test');
    assert.equal((event.payload as { status: string }).status, 'passed');
    assert.equal(await post(PIPELINE, headers), 200);
    assert.equal(await post(PIPELINE, { 'X-Gitlab-Token': 'wrong' }), 401);
    await settle();
    assert.equal(running.events.named('BuildCompleted').length, 1);
  });

  test('Standard-Webhooks signatures: a fresh one passes, an old one or a tampered body is refused', async () => {
    const body = PIPELINE.toString().replace('"id": 31', '"id": 32');
    assert.equal(
      await post(body, standardWebhookHeaders(key, 'msg_stale', body, Math.floor(Date.now() / 1000) - 600)),
      401,
    );
    assert.equal(await post(`${body} `, standardWebhookHeaders(key, 'msg_tampered', body)), 401);
    assert.equal(await post(body, standardWebhookHeaders(key, 'msg_fresh', body)), 202);
    await running.events.waitFor((event) => (event.payload as { buildId?: string }).buildId === '32');
    assert.equal(await post(body, standardWebhookHeaders(key, 'msg_fresh', body)), 200, 'webhook-id seen');
  });

  test('a captured signed delivery replayed with a fresh Idempotency-Key is not emitted again', async () => {
    const body = PIPELINE.toString().replace('"id": 31', '"id": 33');
    const signed = standardWebhookHeaders(key, 'msg_replayed', body);
    const isThisBuild = (event: Envelope) => (event.payload as { buildId?: string }).buildId === '33';
    assert.equal(await post(body, { ...signed, 'Idempotency-Key': 'first-key' }), 202);
    await running.events.waitFor(isThisBuild);
    // Idempotency-Key is not covered by the signature; webhook-id is.
    assert.equal(await post(body, { ...signed, 'Idempotency-Key': 'a-fresh-key' }), 200);
    await settle();
    assert.equal(running.events.events.filter(isThisBuild).length, 1);
  });

  test('a port already taken stops the start with a message naming CI_WEBHOOK_PORT', async () => {
    const port = new URL(running.pack.url as string).port;
    const second = await createCiWebhookPack(
      parseCiWebhookConfig({
        CI_WEBHOOK_PORT: port,
        CI_WEBHOOK_HOST: '127.0.0.1',
        GITLAB_WEBHOOK_TOKEN: token,
      }),
    );
    await assert.rejects(
      startPackRuntime(running.bus, second),
      /CI_WEBHOOK_PORT: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/,
    );
  });

  test('once the pack stops, the port is closed', async () => {
    const url = running.pack.url;
    await running.runtime.stop({ graceMs: 1000 });
    assert.equal(running.pack.url, undefined);
    await assert.rejects(fetch(`${url}/webhooks/gitlab`, { method: 'POST', body: '{}' }));
  });
});
