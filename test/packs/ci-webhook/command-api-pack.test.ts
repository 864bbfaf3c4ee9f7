import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { type Counter, Registry } from 'prom-client';
import { parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { type CiWebhookPack, createCiWebhookPack } from '../../../packs/ci-webhook/ci-webhook-pack.ts';
import type { Bus, Consumption } from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import {
  COMMANDS_EXCHANGE,
  EVENTS_EXCHANGE,
  packQueueName,
  routingKey,
} from '../../../shared/bus/topology.ts';
import { createEnvelope, type Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { EventCollector, uniquePackName } from '../../support/bus.ts';
import { FakeOutsideSystem, startPackRuntime, startTestPack } from '../../support/test-pack.ts';

// The HTTP command API on the in-memory bus: what a client sees, and what reaches the bus (or does not).
const TEKTON = 'tekton-token-0123456789abcdef';
const NARROW = 'narrow-token-0123456789abcdef';
const OTHER_PACK = 'other-token-0123456789abcdef';
const MATRIX_ONLY = 'matrix-token-0123456789abcdef';

interface Answer {
  id?: string;
  correlationId?: string;
  result?: Envelope;
  errorCode?: string;
  reason?: string;
  error?: { code: string; message: string };
}

/** Every command published for `pattern`, as a pack queue would get it. */
async function collectCommands(
  bus: Bus,
  pattern: string,
): Promise<{ commands: Envelope[]; stop(): Promise<void> }> {
  const commands: Envelope[] = [];
  const consumption: Consumption = await bus.consume(
    {
      durability: 'private',
      bindings: [{ exchange: COMMANDS_EXCHANGE, pattern }],
      kind: 'command',
      prefetch: 100,
    },
    async ({ envelope }) => void commands.push(envelope),
  );
  return { commands, stop: () => consumption.stop() };
}

/** A pack that announced itself but that nothing runs: its commands wait, unanswered, in its queue. */
async function announceIdlePack(bus: Bus, name: string): Promise<void> {
  await bus.declareQueue(packQueueName(name), [{ exchange: COMMANDS_EXCHANGE, pattern: `${name}.*` }]);
  await bus.publish(
    { exchange: EVENTS_EXCHANGE, routingKey: routingKey(name, 'PackStarted') },
    createEnvelope({
      kind: 'event',
      pack: name,
      name: 'PackStarted',
      payload: {
        name,
        instanceId: `${name}-1`,
        commands: [{ name: 'Ring', inputSchema: { type: 'object' }, events: ['Rang', 'RingFailed'] }],
      },
    }),
  );
}

async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(20);
    }
  }
}

