import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelledQueueName, topicMatches } from '../../../shared/bus/topology.ts';

test('topic patterns match as RabbitMQ matches them', () => {
  const cases: Array<[string, string, boolean]> = [
    ['slack.*', 'slack.MessageSent', true],
    ['slack.*', 'matrix.MessageSent', false],
    ['*.MessageSent', 'matrix.MessageSent', true],
    ['#', 'ci-webhook.BuildCompleted', true],
    ['slack.#', 'slack', true],
    ['slack.*', 'slack', false],
    ['#.Sent', 'a.b.Sent', true],
    ['a.*.c', 'a.b.b.c', false],
  ];
  for (const [pattern, key, expected] of cases)
    assert.equal(topicMatches(pattern, key), expected, `${pattern} ~ ${key}`);
});

test('label queue names do not depend on the order labels were written in', () => {
  assert.equal(
    labelledQueueName('slack', { region: 'eu', env: 'prod' }),
    'switchboard.pack.slack[env=prod,region=eu]',
  );
  assert.equal(
    labelledQueueName('slack', { env: 'prod', region: 'eu' }),
    'switchboard.pack.slack[env=prod,region=eu]',
  );
});
