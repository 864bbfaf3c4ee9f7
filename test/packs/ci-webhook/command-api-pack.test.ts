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

  test('requests are counted under source command-api', async () => {
    const counter = registry.getSingleMetric('switchboard_ci_webhook_requests_total') as Counter;
    const values = (await counter.get()).values.filter((value) => value.labels.source === 'command-api');
    const count = (outcome: string) => values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
    assert.ok(count('accepted') >= 1);
    assert.ok(count('unauthorized') >= 2);
    assert.ok(count('forbidden') >= 1);
  });
});
