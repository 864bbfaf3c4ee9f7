import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { allows, parseAllowPattern } from '../../../packs/ci-webhook/command-api/allow-list.ts';
import { formatRate, parseRate } from '../../../packs/ci-webhook/command-api/command-api-config.ts';
import { commandIdFor, readIdempotencyKey } from '../../../packs/ci-webhook/command-api/idempotency.ts';
import { RateLimiter } from '../../../packs/ci-webhook/command-api/rate-limiter.ts';
import { ConfigError } from '../../../shared/config.ts';

const SECRET = 'hunter2-hunter2-hunter2';

function tokensFrom(value: string | undefined) {
  return parseCiWebhookConfig({ SWITCHBOARD_API_TOKENS: value }).commandApi.tokens;
}

test('SWITCHBOARD_API_TOKENS takes the JSON itself or a file; each token finds its name and only its own', () => {
  const tokens = {
    [SECRET]: { name: 'tekton', allow: ['matrix.SendMessage', 'notify.*'] },
    'another-token-0123456': { name: 'gha', allow: ['*'] },
  };
  const inline = tokensFrom(JSON.stringify(tokens));
  assert.equal(inline.find(SECRET)?.name, 'tekton');
  assert.deepEqual(inline.find(SECRET)?.allowText, ['matrix.SendMessage', 'notify.*']);
  assert.equal(inline.find('another-token-0123456')?.name, 'gha');
  assert.equal(inline.find(`${SECRET}x`), undefined);
  assert.equal(inline.find(SECRET.slice(0, -1)), undefined);
  assert.equal(inline.find(''), undefined);
  const file = join(mkdtempSync(join(tmpdir(), 'api-tokens-')), 'tokens.json');
  writeFileSync(file, JSON.stringify(tokens));
  assert.equal(tokensFrom(file).find(SECRET)?.name, 'tekton');
  assert.equal(tokensFrom(undefined).configured, false);
  assert.equal(tokensFrom('  ').configured, false);
});

test('a wrong SWITCHBOARD_API_TOKENS names the variable and the token by name or position, never the token', () => {
  const cases: Array<[string, RegExp]> = [
    [`{"${SECRET}": {"name": "tekton", "allow": ["matrix.SendMessage"]`, /is not JSON/],
    [`{"${SECRET}": "tekton"}`, /the 1st token must map to/],
    [
      `{"short": {"name": "tekton", "allow": ["*"]}}`,
      /the 1st token \("tekton"\) must be at least 16 characters/,
    ],
    [
      `{"${SECRET} x": {"name": "tekton", "allow": ["*"]}}`,
      /must be at least 16 characters of visible ASCII/,
    ],
    [`{"${SECRET}": {"allow": ["*"]}}`, /needs a "name"/],
    [
      `{"a-${SECRET}": {"name": "ok", "allow": ["*"]}, "${SECRET}": {"name": "tekton", "allow": []}}`,
      /the 2nd token \("tekton"\) needs "allow"/,
    ],
    [
      `{"${SECRET}": {"name": "tekton", "allow": ["matrix"]}}`,
      /allows "matrix", which is not pack.Command, pack.\* or \*/,
    ],
    [`{"${SECRET}": {"name": "tekton", "allow": ["Matrix.sendMessage"]}}`, /which is not pack.Command/],
    [`{"${SECRET}": {"name": "tekton", "allow": ["*"], "alow": ["x.*"]}}`, /unknown fields: alow/],
    ['{}', /has no token/],
    ['[]', /must be a JSON object/],
    ['/no/such/tokens.json', /cannot read \/no\/such\/tokens.json \(ENOENT\)/],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => tokensFrom(value),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.variable === 'SWITCHBOARD_API_TOKENS' &&
        message.test(error.message) &&
        !error.message.includes('hunter2'),
      value,
    );
  }
});

