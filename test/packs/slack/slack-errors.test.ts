import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import { slackFailure } from '../../../packs/slack/slack-errors.ts';
import { type FakeSlack, startFakeSlack } from '../../fakes/slack/index.ts';

// Real errors from the official SDK, produced by the fake Slack, read the way the pack reads them.
let fake: FakeSlack;
let web: WebClient;
before(async () => {
  fake = await startFakeSlack();
  fake.addChannel({ id: 'C1', name: 'general', isMember: true });
  web = new WebClient(fake.tokens.bot, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
});
after(async () => {
  await fake.close();
});

async function failureOf(call: () => Promise<unknown>) {
  try {
    await call();
  } catch (error) {
    return slackFailure(error);
  }
  assert.fail('the call did not fail');
}

test("Slack's permanent errors keep their code and are not retried", async () => {
  const failure = await failureOf(() => web.chat.postMessage({ channel: 'C404', text: 'hi' }));
  assert.equal(failure.code, 'channel_not_found');
  assert.equal(failure.retryable, false);
  assert.match(failure.message, /channel_not_found/);
});

test('a 429 is retryable after its Retry-After', async () => {
  fake.failNext('chat.postMessage', { retryAfter: 7 });
  const failure = await failureOf(() => web.chat.postMessage({ channel: 'C1', text: 'hi' }));
  assert.equal(failure.code, 'rate_limited');
  assert.equal(failure.retryable, true);
  assert.equal(failure.retryAfterMs, 7000);
});

test('a 5xx is retryable', async () => {
  fake.failNext('chat.postMessage', { status: 503 });
  const failure = await failureOf(() => web.chat.postMessage({ channel: 'C1', text: 'hi' }));
  assert.equal(failure.code, 'upstream_error');
  assert.equal(failure.retryable, true);
});

test('an unreachable Slack is retryable', async () => {
  const nowhere = new WebClient('xoxb-test', {
    slackApiUrl: 'http://127.0.0.1:1/api/',
    retryConfig: { retries: 0 },
  });
  const failure = await failureOf(() => nowhere.auth.test());
  assert.equal(failure.retryable, true);
  assert.match(failure.message, /cannot reach Slack/);
});
