import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parseEngineConfig } from '../../engine/engine-config.ts';
import { ConfigError } from '../../shared/config.ts';

test('the engine settings default as documented', () => {
  const config = parseEngineConfig({});
  assert.equal(config.flowsDir, resolve('./flows'));
  assert.equal(config.dataDir, resolve('./.switchboard'));
  assert.equal(config.prefetch, 500);
  assert.equal(config.executionTimeoutMs, 300_000);
  assert.equal(config.queue, 'switchboard.engine');
});

test('flags win over the environment; SWITCHBOARD_ENGINE_QUEUE names the queue', () => {
  const config = parseEngineConfig(
    { SWITCHBOARD_FLOWS_DIR: '/env/flows', SWITCHBOARD_ENGINE_QUEUE: 'switchboard.engine.staging' },
    { flows: '/flag/flows' },
  );
  assert.equal(config.flowsDir, '/flag/flows');
  assert.equal(config.queue, 'switchboard.engine.staging');
});

test('a queue name RabbitMQ would refuse is reported naming SWITCHBOARD_ENGINE_QUEUE', () => {
  for (const name of ['amq.engine', 'x'.repeat(256)]) {
    assert.throws(
      () => parseEngineConfig({ SWITCHBOARD_ENGINE_QUEUE: name }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'SWITCHBOARD_ENGINE_QUEUE',
    );
  }
});
