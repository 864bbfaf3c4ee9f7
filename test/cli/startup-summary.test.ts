import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startupSummary } from '../../cli/startup-summary.ts';

test('the start-up summary names the broker without its password, refused flows with their reason, and what each idle pack needs', () => {
  const summary = startupSummary({
    brokerUrl: 'amqp://switchboard:s3cret@rabbit.example.org:5672',
    flows: {
      dir: './flows',
      loaded: ['echo'],
      refused: [
        { file: 'broken.json', path: '/steps/0/event', reason: 'must have required property "name"' },
      ],
    },
    packs: [
      { name: 'slack', running: true, toRun: 'set SLACK_BOT_TOKEN' },
      { name: 'matrix', running: false, toRun: 'set MATRIX_HOMESERVER_URL and MATRIX_ACCESS_TOKEN' },
    ],
    console: { url: 'http://127.0.0.1:8090', tokenRequired: true },
  });
  assert.match(summary, /console: http:\/\/127\.0\.0\.1:8090 \(sign in with SWITCHBOARD_CONSOLE_TOKEN\)$/m);
  assert.match(summary, /bus: +RabbitMQ at amqp:\/\/rabbit\.example\.org:5672$/m);
  assert.doesNotMatch(summary, /s3cret|switchboard:/);
  assert.match(summary, /flows: 1 loaded from \.\/flows: echo$/m);
  assert.match(summary, /refused broken\.json:\/steps\/0\/event: must have required property "name"$/m);
  assert.match(summary, /slack: running$/m);
  assert.match(
    summary,
    /matrix: not configured; set MATRIX_HOMESERVER_URL and MATRIX_ACCESS_TOKEN to run it$/m,
  );
});

test('without a flows directory the summary says the engine does not run and how to point it at one', () => {
  const summary = startupSummary({
    brokerUrl: undefined,
    flows: undefined,
    packs: [],
    console: { url: 'http://127.0.0.1:8090', tokenRequired: false },
  });
  assert.match(summary, /console: http:\/\/127\.0\.0\.1:8090$/m);
  assert.match(summary, /bus: +in-memory/);
  assert.match(
    summary,
    /flows: none: there is no flows directory, so the flow engine does not run \(set --flows\)/,
  );
});
