import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');

test('`npx switchboard --help` on a fresh clone prints nothing from npm itself', async () => {
  // As typed in a shell: the machine's npm and Node (npm test puts node_modules/.bin first and exports
  // npm_* variables), and an empty npx cache, where npx first installs the project's own bin.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key)) env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => !entry.includes('node_modules'))
    .join(delimiter);
  const cache = await mkdtemp(join(tmpdir(), 'sb-npm-cache-'));
  env.npm_config_cache = cache;
  try {
    const { stdout, stderr } = await promisify(execFile)('npx', ['switchboard', '--help'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    assert.match(stdout, /^Usage: switchboard /);
    const fromNpm = stderr.split('\n').filter((line) => /^npm (warn|WARN|notice|info)\b/.test(line));
    assert.deepEqual(fromNpm, [], stderr);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});
