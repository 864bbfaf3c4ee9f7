import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../../shared/observability/logger.ts';
import { redactUrl } from '../../../shared/observability/redact.ts';

test('tokens, passwords and authorization headers never reach the log', async () => {
  let output = '';
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      output += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level: 'info', name: 'test', destination });
  logger.info(
    {
      config: { token: 'xoxb-secret-token', password: 'hunter2', amqpUrl: 'amqp://u:pw@host' },
      request: { headers: { authorization: 'Bearer abc123', 'content-type': 'application/json' } },
    },
    'starting',
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.match(output, /"msg":"starting"/);
  for (const secret of ['xoxb-secret-token', 'hunter2', 'Bearer abc123', 'u:pw@']) {
    assert.ok(!output.includes(secret), `${secret} was logged: ${output}`);
  }
  assert.match(output, /application\/json/, 'harmless fields stay');
});

test('broker URLs are logged without their password', () => {
  assert.equal(
    redactUrl('amqp://switchboard:s3cret@rabbit:5672/vhost'),
    'amqp://switchboard:***@rabbit:5672/vhost',
  );
  assert.equal(redactUrl('amqp://localhost'), 'amqp://localhost');
});