describe('the HTTP command API on the in-memory bus', () => {
  const bus = new MemoryBus();
  const name = uniquePackName('api');
  const idle = uniquePackName('idle');
  const outside = new FakeOutsideSystem();
  const registry = new Registry();
  const logs: string[] = [];
  let testPack: PackRuntime;
  let runtime: PackRuntime;
  let pack: CiWebhookPack;
  let events: EventCollector;
  let sent: { commands: Envelope[]; stop(): Promise<void> };

  async function post(
    path: string,
    body: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${TEKTON}` },
  ): Promise<{ status: number; answer: Answer; headers: Headers }> {
    const response = await fetch(`${pack.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, answer: (await response.json()) as Answer, headers: response.headers };
  }

  before(async () => {
    // Started before the API: it learns of them by asking (AnnouncementsRequested), not from PackStarted.
    testPack = await startTestPack(bus, { name, outside });
    events = await EventCollector.start(bus, `${name}.*`);
    sent = await collectCommands(bus, '#');
    const tokens = {
      [TEKTON]: { name: 'tekton', allow: [`${name}.*`, `${idle}.Ring`] },
      [NARROW]: { name: 'narrow', allow: [`${name}.Post`, 'matrix.SendMessage'] },
      [OTHER_PACK]: { name: 'other', allow: ['*'] },
      [MATRIX_ONLY]: { name: 'matrix-only', allow: ['matrix.SendMessage'] },
    };
    pack = await createCiWebhookPack(
      parseCiWebhookConfig({
        CI_WEBHOOK_PORT: '0',
        CI_WEBHOOK_HOST: '127.0.0.1',
        CI_WEBHOOK_MAX_BODY_BYTES: '2048',
        SWITCHBOARD_API_TOKENS: JSON.stringify(tokens),
      }),
      { registry },
    );
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
    runtime = await startPackRuntime(bus, pack, { logger });
    // Announced by hand, after the API started: no runtime would answer for it.
    await announceIdlePack(bus, idle);
    await eventually(async () => {
      const { status, answer } = await post(`/v1/commands/${idle}/Ring`, {});
      assert.equal(status, 202, JSON.stringify(answer));
    });
  });
  after(async () => {
    await runtime.stop({ graceMs: 1000 });
    await testPack.stop({ graceMs: 100 });
    await sent.stop();
    await events.stop();
    await bus.close();
  });

  const published = (commandName: string) => sent.commands.filter((command) => command.name === commandName);

  test('a valid command is published once and answered 202 with its id; the pack runs it', async () => {
    const before = published('Post').length;
    const { status, answer } = await post(`/v1/commands/${name}/Post`, { channelId: 'C1', message: 'hello' });
    assert.equal(status, 202);
    assert.ok(answer.id);
    assert.equal(answer.correlationId, answer.id);
    const [result] = await events.waitFor((event) => event.causationId === answer.id);
    assert.equal(result?.name, 'Posted');
    assert.equal(published('Post').length, before + 1);
    assert.deepEqual(
      outside.posts.filter((post) => post.commandId === answer.id).map((post) => post.message),
      ['hello'],
    );
  });

  test("the command carries the token's name in x-switchboard-sent-by, not in its labels", async () => {
    const { status, answer } = await post(`/v1/commands/${idle}/Ring`, { times: 1 });
    assert.equal(status, 202);
    const waiting = bus.peek(packQueueName(idle)).find((message) => message.body.includes(answer.id ?? '-'));
    assert.equal(waiting?.headers['x-switchboard-sent-by'], 'tekton');
    const command = JSON.parse(waiting?.body.toString('utf8') ?? '{}') as Envelope;
    assert.equal(command.labels, undefined);
  });

  test('a missing or wrong token gets 401 with WWW-Authenticate: Bearer; a command outside allow, 403; none publishes', async () => {
    const before = sent.commands.length;
    const body = { channelId: 'C1', message: 'hi' };
    const missing = await post(`/v1/commands/${name}/Post`, body, {});
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assert.equal(missing.answer.error?.code, 'unauthorized');
    const wrong = await post(`/v1/commands/${name}/Post`, body, { authorization: `Bearer ${TEKTON}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('www-authenticate'), 'Bearer');
    const forbidden = await post(
      `/v1/commands/${name}/Flaky`,
      { failures: 0 },
      { authorization: `Bearer ${NARROW}` },
    );
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.answer.error?.code, 'forbidden');
    assert.match(forbidden.answer.error?.message ?? '', new RegExp(`"narrow" may not send ${name}\\.Flaky`));
    await sleep(50);
    assert.equal(sent.commands.length, before);
    assert.ok(!logs.some((line) => line.includes(TEKTON) || line.includes(NARROW)), 'no token logged');
  });

  test('?wait= answers 200 with the success event, 422 with a failure event, 504 when none comes in time', async () => {
    const success = await post(`/v1/commands/${name}/Post?wait=5`, {
      channelId: 'C1',
      message: 'waited for',
    });
    assert.equal(success.status, 200);
    assert.equal(success.answer.result?.name, 'Posted');
    assert.equal(success.answer.result?.causationId, success.answer.id);
    const failure = await post(`/v1/commands/${name}/Broken?wait=5`, {});
    assert.equal(failure.status, 422);
    assert.equal(failure.answer.error?.code, 'command_failed');
    assert.equal(failure.answer.errorCode, 'not_found');
    assert.equal(failure.answer.reason, 'channel C404 does not exist');
    assert.equal(failure.answer.result?.name, 'BrokenFailed');
    const none = await post(`/v1/commands/${idle}/Ring?wait=0.2`, {});
    assert.equal(none.status, 504);
    assert.equal(none.answer.error?.code, 'no_result');
    assert.ok(none.answer.id);
  });

  test('the same Idempotency-Key is the same command: run once, published once, answered alike, also with ?wait', async () => {
    const key = { authorization: `Bearer ${TEKTON}`, 'idempotency-key': 'build-881-announce' };
    const body = { channelId: 'C9', message: 'once' };
    const before = published('Post').length;
    const first = await post(`/v1/commands/${name}/Post`, body, key);
    const again = await post(`/v1/commands/${name}/Post`, body, key);
    assert.deepEqual([first.status, again.status], [202, 202]);
    assert.equal(again.answer.id, first.answer.id);
    await events.waitFor((event) => event.causationId === first.answer.id);
    assert.equal(published('Post').length, before + 1, 'the repeat published nothing');
    const waited = await post(`/v1/commands/${name}/Post?wait=5`, body, key);
    const waitedAgain = await post(`/v1/commands/${name}/Post?wait=5`, body, key);
    assert.deepEqual([waited.status, waitedAgain.status], [200, 200]);
    assert.equal(waited.answer.id, first.answer.id);
    assert.equal(waitedAgain.answer.result?.id, waited.answer.result?.id, 'the same result event');
    assert.equal(outside.posts.filter((post) => post.commandId === first.answer.id).length, 1, 'run once');
    // Another sender's key is its own.
    const other = await post(`/v1/commands/${name}/Post`, body, {
      ...key,
      authorization: `Bearer ${OTHER_PACK}`,
    });
    assert.notEqual(other.answer.id, first.answer.id);
  });

  test('an Idempotency-Key used again with another payload, or a malformed one, is refused and publishes nothing', async () => {
    const key = { authorization: `Bearer ${TEKTON}`, 'idempotency-key': 'reused-key' };
    assert.equal(
      (await post(`/v1/commands/${name}/Post`, { channelId: 'C1', message: 'a' }, key)).status,
      202,
    );
    const before = sent.commands.length;
    const reused = await post(`/v1/commands/${name}/Post`, { channelId: 'C1', message: 'b' }, key);
    assert.equal(reused.status, 422);
    assert.equal(reused.answer.error?.code, 'idempotency_key_reused');
    for (const bad of ['', 'with space', 'x'.repeat(201), 'é']) {
      const { status, answer } = await post(
        `/v1/commands/${name}/Post`,
        { channelId: 'C1', message: 'c' },
        { authorization: `Bearer ${TEKTON}`, 'idempotency-key': bad },
      );
      assert.equal(status, 400, JSON.stringify(bad));
      assert.equal(answer.error?.code, 'invalid_idempotency_key');
    }
    await sleep(50);
    assert.equal(sent.commands.length, before);
  });

  test("404 names the known packs, the pack's commands, or says why no pack was seen", async () => {
    const anyToken = { authorization: `Bearer ${OTHER_PACK}` };
    const pack404 = await post('/v1/commands/nosuchpack/Post', {}, anyToken);
    assert.equal(pack404.status, 404);
    assert.equal(pack404.answer.error?.code, 'unknown_pack');
    assert.match(pack404.answer.error?.message ?? '', new RegExp(`known are .*${name}`));
    const command404 = await post(`/v1/commands/${name}/Launch`, {});
    assert.equal(command404.status, 404);
    assert.equal(command404.answer.error?.code, 'unknown_command');
    assert.match(command404.answer.error?.message ?? '', /its commands are Post, Flaky, Slow, Broken, Crash/);
    // This token may send only to matrix, which never announced itself; the packs it may not use go unnamed.
    const never = await post(
      '/v1/commands/matrix/SendMessage',
      {},
      { authorization: `Bearer ${MATRIX_ONLY}` },
    );
    assert.equal(never.status, 404);
    assert.match(
      never.answer.error?.message ?? '',
      /no pack has announced itself .*is a "matrix" pack running/,
    );
    assert.doesNotMatch(never.answer.error?.message ?? '', new RegExp(`${name}|${idle}`));
    const path404 = await post('/v1/commands/only-one-segment', {});
    assert.equal(path404.status, 404);
    assert.equal(path404.answer.error?.code, 'not_found');
    const get = await fetch(`${pack.url}/v1/commands/${name}/Post`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  test('every refusal of the request itself publishes nothing: 415, 413, 400, 422', async () => {
    const before = sent.commands.length;
    const path = `/v1/commands/${name}/Post`;
    const auth = { authorization: `Bearer ${TEKTON}` };
    const cases: Array<[string, number, string, Promise<{ status: number; answer: Answer }>]> = [
      [
        'text/plain',
        415,
        'unsupported_media_type',
        post(path, 'hi', { ...auth, 'content-type': 'text/plain' }),
      ],
      ['too large', 413, 'too_large', post(path, { channelId: 'C1', message: 'x'.repeat(4096) })],
      ['not JSON', 400, 'invalid_json', post(path, '{"channelId":')],
      ['bad JSON', 400, 'invalid_json', post(path, '{"message": payload-marker}')],
      ['wait=61', 400, 'invalid_wait', post(`${path}?wait=61`, { channelId: 'C1', message: 'hi' })],
      ['wait=soon', 400, 'invalid_wait', post(`${path}?wait=soon`, { channelId: 'C1', message: 'hi' })],
      ['wrong type', 422, 'invalid_input', post(path, { channelId: 5, message: 'hi' })],
      ['missing field', 422, 'invalid_input', post(path, { channelId: 'C1' })],
      ['an array', 422, 'invalid_input', post(path, [])],
    ];
    for (const [what, status, code, answered] of cases) {
      const { status: got, answer } = await answered;
      assert.equal(got, status, what);
      assert.equal(answer.error?.code, code, what);
    }
    const wrongType = await post(path, { channelId: 5, message: 'hi' });
    assert.match(wrongType.answer.error?.message ?? '', /payload\.channelId must be string/);
    const missing = await post(path, { channelId: 'C1' });
    assert.match(missing.answer.error?.message ?? '', /must have the field "message"/);
    await sleep(50);
    assert.equal(sent.commands.length, before);
    assert.ok(!logs.some((line) => line.includes('payload-ma')), 'no payload logged');
  });

  test('requests are counted under source command-api', async () => {
    const counter = registry.getSingleMetric('switchboard_ci_webhook_requests_total') as Counter;
    const values = (await counter.get()).values.filter((value) => value.labels.source === 'command-api');
    const count = (outcome: string) => values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
    assert.ok(count('accepted') >= 1);
    assert.ok(count('unauthorized') >= 2);
    assert.ok(count('forbidden') >= 1);
  });
});

describe('the command API, rate-limited and stopping', () => {
  const bus = new MemoryBus();
  const idle = uniquePackName('idle');
  // Each its own bucket: one finds out when the idle pack is known, one is limited, one waits while stopping.
  const [POLLER, LIMITED, WAITER] = ['poller', 'limited', 'waiter'].map((name) => `${name}-token-0123456789`);
  let runtime: PackRuntime;
  let pack: CiWebhookPack;
  let sent: { commands: Envelope[]; stop(): Promise<void> };
  const ring = (token: string | undefined, query = '') =>
    fetch(`${pack.url}/v1/commands/${idle}/Ring${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });

  before(async () => {
    sent = await collectCommands(bus, '#');
    const tokens = Object.fromEntries(
      [POLLER, LIMITED, WAITER].map((token, index) => [token, { name: `sender-${index}`, allow: ['*'] }]),
    );
    pack = await createCiWebhookPack(
      parseCiWebhookConfig({
        CI_WEBHOOK_PORT: '0',
        CI_WEBHOOK_HOST: '127.0.0.1',
        SWITCHBOARD_API_TOKENS: JSON.stringify(tokens),
        SWITCHBOARD_API_RATE: '1/m,2',
      }),
      { registry: new Registry() },
    );
    runtime = await startPackRuntime(bus, pack);
    await announceIdlePack(bus, idle);
    await eventually(async () => {
      const response = await ring(POLLER);
      await response.body?.cancel();
      assert.notEqual(response.status, 404);
    });
  });
  after(async () => {
    await runtime.stop({ graceMs: 1000 });
    await sent.stop();
    await bus.close();
  });

  test('beyond its burst a token gets 429 with Retry-After in whole seconds, and publishes nothing', async () => {
    const before = sent.commands.length;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await ring(LIMITED);
      statuses.push(response.status);
      const answer = (await response.json()) as Answer;
      if (response.status === 429) {
        assert.equal(answer.error?.code, 'rate_limited');
        assert.match(response.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      }
    }
    assert.deepEqual(statuses, [202, 202, 429]);
    await sleep(50);
    assert.equal(sent.commands.length, before + 2);
  });

  test('stopping the pack ends an open wait with 503, naming the command that was published', async () => {
    const waiting = bus.peek(packQueueName(idle)).length;
    const answered = ring(WAITER, '?wait=30');
    await eventually(async () =>
      assert.ok(bus.peek(packQueueName(idle)).length > waiting, 'the command waits in its queue'),
    );
    await runtime.stop({ graceMs: 1000 });
    const response = await answered;
    assert.equal(response.status, 503);
    const answer = (await response.json()) as Answer;
    assert.equal(answer.error?.code, 'stopping');
    assert.ok(answer.id && answer.error?.message.includes(answer.id));
  });
});

test('with no SWITCHBOARD_API_TOKENS every command request gets 403, and nothing is published', async () => {
  const bus = new MemoryBus();
  const sent = await collectCommands(bus, '#');
  const pack = await createCiWebhookPack(
    parseCiWebhookConfig({
      CI_WEBHOOK_PORT: '0',
      CI_WEBHOOK_HOST: '127.0.0.1',
      JOBSERV_WEBHOOK_SECRET: 's3cret',
    }),
    { registry: new Registry() },
  );
  const runtime = await startPackRuntime(bus, pack);
  try {
    const response = await fetch(`${pack.url}/v1/commands/slack/SendMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEKTON}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as Answer).error?.code, 'not_configured');
    await sleep(50);
    assert.equal(sent.commands.length, 0);
  } finally {
    await runtime.stop({ graceMs: 1000 });
    await sent.stop();
    await bus.close();
  }
});
