import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Counter } from 'prom-client';
import type { Envelope } from '../../../shared/envelope.ts';
import { type Running, startPack, stopPack } from './support.ts';

// POST /webhooks/alertmanager through the whole pack, on the in-memory bus with a broker that can fail.
const TOKEN = 'am-t0ken-4f1c';
const FIXTURES = join(import.meta.dirname, 'fixtures', 'alertmanager');
const FIRING = JSON.parse(readFileSync(join(FIXTURES, 'firing.json'), 'utf8'));
const ONE_RESOLVED = JSON.parse(readFileSync(join(FIXTURES, 'one-resolved.json'), 'utf8'));

/** The fixture as another receiver's notification, so that each test has deliveries of its own. */
function forReceiver(notification: unknown, receiver: string): string {
  return JSON.stringify({ ...(notification as object), receiver });
}

const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = { authorization: `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}` };

/** Long enough for a stray event to arrive on the in-memory bus, which delivers on the next turns. */
const settle = () => sleep(50);

function poster(running: Running) {
  return async (body: string | Buffer, headers: Record<string, string> = {}) => {
    const response = await fetch(`${running.pack.url}/webhooks/alertmanager`, {
      method: 'POST',
      body,
      // What Alertmanager sends (notify/util.go PostJSON).
      headers: { 'content-type': 'application/json', 'user-agent': 'Alertmanager/0.32.1', ...headers },
      signal: AbortSignal.timeout(5000),
    });
    const answer = (await response.json()) as { outcome: string; message: string };
    return { status: response.status, ...answer };
  };
}

const ofReceiver = (receiver: string) => (event: Envelope) =>
  (event.payload as { receiver?: string }).receiver === receiver;

function names(events: Envelope[]): string[] {
  return events.map((event) => event.name);
}

describe('POST /webhooks/alertmanager', () => {
  let running: Running;
  let post: ReturnType<typeof poster>;

  before(async () => {
    running = await startPack({
      ALERTMANAGER_WEBHOOK_TOKEN: `rotated-away,${TOKEN}`,
      CI_WEBHOOK_PUBLISH_TIMEOUT: '0.3',
    });
    post = poster(running);
  });
  after(() => stopPack(running));

  test('a notification with a Bearer token is its events, once: the same notification again emits nothing', async () => {
    const body = forReceiver(FIRING, 'bearer');
    const first = await post(body, bearer);
    assert.equal(first.status, 202, first.message);
    assert.equal(first.message, 'AlertGroupChanged, AlertFiring, AlertFiring emitted');
    const emitted = await running.events.waitFor(ofReceiver('bearer'), 3);
    assert.deepEqual(names(emitted), ['AlertGroupChanged', 'AlertFiring', 'AlertFiring']);
    const again = await post(body, bearer);
    assert.equal(again.status, 200, again.message);
    assert.equal(again.outcome, 'duplicate');
    await settle();
    assert.equal(running.events.events.filter(ofReceiver('bearer')).length, 3);
  });

  test('with Basic credentials (any user, the token as password), a resolved alert is AlertResolved', async () => {
    assert.equal((await post(forReceiver(FIRING, 'basic'), basic)).status, 202);
    await running.events.waitFor(ofReceiver('basic'), 3);
    const answer = await post(forReceiver(ONE_RESOLVED, 'basic'), basic);
    assert.equal(answer.status, 202, answer.message);
    // The alert still firing was announced already: only the group and the resolved alert are new.
    assert.equal(answer.message, 'AlertGroupChanged, AlertResolved emitted');
    const emitted = await running.events.waitFor(ofReceiver('basic'), 5);
    assert.deepEqual(names(emitted.slice(3)), ['AlertGroupChanged', 'AlertResolved']);
    const resolved = emitted[4]?.payload as Record<string, unknown>;
    assert.equal(resolved.fingerprint, '4a9c2e6f3b1d7a05');
    assert.equal(resolved.endsAt, '2026-03-02T09:41:22.519Z');
    await settle();
    assert.equal(running.events.events.filter(ofReceiver('basic')).length, 5);
  });

  test('every refusal gets its status and emits nothing; no token is ever logged', async () => {
    const body = forReceiver(FIRING, 'refused');
    const big = Buffer.alloc(2 * 1024 * 1024, ' ');
    big.write(body);
    const cases: Array<[string, Promise<{ status: number; message: string }>, number, RegExp]> = [
      ['no credentials', post(body), 401, /missing Authorization header/],
      ['a wrong Bearer token', post(body, { authorization: 'Bearer am-t0ken' }), 401, /matches none/],
      [
        'a wrong Basic password',
        post(body, { authorization: `Basic ${Buffer.from(`${TOKEN}:x`).toString('base64')}` }),
        401,
        /the Basic password matches none/,
      ],
      ['another scheme', post(body, { authorization: `Token ${TOKEN}` }), 401, /neither Bearer nor Basic/],
      ['not JSON', post('{"version": "4",', bearer), 400, /not JSON/],
      ['not the shape', post(JSON.stringify({ version: '4', alerts: [] }), bearer), 400, /no groupKey/],
      ['another version', post(JSON.stringify({ ...FIRING, version: '5' }), bearer), 400, /version "5"/],
      ['a body over the limit', post(big, bearer), 413, /larger than 1048576 bytes/],
    ];
    for (const [name, answer, status, message] of cases) {
      const { status: got, message: said } = await answer;
      assert.equal(got, status, `${name}: ${said}`);
      assert.match(said, message, name);
    }
    await settle();
    assert.deepEqual(running.events.events.filter(ofReceiver('refused')), []);
    const counter = running.registry.getSingleMetric('switchboard_ci_webhook_requests_total') as Counter;
    const { values } = await counter.get();
    const count = (outcome: string) =>
      values.find((value) => value.labels.source === 'alertmanager' && value.labels.outcome === outcome)
        ?.value ?? 0;
    assert.equal(count('unauthorized'), 4);
    assert.equal(count('invalid_payload'), 2);
    for (const line of running.logs) assert.ok(!line.includes(TOKEN), `leaked: ${line}`);
  });

  test('a notification the broker was too slow for is answered 503; Alertmanager’s retry emits each event once', async () => {
    const body = forReceiver(FIRING, 'retried');
    running.bus.mode = 'hold';
    const first = await post(body, bearer);
    assert.equal(first.status, 503, first.message);
    // The broker confirms late: what it held counts as published.
    running.bus.mode = 'ok';
    running.bus.release();
    const retry = await post(body, bearer);
    assert.equal(retry.status, 202, retry.message);
    assert.equal(retry.message, 'AlertFiring, AlertFiring emitted');
    const emitted = await running.events.waitFor(ofReceiver('retried'), 3);
    assert.equal((await post(body, bearer)).status, 200);
    await settle();
    assert.deepEqual(names(emitted), ['AlertGroupChanged', 'AlertFiring', 'AlertFiring']);
    assert.equal(running.events.events.filter(ofReceiver('retried')).length, 3);
  });
});

test('with no ALERTMANAGER_WEBHOOK_TOKEN, /webhooks/alertmanager refuses everything with 403', async () => {
  const running = await startPack({ GITHUB_WEBHOOK_SECRET: 'gh' });
  try {
    const answer = await poster(running)(JSON.stringify(FIRING), { authorization: 'Bearer anything' });
    assert.equal(answer.status, 403);
    assert.match(answer.message, /set ALERTMANAGER_WEBHOOK_TOKEN/);
    await settle();
    assert.deepEqual(
      running.events.events.filter((event) => event.name.startsWith('Alert')),
      [],
    );
  } finally {
    await stopPack(running);
  }
});
