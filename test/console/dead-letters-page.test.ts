import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, DEAD_LETTER_QUEUE } from '../../shared/bus/topology.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { testLogger, uniquePackName } from '../support/bus.ts';
import { startTestPack } from '../support/test-pack.ts';

const bus = new MemoryBus();
let console: RunningConsole;
let browser: TestBrowser;

before(async () => {
  // Launched first: the first run may install chromium, which takes a minute.
  browser = await launchBrowser();
  console = await startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
  });
});

after(async () => {
  await browser?.close();
  await console?.close();
  await bus.close();
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a garbage message dead-lettered, then requeued from the page after confirming, is gone, then delivered again', async () => {
  const packName = uniquePackName('garbage');
  let pack = await startTestPack(bus, { name: packName });
  bus.publishRaw(
    { exchange: COMMANDS_EXCHANGE, routingKey: `${packName}.Post` },
    Buffer.from('{"not": json'),
  );
  await until(() => bus.peek(DEAD_LETTER_QUEUE).length === 1);
  // Stopped, so that the requeued message waits in the pack's queue, out of the dead letters, until it starts.
  await pack.stop({ graceMs: 100 });

  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${console.url}/dead-letters`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Dead letters');
  const row = page.locator('tr[data-letter-id]');
  await row.waitFor({ timeout: 5000 });
  assert.match((await row.textContent()) ?? '', /body is not JSON/);
  assert.match((await row.textContent()) ?? '', new RegExp(`${packName}\\.Post`));
  assert.match((await row.textContent()) ?? '', /not valid JSON/, 'said in words, not only shown');

  await row.getByRole('button', { name: /Details/ }).click();
  const details = page.locator('tr.details');
  assert.match((await details.textContent()) ?? '', /x-switchboard-reason/);
  assert.match((await details.textContent()) ?? '', /\{"not": json/);

  await row.getByRole('button', { name: /Requeue/ }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match((await dialog.textContent()) ?? '', /Requeue this letter\?/);
  assert.match(
    (await dialog.textContent()) ?? '',
    new RegExp(`1 letter goes back to ${packName}\\.Post on switchboard\\.commands`),
  );
  await dialog.getByRole('button', { name: 'Requeue 1 letter' }).click();

  await page
    .getByRole('status')
    .filter({ hasText: /Requeued 1 letter/ })
    .waitFor({ timeout: 5000 });
  await page.getByText('No dead letters').waitFor({ timeout: 5000 });
  assert.equal(bus.peek(DEAD_LETTER_QUEUE).length, 0, 'gone from switchboard.dead');
  assert.equal((await bus.inspectQueue(`switchboard.pack.${packName}`))?.messages, 1, 'back in its queue');

  // Delivered again once the pack runs: garbage still, so refused again, and back here saying so.
  pack = await startTestPack(bus, { name: packName });
  await until(() => bus.peek(DEAD_LETTER_QUEUE).length === 1);
  await page.getByRole('button', { name: 'Refresh' }).click();
  await row.filter({ hasText: /requeued before, at/ }).waitFor({ timeout: 5000 });
  // The same bytes, refused for the same reason: the same letter id, so its details are still open.
  await details.filter({ hasText: /x-switchboard-requeued-at/ }).waitFor();
  await screenshot('dead-letters');
  assert.deepEqual(errors, []);
  await pack.stop({ graceMs: 100 });
  await bus.deadLetters().discard((await bus.deadLetters().list()).letters[0]?.id ?? '');
});

test('Discard all asks first, naming how many; cancelled, nothing changes; confirmed, the page is empty', async () => {
  for (const text of ['one', 'two', 'three']) {
    await bus.declareQueue(DEAD_LETTER_QUEUE, []);
    bus.publishRaw({ queue: DEAD_LETTER_QUEUE }, Buffer.from(text));
  }
  const { page, errors, screenshot } = await browser.newPage();
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto(`${console.url}/dead-letters`);
  await page.locator('tr[data-letter-id]').nth(2).waitFor({ timeout: 5000 });
  assert.match(
    (await page.locator('#dead-letter-summary').textContent()) ?? '',
    /3 letters in switchboard\.dead/,
  );
  const overflow = await page.evaluate<number>(
    'document.documentElement.scrollWidth - document.documentElement.clientWidth',
  );
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px at 375 px`);
  await screenshot('dead-letters-phone');
  assert.equal(
    await page.getByRole('button', { name: /Requeue all/ }).isDisabled(),
    true,
    'none says where it was going',
  );

  await page.getByRole('button', { name: 'Discard all (3)…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await screenshot('dead-letters-confirm');
  assert.match((await dialog.textContent()) ?? '', /Discard 3 letters\?/);
  assert.match((await dialog.textContent()) ?? '', /deleted from switchboard\.dead for good/);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.locator('tr[data-letter-id]').count(), 3);
  assert.equal(bus.peek(DEAD_LETTER_QUEUE).length, 3);

  await page.getByRole('button', { name: 'Discard all (3)…' }).click();
  await dialog.getByRole('button', { name: 'Discard 3 letters' }).click();
  await page.getByText('No dead letters').waitFor({ timeout: 5000 });
  assert.match((await page.getByRole('status').textContent()) ?? '', /Discarded 3 letters/);
  assert.equal(bus.peek(DEAD_LETTER_QUEUE).length, 0);
  assert.deepEqual(errors, []);
});
