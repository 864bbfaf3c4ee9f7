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
