import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import type { DeadLetterJson } from '../../console/dead-letters/letter-json.ts';
import { AmqpBus } from '../../shared/bus/amqp/amqp-bus.ts';
import { type InboundMessage, UnprocessableMessage } from '../../shared/bus/bus.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import {
  COMMANDS_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  EVENTS_EXCHANGE,
} from '../../shared/bus/topology.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import { testLogger } from '../support/bus.ts';
import { startThrowawayBroker, type ThrowawayBroker } from '../support/throwaway-rabbitmq.ts';

interface Listing {
  letters: DeadLetterJson[];
  total: number;
  shown: number;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function call(
  console: RunningConsole,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${console.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function listing(console: RunningConsole): Promise<Listing> {
  const { status, body } = await call(console, 'GET', '/api/dead-letters');
  assert.equal(status, 200);
  return body as unknown as Listing;
}

function errorOf(answer: { body: Record<string, unknown> }): { code: string; message: string } {
  return answer.body.error as { code: string; message: string };
}

describe('the dead letters API on the in-memory bus', () => {
  const bus = new MemoryBus();
  let console: RunningConsole;
  const seen = new Set<string>();
  const handled: InboundMessage[] = [];

  /** Puts a letter in switchboard.dead as an outside publisher could. */
  function setAside(body: string | Buffer, headers: Record<string, string> = {}) {
    void bus.declareQueue(DEAD_LETTER_QUEUE, []);
    bus.publishRaw({ queue: DEAD_LETTER_QUEUE }, Buffer.from(body), { headers });
  }

  async function discardEverything() {
    const { letters } = await listing(console);
    if (letters.length > 0) {
      await call(console, 'POST', '/api/dead-letters/discard-all', { ids: letters.map((l) => l.id) });
    }
  }

  before(async () => {
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
    });
    // A pack that refuses each command the first time it sees it, and handles it the second.
    await bus.consume(
      {
        name: 'switchboard.pack.p',
        durability: 'pack',
        bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: 'p.*' }],
        kind: 'command',
        prefetch: 10,
      },
      async (message) => {
        if (!seen.has(message.envelope.id)) {
          seen.add(message.envelope.id);
          throw new UnprocessableMessage('refused the first time');
        }
        handled.push(message);
      },
    );
  });
  after(async () => {
    await console.close();
    await bus.close();
  });

  test('GET /api/dead-letters with nothing dead-lettered lists nothing', async () => {
    assert.deepEqual(await listing(console), { letters: [], total: 0, shown: 0 });
  });

