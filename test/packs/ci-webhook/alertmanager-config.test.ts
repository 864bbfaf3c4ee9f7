import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CI_WEBHOOK_TO_RUN,
  CI_WEBHOOK_VARIABLES,
  ciWebhookConfigured,
  parseCiWebhookConfig,
} from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { ConfigError } from '../../../shared/config.ts';

test('ALERTMANAGER_WEBHOOK_TOKEN: none by default (403), a comma-separated list for rotations', () => {
  assert.deepEqual(parseCiWebhookConfig({}).alertmanager, { tokens: [] });
  assert.deepEqual(parseCiWebhookConfig({ ALERTMANAGER_WEBHOOK_TOKEN: ' new, ,old ' }).alertmanager, {
    tokens: ['new', 'old'],
  });
  const variable = CI_WEBHOOK_VARIABLES.ALERTMANAGER_WEBHOOK_TOKEN;
  assert.equal(variable.default, 'none: 403');
  assert.match(variable.meaning, /Bearer.*Basic/);
});

test('setting it is enough for `switchboard all` to run the pack', () => {
  assert.equal(ciWebhookConfigured({ ALERTMANAGER_WEBHOOK_TOKEN: 't' }), true);
  assert.equal(ciWebhookConfigured({ ALERTMANAGER_WEBHOOK_TOKEN: ' ' }), false);
  assert.match(CI_WEBHOOK_TO_RUN, /ALERTMANAGER_WEBHOOK_TOKEN/);
});

test('a token that cannot travel in an HTTP header is refused at start, naming the variable, not the token', () => {
  assert.throws(
    () => parseCiWebhookConfig({ ALERTMANAGER_WEBHOOK_TOKEN: 'fine,s\u00e9cret' }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.variable === 'ALERTMANAGER_WEBHOOK_TOKEN' &&
      /token 2 /.test(error.message) &&
      !error.message.includes('s\u00e9cret'),
  );
});
