import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  LOG_FORMATS,
  type LogFormat,
  resolveLogFormat,
} from '../../../shared/observability/logger.ts';
import { redactUrl } from '../../../shared/observability/redact.ts';

/** A logger writing to a string, and the lines it wrote so far. */
function capture(format: LogFormat | undefined) {
  let output = '';
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      output += chunk.toString();
      callback();
    },
  });
  const logger = createLogger({ level: 'info', name: 'test', destination, format });
  return {
    logger,
    lines: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return output.split('\n').filter((line) => line !== '');
    },
  };
}

for (const format of LOG_FORMATS) {
  test(`tokens, passwords and authorization headers never reach the log (${format})`, async () => {
    const { logger, lines } = capture(format);
    logger.info(
      {
        config: { token: 'xoxb-secret-token', password: 'hunter2', amqpUrl: 'amqp://u:pw@host' },
        request: { headers: { authorization: 'Bearer abc123', 'content-type': 'application/json' } },
      },
      'starting',
    );
    const output = (await lines()).join('\n');
    assert.match(output, /starting/);
    for (const secret of ['xoxb-secret-token', 'hunter2', 'Bearer abc123', 'u:pw@']) {
      assert.ok(!output.includes(secret), `${secret} was logged: ${output}`);
    }
    assert.match(output, /\[redacted\]/);
    assert.match(output, /application\/json/, 'harmless fields stay');
  });
}

test('pretty: one readable line a record, with its level, logger name, message and fields', async () => {
  const { logger, lines } = capture('pretty');
  logger.info({ pack: 'slack', settings: ['SLACK_BOT_TOKEN'] }, 'pack slack is not configured');
  logger.warn('no flows directory');
  const [first, second, ...rest] = await lines();
  assert.deepEqual(rest, []);
  assert.match(
    first ?? '',
    /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(test\): pack slack is not configured \{"pack":"slack","settings":\["SLACK_BOT_TOKEN"\]\}$/,
  );
  assert.match(second ?? '', /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(test\): no flows directory$/);
});

test('json: one JSON object a line, with the fields of today', async () => {
  for (const format of ['json', undefined] as const) {
    const { logger, lines } = capture(format);
    logger.info({ pack: 'slack' }, 'pack started');
    const [line, ...rest] = await lines();
    assert.deepEqual(rest, []);
    const record = JSON.parse(line ?? '');
    assert.deepEqual(Object.keys(record), ['level', 'time', 'pid', 'hostname', 'name', 'pack', 'msg']);
    assert.equal(record.level, 30);
    assert.equal(record.msg, 'pack started');
    assert.match(record.time, /^\d{4}-\d\d-\d\dT/);
  }
});

test('LOG_FORMAT unset: pretty at a terminal, JSON into a pipe or a file; set, it wins', () => {
  assert.equal(resolveLogFormat(undefined, true), 'pretty');
  assert.equal(resolveLogFormat(undefined, false), 'json');
  assert.equal(resolveLogFormat(undefined, undefined), 'json');
  assert.equal(resolveLogFormat('json', true), 'json');
  assert.equal(resolveLogFormat('pretty', false), 'pretty');
});

test('pretty lines on stderr are all written when the process exits right after logging', () => {
  const logger = fileURLToPath(new URL('../../../shared/observability/logger.ts', import.meta.url));
  const child = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '--eval',
      `import { createLogger } from ${JSON.stringify(logger)};
       const logger = createLogger({ level: 'info', name: 'exiting', format: 'pretty' });
       for (let i = 0; i < 100; i++) logger.info({ i, config: { password: 'hunter2' } }, 'line');
       process.exit(3);`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(child.status, 3, child.stderr);
  const lines = child.stderr.trim().split('\n');
  assert.equal(lines.length, 100, child.stderr);
  assert.match(lines[99] ?? '', /INFO \(exiting\): line \{"i":99,"config":\{"password":"\[redacted\]"\}\}$/);
  assert.equal(child.stdout, '');
});

test('broker URLs are logged without their password', () => {
  assert.equal(
    redactUrl('amqp://switchboard:s3cret@rabbit:5672/vhost'),
    'amqp://switchboard:***@rabbit:5672/vhost',
  );
  assert.equal(redactUrl('amqp://localhost'), 'amqp://localhost');
});
