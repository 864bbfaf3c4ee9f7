import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { testLogger, uniquePackName } from '../support/bus.ts';
import { startTestPack } from '../support/test-pack.ts';

const bus = new MemoryBus();
const packName = uniquePackName('overview');
let console: RunningConsole;
let pack: PackRuntime;
let browser: TestBrowser;

before(async () => {
  // Launched first: the first run may install chromium, which takes a minute.
  browser = await launchBrowser();
  console = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
  });
  pack = await startTestPack(bus, { name: packName, labels: { env: 'test' } });
});

after(async () => {
  await browser?.close();
  await pack?.stop({ graceMs: 100 });
  await console?.close();
  await bus.close();
});

test('the Overview page loads without console errors and shows the running pack', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${console.url}/`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Overview');
  const row = page.locator(`tr[data-pack="${packName}"]`);
  await row.waitFor({ timeout: 5000 });
  assert.match((await row.textContent()) ?? '', /running/);
  assert.match((await row.textContent()) ?? '', /env=test/);
  await screenshot('overview');
  assert.deepEqual(errors, []);
});