  test('a garbage command is listed with its reason, origin, time, headers and body as text', async () => {
    bus.publishRaw({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, Buffer.from('{"id": "x", pack'), {
      headers: { trace: 't-1' },
    });
    await settle();
    const { letters, total, shown } = await listing(console);
    assert.equal(total, 1);
    assert.equal(shown, 1);
    const [letter] = letters;
    assert.ok(letter);
    assert.match(letter.reason ?? '', /body is not JSON/);
    assert.equal(letter.originalExchange, COMMANDS_EXCHANGE);
    assert.equal(letter.originalRoutingKey, 'p.Do');
    assert.ok(letter.deadLetteredAt && !Number.isNaN(Date.parse(letter.deadLetteredAt)));
    assert.equal(letter.body, '{"id": "x", pack');
    assert.equal(letter.bodyEncoding, 'utf8');
    assert.equal(letter.bodyIsJson, false);
    assert.equal(letter.bodyTruncated, false);
    assert.equal(letter.size, 16);
    assert.equal(letter.messageId, null);
    assert.equal(letter.headers.trace, 't-1');
    assert.match(String(letter.headers[DEAD_LETTER_REASON_HEADER]), /body is not JSON/);
    await discardEverything();
  });

  test('a body that is not text comes as base64; a long one is cut short in the list and whole on its own', async () => {
    setAside(Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    setAside(JSON.stringify({ text: 'é'.repeat(5000) }));
    const [binary, long] = (await listing(console)).letters;
    assert.ok(binary && long);
    assert.equal(binary.bodyEncoding, 'base64');
    assert.deepEqual(Buffer.from(binary.body, 'base64'), Buffer.from([0xff, 0xfe, 0x00, 0x41]));
    assert.equal(long.bodyTruncated, true);
    assert.ok(Buffer.byteLength(long.body) <= 4096, 'cut to 4 KiB');
    assert.equal(long.bodyIsJson, true, 'said of the whole body');
    const whole = await call(console, 'GET', `/api/dead-letters/${encodeURIComponent(long.id)}`);
    assert.equal(whole.status, 200);
    const letter = whole.body.letter as DeadLetterJson;
    assert.equal(letter.bodyTruncated, false);
    assert.equal(JSON.parse(letter.body).text.length, 5000);
    assert.equal(letter.size, Buffer.byteLength(letter.body));
    await discardEverything();
  });

  test('POST /api/dead-letters/<id>/requeue sends the letter back to its pack queue, where it is handled', async () => {
    const command = createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: {} });
    await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, command);
    await settle();
    const [letter] = (await listing(console)).letters;
    assert.equal(letter?.id, command.id, 'named by its messageId');
    const answer = await call(console, 'POST', `/api/dead-letters/${command.id}/requeue`);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, {
      requeued: { id: command.id, exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' },
    });
    await settle();
    assert.ok(handled.some((message) => message.envelope.id === command.id));
    assert.deepEqual((await listing(console)).letters, []);
  });

  test('DELETE /api/dead-letters/<id> discards it; an unknown id is a 404', async () => {
    setAside('discard me', {
      'x-switchboard-original-exchange': EVENTS_EXCHANGE,
      'x-switchboard-original-routing-key': 'x.Happened',
    });
    const [letter] = (await listing(console)).letters;
    assert.ok(letter);
    const answer = await call(console, 'DELETE', `/api/dead-letters/${letter.id}`);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { discarded: { id: letter.id } });
    assert.deepEqual((await listing(console)).letters, []);
    for (const [method, path] of [
      ['DELETE', `/api/dead-letters/${letter.id}`],
      ['POST', `/api/dead-letters/${letter.id}/requeue`],
      ['GET', `/api/dead-letters/${letter.id}`],
    ] as const) {
      const unknown = await call(console, method, path);
      assert.equal(unknown.status, 404, `${method} ${path}`);
      assert.equal(errorOf(unknown).code, 'unknown_letter');
      assert.match(errorOf(unknown).message, new RegExp(letter.id));
    }
  });

  test('a letter that says nowhere to go back to gets 409, one for a queue that is gone too; both stay', async () => {
    setAside('from nowhere');
    setAside('to nobody', {
      'x-switchboard-original-exchange': '',
      'x-switchboard-original-routing-key': 'switchboard.pack.gone',
    });
    const [nowhere, nobody] = (await listing(console)).letters;
    assert.ok(nowhere && nobody);
    const refused = await call(console, 'POST', `/api/dead-letters/${nowhere.id}/requeue`);
    assert.equal(refused.status, 409);
    assert.equal(errorOf(refused).code, 'no_original_destination');
    const unroutable = await call(console, 'POST', `/api/dead-letters/${nobody.id}/requeue`);
    assert.equal(unroutable.status, 409);
    assert.equal(errorOf(unroutable).code, 'unroutable');
    assert.match(errorOf(unroutable).message, /switchboard\.pack\.gone/);
    assert.equal((await listing(console)).total, 2);
    await discardEverything();
  });

  test('requeue-all and discard-all act on the ids given and say which could not be done', async () => {
    const commands = [1, 2].map(() =>
      createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: {} }),
    );
    for (const command of commands) {
      await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, command);
    }
    await settle();
    setAside('from nowhere');
    const letters = (await listing(console)).letters;
    assert.equal(letters.length, 3);
    const nowhere = letters.find((letter) => letter.originalRoutingKey === null);
    assert.ok(nowhere);
    const answer = await call(console, 'POST', '/api/dead-letters/requeue-all', {
      ids: letters.map((letter) => letter.id),
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(
      (answer.body.requeued as Array<{ id: string }>).map((done) => done.id),
      commands.map((command) => command.id),
    );
    const failed = answer.body.failed as Array<{ id: string; error: { code: string } }>;
    assert.deepEqual(
      failed.map(({ id, error }) => [id, error.code]),
      [[nowhere.id, 'no_original_destination']],
    );
    await settle();
    for (const command of commands) assert.ok(handled.some((message) => message.envelope.id === command.id));

    setAside('one more');
    const discarded = await call(console, 'POST', '/api/dead-letters/discard-all', {
      ids: [nowhere.id, 'no-such-letter'],
    });
    assert.equal(discarded.status, 200);
    assert.deepEqual(discarded.body.discarded, [{ id: nowhere.id }]);
    assert.deepEqual(
      (discarded.body.failed as Array<{ id: string; error: { code: string } }>).map(({ id, error }) => [
        id,
        error.code,
      ]),
      [['no-such-letter', 'unknown_letter']],
    );
    assert.equal((await listing(console)).total, 1, 'a letter not named stays');
    await discardEverything();
  });

  test('a bulk request must name its letters', async () => {
    for (const body of [{}, { ids: [] }, { ids: 'x' }, { ids: [1] }, { ids: [''] }]) {
      const answer = await call(console, 'POST', '/api/dead-letters/requeue-all', body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(errorOf(answer).code, 'invalid_body');
      assert.match(errorOf(answer).message, /"ids"/);
    }
    const response = await fetch(`${console.url}/api/dead-letters/discard-all`, {
      method: 'POST',
      body: 'x',
    });
    assert.equal(response.status, 415);
  });

  test('a requeue or discard from another origin is refused', async () => {
    setAside('stay');
    const [letter] = (await listing(console)).letters;
    assert.ok(letter);
    for (const [method, path] of [
      ['POST', `/api/dead-letters/${letter.id}/requeue`],
      ['DELETE', `/api/dead-letters/${letter.id}`],
    ]) {
      const response = await fetch(`${console.url}${path}`, {
        method,
        headers: { Origin: 'https://evil.example' },
      });
      assert.equal(response.status, 403, `${method} ${path}`);
    }
    assert.equal((await listing(console)).total, 1);
    await discardEverything();
  });
});

