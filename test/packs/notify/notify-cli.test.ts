import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerUrl } from '../../support/bus.ts';
import { runCli } from '../../support/processes.ts';

test('`switchboard pack notify --audiences FILE` reads that file: a directory that does not exist stops it, named', async () => {
  const { code, stdout, stderr } = await runCli(
    ['pack', 'notify', '--audiences', '/nonexistent-sb-dir/audiences.json'],
    {
      ...process.env,
      AMQP_URL: brokerUrl(),
    },
  );
  assert.equal(code, 1, stdout + stderr);
  assert.match(stdout + stderr, /nonexistent-sb-dir/);
});