test('allow patterns: pack.Command is that command, pack.* every command of the pack, * anything', () => {
  const patterns = ['matrix.SendMessage', 'notify.*'].map((text) => parseAllowPattern(text));
  assert.ok(patterns.every((pattern) => pattern !== undefined));
  const list = patterns.filter((pattern) => pattern !== undefined);
  assert.equal(allows(list, 'matrix', 'SendMessage'), true);
  assert.equal(allows(list, 'matrix', 'JoinRoom'), false);
  assert.equal(allows(list, 'notify', 'Notify'), true);
  assert.equal(allows(list, 'slack', 'SendMessage'), false);
  assert.equal(allows(list, 'matrix-bridge', 'SendMessage'), false);
  const any = parseAllowPattern('*');
  assert.ok(any && allows([any], 'slack', 'SendMessage'));
  for (const bad of ['', 'matrix', 'matrix.', '*.SendMessage', 'matrix.Send*', 'matrix.**', ' *']) {
    assert.equal(parseAllowPattern(bad), undefined, bad);
  }
});

test('SWITCHBOARD_API_RATE: 20/s,40 by default; n/s or n/m, then the burst (twice n when left out)', () => {
  assert.deepEqual(parseCiWebhookConfig({}).commandApi.rate, { perSecond: 20, burst: 40 });
  assert.equal(formatRate(parseCiWebhookConfig({}).commandApi.rate), '20/s,40');
  assert.deepEqual(parseRate('R', '5/s'), { perSecond: 5, burst: 10 });
  assert.deepEqual(parseRate('R', '30/m, 3'), { perSecond: 0.5, burst: 3 });
  for (const bad of ['fast', '0/s', '20', '20/h', '20/s,0', '-1/s']) {
    assert.throws(
      () => parseCiWebhookConfig({ SWITCHBOARD_API_RATE: bad }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'SWITCHBOARD_API_RATE',
      bad,
    );
  }
});

test('the rate limiter lets a burst through, then one per 1/rate seconds, telling when in whole seconds', () => {
  let now = 0;
  const limiter = new RateLimiter<string>({ perSecond: 0.5, burst: 2 }, () => now);
  assert.deepEqual([limiter.take('a'), limiter.take('a')], [{ ok: true }, { ok: true }]);
  assert.deepEqual(limiter.take('a'), { ok: false, retryAfterSeconds: 2 });
  assert.deepEqual(limiter.take('b'), { ok: true }, 'each key its own bucket');
  now = 1500;
  assert.deepEqual(limiter.take('a'), { ok: false, retryAfterSeconds: 1 });
  now = 2000;
  assert.deepEqual(limiter.take('a'), { ok: true });
  const slow = new RateLimiter<string>({ perSecond: 1 / 3, burst: 1 }, () => now);
  slow.take('x');
  now += 500;
  assert.deepEqual(slow.take('x'), { ok: false, retryAfterSeconds: 3 }, '2.5 s rounded up, not down');
  const fast = new RateLimiter<string>({ perSecond: 20, burst: 1 }, () => now);
  fast.take('x');
  assert.deepEqual(fast.take('x'), { ok: false, retryAfterSeconds: 1 }, 'never less than 1 s');
});

test('Idempotency-Key: bare or quoted, 1 to 200 visible ASCII characters; the same key of the same sender is the same id', () => {
  assert.deepEqual(readIdempotencyKey({}), { ok: true, key: undefined });
  assert.deepEqual(readIdempotencyKey({ 'idempotency-key': '8e03978e-40d5-43e8-bc93-6894a57f9324' }), {
    ok: true,
    key: '8e03978e-40d5-43e8-bc93-6894a57f9324',
  });
  assert.deepEqual(readIdempotencyKey({ 'idempotency-key': '"build-12"' }), { ok: true, key: 'build-12' });
  assert.equal(readIdempotencyKey({ 'idempotency-key': 'x'.repeat(200) }).ok, true);
  for (const bad of ['', '""', 'x'.repeat(201), 'a b', 'ключ']) {
    assert.equal(readIdempotencyKey({ 'idempotency-key': bad }).ok, false, bad);
  }
  const id = commandIdFor('tekton', 'matrix', 'SendMessage', 'k1');
  assert.equal(commandIdFor('tekton', 'matrix', 'SendMessage', 'k1'), id);
  assert.notEqual(commandIdFor('gha', 'matrix', 'SendMessage', 'k1'), id);
  assert.notEqual(commandIdFor('tekton', 'matrix', 'SendMessage', 'k2'), id);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});
