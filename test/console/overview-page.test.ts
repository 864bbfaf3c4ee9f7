import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE, routingKey } from '../../shared/bus/topology.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { testLogger, uniquePackName } from '../support/bus.ts';
import { startTestPack } from '../support/test-pack.ts';

const bus = new MemoryBus();
const packName = uniquePackName('overview');
const stoppedName = uniquePackName('stopped');
const ghostName = uniquePackName('ghost');
const crashedName = uniquePackName('crashed');
let console: RunningConsole;
let pack: PackRuntime;
let browser: TestBrowser;

const send = (pack: string, name: string, payload: unknown) =>
  bus.publish(
    { exchange: COMMANDS_EXCHANGE, routingKey: routingKey(pack, name) },
    createEnvelope({ kind: 'command', pack, name, payload }),
  );

before(async () => {
  // Launched first: the first run may install chromium, which takes a minute.
  browser = await launchBrowser();
  console = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
  });
  pack = await startTestPack(bus, { name: packName, labels: { env: 'test' } });
  // A pack that stopped: its commands wait in its queue.
  const stopped = await startTestPack(bus, { name: stoppedName });
  await stopped.stop({ graceMs: 100, reason: 'maintenance' });
  await send(stoppedName, 'Post', { channelId: 'C1', message: 'one' });
  await send(stoppedName, 'Post', { channelId: 'C1', message: 'two' });
  await send(ghostName, 'Wake', {});
  await send(packName, 'Post', { channelId: 'C1', message: 'hello' });
  await send(packName, 'Broken', {});
  // An instance last heard from ten minutes ago, with no PackStopped: it crashed.
  await bus.publish(
    { exchange: EVENTS_EXCHANGE, routingKey: routingKey(crashedName, 'PackStarted') },
    {
      ...createEnvelope({
        kind: 'event',
        pack: crashedName,
        name: 'PackStarted',
        payload: {
          name: crashedName,
          instanceId: 'crashed-1',
          version: '1.0.0',
          labels: {},
          aliveIntervalMs: 30_000,
        },
      }),
      createdAt: new Date(Date.now() - 600_000).toISOString(),
    },
  );
});

after(async () => {
  await browser?.close();
  await pack?.stop({ graceMs: 100 });
  await console?.close();
  await bus.close();
});

test('the Overview page loads without console errors and shows the running pack', async () => {
  const { page, errors } = await browser.newPage();
  await page.goto(`${console.url}/`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Overview');
  const row = page.locator(`tr[data-pack="${packName}"]`);
  await row.waitFor({ timeout: 5000 });
  assert.match((await row.textContent()) ?? '', /running/);
  assert.match((await row.textContent()) ?? '', /env=test/);
  const stopped = page.locator(`tr[data-pack="${stoppedName}"]`);
  assert.match((await stopped.textContent()) ?? '', /stopped \(maintenance\)/);
  const crashed = page.locator(`tr[data-pack="${crashedName}"]`);
  assert.match(
    (await crashed.textContent()) ?? '',
    /silent: not heard from since .*\(10 min ago; it says it is alive every 30 s\)/,
  );
  assert.deepEqual(errors, []);
});

test("the Overview shows queue depths, what waits, the last hour's chart and the latest failure", async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${console.url}/`);
  const queue = page.locator(`tr[data-queue="${stoppedName}"]`);
  await queue.waitFor({ timeout: 5000 });
  const cells = await queue.locator('td').allTextContents();
  assert.deepEqual(cells.slice(0, 3), [`switchboard.pack.${stoppedName}`, '2', '0']);
  assert.match(cells[3] ?? '', /no consumer/);

  const waiting = page.locator(`tr[data-waiting="${ghostName}.Wake"]`);
  assert.match((await waiting.textContent()) ?? '', /1/);

  const failure = page.locator(`tr[data-failure="${packName}"]`);
  await failure.waitFor({ timeout: 5000 });
  const failureText = (await failure.textContent()) ?? '';
  assert.match(failureText, /BrokenFailed/);
  assert.match(failureText, /not_found/);
  assert.match(failureText, /channel C404 does not exist/);

  // uPlot drew its canvas, and the counts are said in words too.
  await page.locator('.chart canvas').first().waitFor({ timeout: 5000 });
  assert.match((await page.locator('.chart .u-legend').textContent()) ?? '', /Events.*Commands.*Failures/s);
  const summary = (await page.locator('#activity-summary').textContent()) ?? '';
  assert.match(summary, /In the last hour: \d+ events?, \d+ commands?, [1-9]\d* failures?/);
  await page.getByText('The counts per minute, as a table').click();
  assert.ok((await page.locator('details table tbody tr').count()) >= 1, 'a minute with traffic');

  await screenshot('overview');
  assert.deepEqual(errors, []);
});

test('at phone width the page does not scroll sideways: the tables do', async () => {
  const { page, errors } = await browser.newPage();
  await page.setViewportSize({ width: 375, height: 800 });
  await page.goto(`${console.url}/`);
  await page.locator(`tr[data-queue="${stoppedName}"]`).waitFor({ timeout: 5000 });
  await page.locator('.chart canvas').first().waitFor({ timeout: 5000 });
  const width = await page.evaluate<number>('document.documentElement.scrollWidth');
  assert.ok(width <= 375, `the page is ${width} px wide`);
  assert.deepEqual(errors, []);
});
