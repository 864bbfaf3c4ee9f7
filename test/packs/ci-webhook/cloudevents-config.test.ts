import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ciWebhookConfigured, parseCiWebhookConfig } from '../../../packs/ci-webhook/ci-webhook-config.ts';
import { parseCloudEventsConfig } from '../../../packs/ci-webhook/cloudevents/cloudevents-config.ts';
import { ConfigError } from '../../../shared/config.ts';

test('defaults: no token (everything refused), no origin granted, no dashboard', () => {
  assert.deepEqual(parseCiWebhookConfig({}).cloudEvents, {
    tokens: [],
    allowedOrigins: [],
    tektonDashboardUrl: undefined,
  });
});

test('tokens and origins are comma-separated lists; the dashboard loses its trailing slash', () => {
  assert.deepEqual(
    parseCloudEventsConfig({
      CLOUDEVENTS_TOKENS: ' old , new,,',
      CLOUDEVENTS_ALLOWED_ORIGINS: 'Tekton.Example.com, *',
      TEKTON_DASHBOARD_URL: 'https://tekton.example.com/dashboard/',
    }),
    {
      tokens: ['old', 'new'],
      allowedOrigins: ['tekton.example.com', '*'],
      tektonDashboardUrl: 'https://tekton.example.com/dashboard',
    },
  );
});

test('CLOUDEVENTS_TOKENS alone makes `switchboard all` start the pack', () => {
  assert.equal(ciWebhookConfigured({ CLOUDEVENTS_TOKENS: 't' }), true);
  assert.equal(ciWebhookConfigured({ TEKTON_DASHBOARD_URL: 'https://tekton.example.com' }), false);
});

test('a dashboard that is not an http(s) address, or carries credentials, is refused naming the variable', () => {
  for (const [value, message] of [
    ['tekton.example.com', /is not a URL/],
    ['ftp://tekton.example.com', /http or https/],
    ['https://admin:hunter2@tekton.example.com', /must not carry credentials/],
    ['https://tekton.example.com/#/namespaces', /without \?query or #fragment/],
  ] as const) {
    assert.throws(
      () => parseCloudEventsConfig({ TEKTON_DASHBOARD_URL: value }),
      (error: Error) =>
        error instanceof ConfigError &&
        error.variable === 'TEKTON_DASHBOARD_URL' &&
        message.test(error.message) &&
        !error.message.includes('hunter2'),
      value,
    );
  }
});
