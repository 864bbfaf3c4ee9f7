import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import type { PackInstance } from '../../console/pack-directory.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { ConfigError } from '../../shared/config.ts';
import { testLogger, uniquePackName } from '../support/bus.ts';
import { eventually } from '../support/eventually.ts';
import { startTestPack } from '../support/test-pack.ts';

async function packsOf(
  console: RunningConsole,
  headers: Record<string, string> = {},
): Promise<PackInstance[]> {
  const response = await fetch(`${console.url}/api/packs`, { headers });
  assert.equal(response.status, 200);
  return ((await response.json()) as { packs: PackInstance[] }).packs;
}

describe('console without a token', () => {
  const bus = new MemoryBus();
  let console: RunningConsole;

  before(async () => {
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
    });
  });
  after(async () => {
    await console.close();
    await bus.close();
  });

  test('GET /api/packs lists a pack once it started, and as stopped once it stopped', async () => {
    const name = uniquePackName('console');
    const pack = await startTestPack(bus, { name, labels: { env: 'test' } });
    await eventually(async () => {
      const [instance] = (await packsOf(console)).filter((p) => p.name === name);
      assert.ok(instance, `${name} is not listed`);
      assert.equal(instance.instanceId, pack.instanceId);
      assert.equal(instance.state, 'running');
      assert.equal(instance.version, '0.0.1-test');
      assert.deepEqual(instance.labels, { env: 'test' });
      assert.ok(!Number.isNaN(Date.parse(instance.lastSeen)));
      assert.equal(instance.aliveIntervalMs, 30_000, 'the runtime default, as PackStarted said');
    });
    await pack.stop({ graceMs: 100, reason: 'test over' });
    await eventually(async () => {
      const [instance] = (await packsOf(console)).filter((p) => p.name === name);
      assert.equal(instance?.state, 'stopped');
      assert.equal(instance?.stopReason, 'test over');
    });
  });

  test('every response carries the security headers, errors and pages included', async () => {
    for (const path of ['/', '/api/packs', '/nothing-here', '/vendor/preact.mjs']) {
      const response = await fetch(`${console.url}${path}`);
      await response.arrayBuffer();
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, `${path}: no inline script`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(response.headers.get('referrer-policy'), 'same-origin', path);
      assert.equal(response.headers.get('x-frame-options'), 'DENY', path);
    }
  });

  test('serves the Overview page and nothing outside its files', async () => {
    const page = await fetch(`${console.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /<h1>Overview<\/h1>/);
    for (const path of [
      '/../package.json',
      '/%2e%2e/package.json',
      '/static/../console-server.ts',
      '/vendor/',
    ]) {
      const response = await fetch(`${console.url}${path}`);
      await response.arrayBuffer();
      assert.equal(response.status, 404, path);
    }
  });

  test('a body over 1 MiB gets 413', async () => {
    const response = await fetch(`${console.url}/api/packs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(1024 * 1024 + 1, 0x20),
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'body_too_large');
  });

  test('a state-changing request from another origin gets 403', async () => {
    const response = await fetch(`${console.url}/api/packs`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      body: '{}',
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'cross_origin');
  });
});

describe('console with a token', () => {
  const bus = new MemoryBus();
  const token = 'test-token-0123456789';
  let console: RunningConsole;

  before(async () => {
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0', SWITCHBOARD_CONSOLE_TOKEN: token }),
    });
  });
  after(async () => {
    await console.close();
    await bus.close();
  });

  test('pages and API calls get 401 without the token or with a wrong one', async () => {
    for (const path of ['/', '/api/packs', '/overview.js']) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${token}` }]) {
        const response = await fetch(`${console.url}${path}`, { headers });
        await response.arrayBuffer();
        assert.equal(response.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.equal(response.headers.get('x-frame-options'), 'DENY');
      }
    }
  });

  test('answers with the token', async () => {
    assert.deepEqual(await packsOf(console, { authorization: `Bearer ${token}` }), []);
    const page = await fetch(`${console.url}/`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(page.status, 200);
    await page.arrayBuffer();
  });
});

describe('console configuration', () => {
  test('defaults to 127.0.0.1:8090 without a token', () => {
    assert.deepEqual(parseConsoleConfig({}), { port: 8090, host: '127.0.0.1', token: undefined });
  });

  test('a host other than loopback without a token is refused, naming SWITCHBOARD_CONSOLE_TOKEN', () => {
    for (const host of ['0.0.0.0', '192.168.1.10', '::']) {
      assert.throws(
        () => parseConsoleConfig({ SWITCHBOARD_CONSOLE_HOST: host }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === 'SWITCHBOARD_CONSOLE_TOKEN' &&
          error.message.includes('SWITCHBOARD_CONSOLE_TOKEN'),
        host,
      );
    }
    assert.equal(
      parseConsoleConfig({ SWITCHBOARD_CONSOLE_HOST: '0.0.0.0', SWITCHBOARD_CONSOLE_TOKEN: 't' }).host,
      '0.0.0.0',
    );
    for (const host of ['localhost', '127.0.0.2', '::1']) {
      assert.equal(parseConsoleConfig({ SWITCHBOARD_CONSOLE_HOST: host }).host, host);
    }
  });

  test('a bad port names SWITCHBOARD_CONSOLE_PORT', () => {
    assert.throws(
      () => parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: 'eighty' }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'SWITCHBOARD_CONSOLE_PORT',
    );
  });
});
