import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../shared/config.ts';

test('defaults need no environment at all', () => {
  const config = parseConfig({});
  assert.equal(config.amqpUrl, 'amqp://localhost');
  assert.equal(config.amqpUrlSet, false);
  assert.equal(config.healthPort, undefined);
  assert.equal(config.prefetch, 500);
  assert.equal(config.commandTimeoutMs, 60_000);
  assert.equal(config.laneWaitTimeoutMs, 600_000);
  assert.equal(config.shutdownGraceMs, 25_000);
  assert.equal(config.aliveIntervalMs, 30_000);
  assert.deepEqual(config.labels, {});
});

test('every bad value is refused with the name of its variable', () => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ AMQP_URL: 'localhost:5672' }, 'AMQP_URL', /not an amqp/],
    [{ HEALTH_PORT: '99999' }, 'HEALTH_PORT', /from 0 to 65535/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /not a log level/],
    [{ LOG_FORMAT: 'yaml' }, 'LOG_FORMAT', /not a log format; use pretty or json/],
    [{ SWITCHBOARD_LABELS: 'env' }, 'SWITCHBOARD_LABELS', /write key=value/],
    [{ SWITCHBOARD_PREFETCH: '0' }, 'SWITCHBOARD_PREFETCH', /whole number from 1/],
    [{ SWITCHBOARD_COMMAND_TIMEOUT: '-1' }, 'SWITCHBOARD_COMMAND_TIMEOUT', /seconds/],
    [{ SWITCHBOARD_LANE_WAIT_TIMEOUT: 'forever' }, 'SWITCHBOARD_LANE_WAIT_TIMEOUT', /seconds/],
    [{ SWITCHBOARD_MAX_RETRIES: 'many' }, 'SWITCHBOARD_MAX_RETRIES', /whole number/],
    [{ SWITCHBOARD_SHUTDOWN_GRACE: 'soon' }, 'SWITCHBOARD_SHUTDOWN_GRACE', /seconds/],
    [{ SWITCHBOARD_ALIVE_INTERVAL: '0' }, 'SWITCHBOARD_ALIVE_INTERVAL', /seconds/],
  ];
  for (const [env, variable, message] of cases) {
    assert.throws(
      () => parseConfig(env),
      (error: unknown) =>
        error instanceof ConfigError && error.variable === variable && message.test(error.message),
      variable,
    );
  }
});

test('LOG_FORMAT is pretty or json; unset, the logger decides by whether stderr is a terminal', () => {
  assert.equal(parseConfig({ LOG_FORMAT: 'json' }).logFormat, 'json');
  assert.equal(parseConfig({ LOG_FORMAT: ' pretty ' }).logFormat, 'pretty');
  assert.equal(parseConfig({}).logFormat, undefined);
  assert.equal(parseConfig({ LOG_FORMAT: '' }).logFormat, undefined);
});

test('the time a command may wait for its channel is set apart from the time it may run', () => {
  const config = parseConfig({ SWITCHBOARD_COMMAND_TIMEOUT: '10', SWITCHBOARD_LANE_WAIT_TIMEOUT: '900' });
  assert.equal(config.commandTimeoutMs, 10_000);
  assert.equal(config.laneWaitTimeoutMs, 900_000);
});

test('a password in a bad AMQP_URL is not repeated in the error', () => {
  assert.throws(
    () => parseConfig({ AMQP_URL: 'http://user:hunter2@host' }),
    (error: Error) => !error.message.includes('hunter2'),
  );
});

test('flags override the environment and are named when wrong', () => {
  const config = parseConfig(
    { SWITCHBOARD_LABELS: 'env=dev', HEALTH_PORT: '9000' },
    { labels: ['env=prod', 'region=eu'], healthPort: '9100' },
  );
  assert.deepEqual(config.labels, { env: 'prod', region: 'eu' });
  assert.equal(config.healthPort, 9100);
  assert.throws(
    () => parseConfig({}, { labels: ['=x'] }),
    (error: unknown) => (error as ConfigError).variable === '--labels',
  );
});