describe('the dead letters API on RabbitMQ', () => {
  // Holding dead letters would take them from the other tests on the shared broker: a broker of its own.
  let broker: ThrowawayBroker;
  let bus: AmqpBus;
  let console: RunningConsole;

  before(async () => {
    broker = await startThrowawayBroker();
    bus = await AmqpBus.connect({
      url: broker.url,
      name: 'test',
      logger: testLogger,
      initialRetries: 3,
      deadLetters: { timeoutMs: 1000 },
    });
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
    });
  });
  after(async () => {
    await console?.close();
    await bus?.close();
    await broker?.dispose();
  });

  test('lists a letter, and answers 503 with the reason while RabbitMQ is down', async () => {
    await bus.publish(
      { queue: DEAD_LETTER_QUEUE },
      createEnvelope({ kind: 'event', pack: 'x', name: 'Happened', payload: {} }),
      { headers: { [DEAD_LETTER_REASON_HEADER]: 'set aside by the test' } },
    );
    const [letter] = (await listing(console)).letters;
    assert.equal(letter?.reason, 'set aside by the test');
    await broker.stop();
    try {
      const down = await call(console, 'GET', '/api/dead-letters');
      assert.equal(down.status, 503);
      assert.equal(errorOf(down).code, 'broker_unreachable');
      assert.match(errorOf(down).message, /RabbitMQ/);
      const requeue = await call(console, 'POST', `/api/dead-letters/${letter.id}/requeue`);
      assert.equal(requeue.status, 503);
    } finally {
      await broker.start();
    }
    const back = await (async () => {
      for (let tries = 0; ; tries++) {
        const answer = await call(console, 'GET', '/api/dead-letters');
        if (answer.status === 200 || tries > 100) return answer;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    assert.equal(back.status, 200, 'the letter is read again once RabbitMQ is back');
    assert.deepEqual(
      (back.body as unknown as Listing).letters.map((l) => l.id),
      [letter.id],
    );
  });
});
