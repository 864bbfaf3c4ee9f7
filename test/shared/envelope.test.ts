import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEnvelope } from '../../shared/envelope.ts';

const decode = (body: unknown, properties = {}) =>
  decodeEnvelope(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), 'command', properties);

test('an outside command needs only id, pack, name and payload; the rest is filled in', () => {
  const result = decode(
    { id: 'c1', pack: 'slack', name: 'SendMessage', payload: { message: 'hi' } },
    { timestamp: 1_700_000_000 },
  );
  assert.deepEqual(result, {
    ok: true,
    envelope: {
      id: 'c1',
      kind: 'command',
      pack: 'slack',
      name: 'SendMessage',
      payload: { message: 'hi' },
      createdAt: '2023-11-14T22:13:20.000Z',
    },
  });
});

test('the AMQP messageId and correlationId stand in for missing fields', () => {
  const result = decode(
    { pack: 'slack', name: 'SendMessage', payload: {} },
    { messageId: 'm1', correlationId: 'k1' },
  );
  assert.ok(result.ok);
  assert.equal(result.envelope.id, 'm1');
  assert.equal(result.envelope.correlationId, 'k1');
});

test('refusals say what is wrong', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['not json', /body is not JSON/],
    [[1, 2], /not a JSON object/],
    [{ id: 'x', pack: 'Slack', name: 'SendMessage', payload: {} }, /envelope\/pack must match pattern/],
    [{ id: 'x', pack: 'slack', payload: {} }, /must have required property 'name'/],
    [
      { id: 'x', pack: 'slack', name: 'SendMessage', payload: {}, labels: { env: 1 } },
      /labels\/env must be string/,
    ],
    [
      { id: 'x', pack: 'slack', name: 'SendMessage', payload: {}, createdAt: 'yesterday' },
      /createdAt must match format/,
    ],
    [
      { id: 'x', kind: 'event', pack: 'slack', name: 'MessageSent', payload: {} },
      /kind "event" arrived on the commands exchange/,
    ],
  ];
  for (const [body, reason] of cases) {
    const result = decode(body);
    assert.equal(result.ok, false, JSON.stringify(body));
    assert.match((result as { reason: string }).reason, reason);
  }
});

test('ids longer than an AMQP short string (255 bytes of UTF-8) are refused, though within 200 characters', () => {
  const longId = 'é'.repeat(200);
  for (const field of ['id', 'correlationId', 'causationId']) {
    const result = decode({ id: 'x', pack: 'slack', name: 'SendMessage', payload: {}, [field]: longId });
    assert.equal(result.ok, false, field);
    assert.match(
      (result as { reason: string }).reason,
      new RegExp(`envelope/${field} is 400 bytes in UTF-8, more than the 255 an AMQP short string holds`),
    );
  }
  const fits = 'é'.repeat(127); // 254 bytes
  assert.ok(decode({ id: fits, pack: 'slack', name: 'SendMessage', payload: {}, correlationId: fits }).ok);
});

test('a command whose labels make a queue name longer than 255 bytes is refused', () => {
  const labels = { env: 'x'.repeat(240) };
  const result = decode({ id: 'x', pack: 'slack', name: 'SendMessage', payload: {}, labels });
  assert.equal(result.ok, false);
  assert.match(
    (result as { reason: string }).reason,
    /envelope\/labels make the queue name switchboard\.pack\.slack\[env=x+\] 268 bytes, more than the 255/,
  );
  assert.ok(decode({ id: 'x', pack: 'slack', name: 'SendMessage', payload: {}, labels: { env: 'prod' } }).ok);
});

test('times an AMQP timestamp cannot carry are refused: before 1970, after 9999, or unreadable', () => {
  const refused = [
    '1969-12-31T23:59:59Z',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59-23:59', // year 10000 in UTC
    '2016-12-31T23:59:60Z', // a leap second: valid RFC 3339, but JavaScript cannot read it as a time
  ];
  for (const createdAt of refused) {
    const result = decode({ id: 'x', pack: 'slack', name: 'SendMessage', payload: {}, createdAt });
    assert.equal(result.ok, false, createdAt);
    assert.match(
      (result as { reason: string }).reason,
      /envelope\/createdAt must be from 1970 to 9999 \(AMQP timestamps count seconds since 1970\)/,
    );
  }
  for (const createdAt of ['1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2026-01-01T00:00:00+01:00']) {
    assert.ok(decode({ id: 'x', pack: 'slack', name: 'SendMessage', payload: {}, createdAt }).ok, createdAt);
  }
});

test('an AMQP timestamp beyond year 9999 standing in for createdAt is refused, not thrown', () => {
  const result = decode({ id: 'x', pack: 'slack', name: 'SendMessage', payload: {} }, { timestamp: 2 ** 62 });
  assert.equal(result.ok, false);
  assert.match(
    (result as { reason: string }).reason,
    /AMQP timestamp 4611686018427388000 is after year 9999/,
  );
});
