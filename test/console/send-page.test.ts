import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import type { PackRuntime } from '../../shared/runtime/pack-runtime.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { EventCollector, testLogger, uniquePackName } from '../support/bus.ts';
import { FakeOutsideSystem, startTestPack } from '../support/test-pack.ts';

const bus = new MemoryBus();
const packName = uniquePackName('send');
const outside = new FakeOutsideSystem();
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
  const announced = await EventCollector.start(bus, `${packName}.PackStarted`);
  pack = await startTestPack(bus, { name: packName, outside });
  await announced.waitFor(() => true);
  await announced.stop();
});

after(async () => {
  await browser?.close();
  await pack?.stop({ graceMs: 100 });
  await console?.close();
  await bus.close();
});

/**
 * The page's errors, less chromium's own line for the 422 the API answers a failure or a refused payload
 * with (it logs every 4xx a fetch receives, though the page handles it): any other error still fails.
 */
const unexpected = (errors: string[], path: string) =>
  errors.filter((error) => !(error.includes('status of 422') && error.includes(path)));

async function openCommand(command: string, options: { width?: number } = {}) {
  const opened = await browser.newPage();
  if (options.width) await opened.page.setViewportSize({ width: options.width, height: 800 });
  await opened.page.goto(`${console.url}/send?pack=${packName}&command=${command}`);
  await opened.page
    .getByRole('heading', { level: 2, name: `${packName}.${command}` })
    .waitFor({ timeout: 5000 });
  return opened;
}

test('a command sent from Send, showing its result', async () => {
  const { page, errors, screenshot } = await openCommand('Post');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Send');
  assert.equal(await page.getByLabel('Pack').inputValue(), packName);
  assert.match((await page.locator('label[for="field-channelId"]').textContent()) ?? '', /required/);
  await page.getByLabel('channelId').fill('C42');
  await page.getByLabel('message').fill('sent from the Send page');
  await page.getByRole('button', { name: 'Send Post' }).click();
  const outcome = page.locator('[data-outcome="success"]');
  await outcome.waitFor({ timeout: 5000 });
  assert.match((await outcome.textContent()) ?? '', /Succeeded.*answered with Posted/s);
  assert.match((await outcome.locator('pre').textContent()) ?? '', /"message": "sent from the Send page"/);
  assert.deepEqual(
    outside.posts.filter((post) => post.channelId === 'C42').map((post) => post.message),
    ['sent from the Send page'],
  );
  await screenshot('send');
  assert.deepEqual(errors, []);
});

test('a failure shows its error code and reason in words', async () => {
  const { page, errors } = await openCommand('Broken');
  // Broken's schema lists no fields: its payload is written as JSON.
  assert.equal(await page.getByLabel('Payload (JSON)').inputValue(), '{}');
  await page.getByRole('button', { name: 'Send Broken' }).click();
  const outcome = page.locator('[data-outcome="failure"]');
  await outcome.waitFor({ timeout: 5000 });
  const text = (await outcome.textContent()) ?? '';
  assert.match(text, /Failed/);
  assert.match(text, /BrokenFailed: error code\s*not_found, because: channel C404 does not exist/);
  assert.deepEqual(unexpected(errors, `/api/commands/${packName}/Broken`), []);
});

test('a payload the schema refuses is not sent, and the page marks the field it names', async () => {
  const { page, errors } = await openCommand('Post');
  await page.getByLabel('message').fill('no channel');
  await page.getByRole('button', { name: 'Send Post' }).click();
  const outcome = page.locator('[data-outcome="refused"]');
  await outcome.waitFor({ timeout: 5000 });
  assert.match((await outcome.textContent()) ?? '', /must have the field "channelId".*invalid_input/s);
  assert.equal(await page.getByLabel('channelId').getAttribute('aria-invalid'), 'true');
  assert.deepEqual(unexpected(errors, `/api/commands/${packName}/Post`), []);
});

test('number fields send numbers, and the raw JSON toggle carries over what the form holds', async () => {
  const { page, errors } = await openCommand('Flaky');
  await page.getByLabel('failures').fill('0');
  await page.getByLabel('Write the payload as raw JSON').check();
  assert.deepEqual(JSON.parse(await page.getByLabel('Payload (JSON)').inputValue()), { failures: 0 });
  await page.getByRole('button', { name: 'Send Flaky' }).click();
  const outcome = page.locator('[data-outcome="success"]');
  await outcome.waitFor({ timeout: 5000 });
  assert.match((await outcome.textContent()) ?? '', /FlakySucceeded/);
  assert.deepEqual(errors, []);
});

test('at phone width the form fits: nothing scrolls sideways but the result', async () => {
  const { page, errors, screenshot } = await openCommand('Post', { width: 375 });
  const overflow = await page.evaluate<number>(
    'document.documentElement.scrollWidth - document.documentElement.clientWidth',
  );
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px`);
  await screenshot('send-phone');
  assert.deepEqual(errors, []);
});

test('with no pack announced, the page says what would fill it', async () => {
  const emptyBus = new MemoryBus();
  const empty = await startConsole({
    bus: emptyBus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
  });
  try {
    const { page, errors } = await browser.newPage();
    await page.goto(`${empty.url}/send`);
    await page.getByText('No pack has announced its commands to this console yet').waitFor({ timeout: 5000 });
    assert.deepEqual(errors, []);
  } finally {
    await empty.close();
    await emptyBus.close();
  }
});
