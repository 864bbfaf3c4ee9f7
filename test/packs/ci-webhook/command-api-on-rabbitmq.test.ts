import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { type CiWebhookPack, createCiWebhookPack } from '../../../packs/ci-webhook/ci-webhook-pack.ts';
import type { AmqpBus } from '../../../shared/bus/amqp/amqp-bus.ts';
import type { Consumption } from '../../../shared/bus/bus.ts';
import { COMMANDS_EXCHANGE } from '../../../shared/bus/topology.ts';
import type { Envelope } from '../../../shared/envelope.ts';
import type { PackRuntime } from '../../../shared/runtime/pack-runtime.ts';
import { connectTestBus, EventCollector, uniquePackName } from '../../support/bus.ts';
import { FakeOutsideSystem, startPackRuntime, startTestPack } from '../../support/test-pack.ts';

// The acceptance for POST /v1/commands/<pack>/<Command>, on the real broker, with a real pack (the
// test pack) answering: one valid request is one command; a repeat publishes nothing new; no refusal
// publishes anything; ?wait returns the pack's result event.
const SENDER = 'sender-token-0123456789abcdef';
const REFUSED = 'refused-token-0123456789abcdef';
const LIMITED = 'limited-token-0123456789abcdef';

interface Answer {
  id?: string;
  correlationId?: string;
  result?: Envelope;
  errorCode?: string;
  error?: { code: string; message: string };
}

const name = uniquePackName('api');
const outside = new FakeOutsideSystem();
const commands: Envelope[] = [];
let bus: AmqpBus;
let targetPack: PackRuntime;
let runtime: PackRuntime;
let pack: CiWebhookPack;
let events: EventCollector;
let tap: Consumption;

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${SENDER}` },
): Promise<{ status: number; answer: Answer; headers: Headers }> {
  const response = await fetch(`${pack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, answer: (await response.json()) as Answer, headers: response.headers };
}

/** Long enough for a stray command to come through RabbitMQ. */
const settle = () => sleep(500);

before(async () => {
  bus = await connectTestBus();
  // Every command published for the test pack, whoever consumes it.
  tap = await bus.consume(
    {
      durability: 'private',
      bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: `${name}.*` }],
      kind: 'command',
      prefetch: 100,
    },
    async ({ envelope }) => void commands.push(envelope),
  );
  events = await EventCollector.start(bus, `${name}.*`);
  targetPack = await startTestPack(bus, { name, outside });
  const tokens = {
    [SENDER]: { name: 'tekton', allow: [`${name}.*`] },
    [REFUSED]: { name: 'refused', allow: [`${name}.Post`, `${name}.Broken`] },
    [LIMITED]: { name: 'limited', allow: ['*'] },
  };
  pack = await createCiWebhookPack(
    parseCiWebhookConfig({
      CI_WEBHOOK_PORT: '0',
      CI_WEBHOOK_HOST: '127.0.0.1',
      CI_WEBHOOK_MAX_BODY_BYTES: '2048',
      SWITCHBOARD_API_TOKENS: JSON.stringify(tokens),
      SWITCHBOARD_API_RATE: '1/m,20',
    }),
    { registry: new Registry() },
  );
  // The ci-webhook pack starts after the test pack, as after a restart: it learns of it by asking.
  runtime = await startPackRuntime(bus, pack);
  // Known once the test pack's answer is in: an unknown command is then unknown_command, not unknown_pack.
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
    const { answer } = await post(`/v1/commands/${name}/Launch`, {}, { authorization: `Bearer ${LIMITED}` });
    if (answer.error?.code === 'unknown_command') break;
  }
});
after(async () => {
  await runtime?.stop({ graceMs: 1000 });
  await targetPack?.stop({ graceMs: 1000 });
  await tap?.stop();
  await events?.stop();
  await bus?.close();
});

const commandsWithId = (id: string | undefined) => commands.filter((command) => command.id === id);

test('a valid request publishes exactly one command, which the pack runs; ?wait returns its result event', async () => {
  const { status, answer } = await post(`/v1/commands/${name}/Post`, {
    channelId: 'C1',
    message: 'over RabbitMQ',
  });
  assert.equal(status, 202, JSON.stringify(answer));
  const [result] = await events.waitFor((event) => event.causationId === answer.id);
  assert.equal(result?.name, 'Posted');
  await settle();
  assert.equal(commandsWithId(answer.id).length, 1);
  const waited = await post(`/v1/commands/${name}/Post?wait=10`, { channelId: 'C1', message: 'waited' });
  assert.equal(waited.status, 200, JSON.stringify(waited.answer));
  assert.equal(waited.answer.result?.name, 'Posted');
  assert.equal(waited.answer.result?.causationId, waited.answer.id);
  const failed = await post(`/v1/commands/${name}/Broken?wait=10`, {});
  assert.equal(failed.status, 422);
  assert.equal(failed.answer.errorCode, 'not_found');
  assert.equal(failed.answer.result?.name, 'BrokenFailed');
});

