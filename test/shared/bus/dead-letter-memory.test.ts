import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DeadLetterError, type InboundMessage, UnprocessableMessage } from '../../../shared/bus/bus.ts';
import { MemoryBus } from '../../../shared/bus/memory-bus.ts';
import {
  COMMANDS_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_REASON_HEADER,
  EVENTS_EXCHANGE,
  REQUEUED_AT_HEADER,
} from '../../../shared/bus/topology.ts';
import { createEnvelope } from '../../../shared/envelope.ts';

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

/** A pack queue whose consumer refuses each command the first time it sees it, and handles it after. */
async function refusingOnce(bus: MemoryBus) {
  const seen = new Set<string>();
  const handled: InboundMessage[] = [];
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
        throw new UnprocessableMessage('not today');
      }
      handled.push(message);
    },
  );
  return handled;
}

function command() {
  return createEnvelope({ kind: 'command', pack: 'p', name: 'Do', payload: { n: 1 } });
}

async function rejects(promise: Promise<unknown>, code: string): Promise<DeadLetterError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}`),
    (error: DeadLetterError) => error,
  );
  assert.equal(error.code, code, error.message);
  return error;
}

test('a refused command is listed with its reason, where it was going and when; requeued, it is handled', async () => {
  const bus = new MemoryBus();
  const handled = await refusingOnce(bus);
  const refused = command();
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, refused);
  await settle();
  const deadLetters = bus.deadLetters();
  const { letters, total } = await deadLetters.list();
  assert.equal(total, 1);
  const [letter] = letters;
  assert.ok(letter);
  assert.equal(letter.id, refused.id, 'named by its messageId');
  assert.equal(letter.reason, 'not today');
  assert.equal(letter.originalExchange, COMMANDS_EXCHANGE);
  assert.equal(letter.originalRoutingKey, 'p.Do');
  assert.ok(letter.deadLetteredAt && Date.now() - Date.parse(letter.deadLetteredAt) < 5000);
  assert.equal(JSON.parse(letter.body.toString()).id, refused.id, 'the original bytes');

  assert.deepEqual(await deadLetters.requeue(letter.id), { exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' });
  await settle();
  assert.equal(handled.length, 1);
  assert.equal(handled[0]?.envelope.id, refused.id, 'same id, so a pack can tell it saw it');
  assert.deepEqual(await deadLetters.list(), { letters: [], total: 0 });
  await bus.close();
});

test('a discarded letter is gone and goes nowhere', async () => {
  const bus = new MemoryBus();
  const handled = await refusingOnce(bus);
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, command());
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, command());
  await settle();
  const deadLetters = bus.deadLetters();
  const [first, second] = (await deadLetters.list()).letters;
  assert.ok(first && second);
  await deadLetters.discard(first.id);
  await settle();
  assert.deepEqual(
    (await deadLetters.list()).letters.map((letter) => letter.id),
    [second.id],
  );
  assert.equal(handled.length, 0);
  await rejects(deadLetters.discard(first.id), 'unknown_letter');
  await bus.close();
});

test('a requeued letter refused again comes back without the old dead-letter headers, saying it was requeued', async () => {
  const bus = new MemoryBus();
  await bus.consume(
    { name: 'switchboard.pack.p', durability: 'pack', bindings: [], kind: 'command', prefetch: 1 },
    async () => {},
  );
  bus.publishRaw({ queue: 'switchboard.pack.p' }, Buffer.from('not json'), { headers: { trace: 'abc' } });
  await settle();
  const deadLetters = bus.deadLetters();
  const [letter] = (await deadLetters.list()).letters;
  assert.ok(letter);
  assert.equal(letter.originalExchange, '', 'sent to a queue by name');
  assert.equal(letter.originalRoutingKey, 'switchboard.pack.p');
  assert.match(letter.id, /^sha256-[0-9a-f]{24}$/, 'no messageId: named by its content');
  await deadLetters.requeue(letter.id);
  await settle();
  const [again] = bus.peek(DEAD_LETTER_QUEUE);
  assert.ok(again);
  assert.equal(again.headers.trace, 'abc', 'its own headers kept');
  assert.match(String(again.headers[DEAD_LETTER_REASON_HEADER]), /body is not JSON/);
  assert.ok(!Number.isNaN(Date.parse(String(again.headers[REQUEUED_AT_HEADER]))));
  await bus.close();
});

test('a letter whose requeue cannot be published stays listed', async () => {
  const bus = new MemoryBus({ maxWaitingCommands: 0 });
  const deadLetters = bus.deadLetters();
  await deadLetters.list();
  // As an outside publisher could have set it aside: a command for a pack that never started, and an event
  // nobody listens to.
  const aside = (exchange: string, routingKey: string) =>
    bus.publishRaw({ queue: DEAD_LETTER_QUEUE }, Buffer.from(`{"to":"${routingKey}"}`), {
      headers: {
        [DEAD_LETTER_REASON_HEADER]: 'refused',
        'x-switchboard-original-exchange': exchange,
        'x-switchboard-original-routing-key': routingKey,
      },
    });
  aside(COMMANDS_EXCHANGE, 'ghost.Do');
  aside(EVENTS_EXCHANGE, 'nobody.Listens');
  bus.publishRaw({ queue: DEAD_LETTER_QUEUE }, Buffer.from('from nowhere'));
  const [command, event, orphan] = (await deadLetters.list()).letters;
  assert.ok(command && event && orphan);
  assert.match((await rejects(deadLetters.requeue(command.id), 'requeue_failed')).message, /ghost/);
  assert.match((await rejects(deadLetters.requeue(event.id), 'unroutable')).message, /nobody\.Listens/);
  await rejects(deadLetters.requeue(orphan.id), 'no_original_destination');
  await rejects(deadLetters.requeue('no-such-letter'), 'unknown_letter');
  assert.deepEqual(
    (await deadLetters.list()).letters.map((letter) => letter.id),
    [command.id, event.id, orphan.id],
  );
  await bus.close();
});

test('letters sharing a messageId get ids of their own, derived from their content', async () => {
  const bus = new MemoryBus();
  await bus.consume(
    {
      name: 'switchboard.pack.p',
      durability: 'pack',
      bindings: [{ exchange: COMMANDS_EXCHANGE, pattern: 'p.*' }],
      kind: 'command',
      prefetch: 10,
    },
    async () => {
      throw new UnprocessableMessage('never');
    },
  );
  // The same command sent twice (a sender that retried) and refused twice: two letters, one messageId.
  const twice = command();
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, twice);
  await bus.publish({ exchange: COMMANDS_EXCHANGE, routingKey: 'p.Do' }, twice);
  await settle();
  const deadLetters = bus.deadLetters();
  const ids = (await deadLetters.list()).letters.map((letter) => letter.id);
  assert.equal(ids.length, 2);
  assert.match(ids[0] as string, /^sha256-[0-9a-f]{24}$/);
  assert.equal(ids[1], `${ids[0]}-2`, 'identical copies are numbered');
  assert.deepEqual(
    (await deadLetters.list()).letters.map((letter) => letter.id),
    ids,
    'the same on every list',
  );
  await deadLetters.discard(ids[1] as string);
  assert.deepEqual(
    (await deadLetters.list()).letters.map((letter) => letter.id),
    [twice.id],
    'unique again',
  );
  await bus.close();
});