test('the same Idempotency-Key again publishes nothing new; with ?wait the pack answers from its record, having run it once', async () => {
  const headers = { authorization: `Bearer ${SENDER}`, 'idempotency-key': `deploy-${name}` };
  const body = { channelId: 'C2', message: 'deployed once' };
  const first = await post(`/v1/commands/${name}/Post`, body, headers);
  assert.equal(first.status, 202);
  await events.waitFor((event) => event.causationId === first.answer.id);
  const again = await post(`/v1/commands/${name}/Post`, body, headers);
  assert.equal(again.status, 202);
  assert.equal(again.answer.id, first.answer.id);
  await settle();
  assert.equal(commandsWithId(first.answer.id).length, 1, 'the repeat published nothing');
  const waited = await post(`/v1/commands/${name}/Post?wait=10`, body, headers);
  assert.equal(waited.status, 200);
  assert.equal(waited.answer.id, first.answer.id);
  const [recorded] = await events.waitFor((event) => event.causationId === first.answer.id);
  assert.equal(waited.answer.result?.id, recorded?.id, 'the result recorded the first time');
  // Published again to be answered (replyTo), and answered from the record: the post happened once.
  assert.equal(outside.posts.filter((post) => post.commandId === first.answer.id).length, 1);
});

test('every refusal (401, 403, 404, 413, 415, 422, 400) publishes nothing', async () => {
  await post(`/v1/commands/${name}/Post?wait=10`, { channelId: 'C0', message: 'the pack is known' });
  const before = commands.length;
  const auth = { authorization: `Bearer ${REFUSED}` };
  const path = `/v1/commands/${name}/Post`;
  const cases: Array<[string, number, () => ReturnType<typeof post>]> = [
    ['no token', 401, () => post(path, { channelId: 'C1', message: 'x' }, {})],
    [
      'wrong token',
      401,
      () => post(path, { channelId: 'C1', message: 'x' }, { authorization: 'Bearer not-a-token-at-all' }),
    ],
    ['not allowed', 403, () => post(`/v1/commands/${name}/Flaky`, { failures: 0 }, auth)],
    [
      'unknown pack',
      404,
      () => post('/v1/commands/nosuchpack/Post', {}, { authorization: `Bearer ${LIMITED}` }),
    ],
    ['unknown command', 404, () => post(`/v1/commands/${name}/Launch`, {})],
    ['too large', 413, () => post(path, { channelId: 'C1', message: 'x'.repeat(4096) }, auth)],
    ['not JSON', 415, () => post(path, 'hello', { ...auth, 'content-type': 'text/plain' })],
    ['schema', 422, () => post(path, { channelId: 5, message: 'x' }, auth)],
    ['bad JSON', 400, () => post(path, '{"channelId"', auth)],
    ['bad wait', 400, () => post(`${path}?wait=120`, { channelId: 'C1', message: 'x' }, auth)],
    [
      'bad key',
      400,
      () => post(path, { channelId: 'C1', message: 'x' }, { ...auth, 'idempotency-key': 'a b' }),
    ],
  ];
  for (const [what, status, request] of cases) {
    const { status: got, answer } = await request();
    assert.equal(got, status, `${what}: ${JSON.stringify(answer)}`);
  }
  await settle();
  assert.equal(commands.length, before);
});

test('a token over its rate gets 429 with Retry-After, and its valid command is not published', async () => {
  // Its burst (20) spent on requests that publish nothing anyway.
  let status = 0;
  for (let i = 0; i < 25 && status !== 429; i++) {
    ({ status } = await post(`/v1/commands/${name}/Launch`, {}, { authorization: `Bearer ${LIMITED}` }));
  }
  assert.equal(status, 429);
  const before = commands.length;
  const limited = await post(
    `/v1/commands/${name}/Post`,
    { channelId: 'C1', message: 'x' },
    { authorization: `Bearer ${LIMITED}` },
  );
  assert.equal(limited.status, 429);
  assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  await settle();
  assert.equal(commands.length, before);
});
