import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { COMMANDS_EXCHANGE, EVENTS_EXCHANGE } from '../../shared/bus/topology.ts';
import { createEnvelope, type Envelope, type MessageKind } from '../../shared/envelope.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { testLogger, uniquePackName } from '../support/bus.ts';

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

async function publish(fields: {
  kind?: MessageKind;
  pack: string;
  name: string;
  correlationId?: string;
  payload?: unknown;
}): Promise<Envelope> {
  const envelope = createEnvelope({ kind: 'event', payload: {}, ...fields });
  const exchange = envelope.kind === 'event' ? EVENTS_EXCHANGE : COMMANDS_EXCHANGE;
  await bus.publish({ exchange, routingKey: `${envelope.pack}.${envelope.name}` }, envelope);
  return envelope;
}

test('Live shows what passes on the bus within 2 s, filters it, pauses, and opens an envelope', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${console.url}/live`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Live');
  const status = page.getByRole('status').filter({ hasText: /Connected|Connecting|reconnecting/ });
  await status.getByText('Connected: receiving every message.').waitFor({ timeout: 5000 });
  assert.match((await page.locator('main').textContent()) ?? '', /Nothing has passed yet/);

  const pack = uniquePackName('live');
  const event = await publish({
    pack,
    name: 'ReceivedMessage',
    correlationId: 'corr-1',
    payload: { channelId: 'C024BE91L', message: 'echo hi' },
  });
  const row = page.locator(`tr[data-id="${event.id}"]`);
  await row.waitFor({ timeout: 2000 });
  const cells = await row.locator('td').allTextContents();
  assert.match(cells[0] ?? '', /^\d\d:\d\d:\d\d\.\d{3}$/, 'time');
  assert.match(cells[1] ?? '', /event/, 'kind, in words');
  assert.equal(cells[2]?.trim(), `${pack}.ReceivedMessage`);
  assert.equal(cells[3]?.trim(), 'corr-1');
  const command = await publish({ kind: 'command', pack, name: 'SendMessage', payload: { message: 'hi' } });
  const commandRow = page.locator(`tr[data-id="${command.id}"]`);
  await commandRow.waitFor({ timeout: 2000 });
  assert.match((await commandRow.locator('td').nth(1).textContent()) ?? '', /command/);
  // Newest on top.
  assert.equal(await page.locator('tbody tr').first().getAttribute('data-id'), command.id);

  // Clicking a row shows its whole envelope; Enter on another row's button shows that one.
  await row.click();
  const detail = page.locator('.live-detail');
  await detail.locator('pre').waitFor();
  assert.deepEqual(JSON.parse((await detail.locator('pre').textContent()) ?? ''), event);
  assert.match((await detail.textContent()) ?? '', new RegExp(`${pack}\\.ReceivedMessage`));
  await commandRow.getByRole('button').focus();
  await page.keyboard.press('Enter');
  await detail.getByText('"SendMessage"', { exact: false }).waitFor({ timeout: 2000 });
  assert.deepEqual(JSON.parse((await detail.locator('pre').textContent()) ?? ''), command);
  await screenshot('live');

  // A filter reconnects; what does not match is neither kept from before nor shown from now on.
  const other = uniquePackName('other');
  await page.getByLabel('Pack').fill(pack);
  await status.getByText(`Connected: receiving messages with pack = ${pack}.`).waitFor({ timeout: 5000 });
  assert.equal(new URL(page.url()).searchParams.get('pack'), pack, 'the filter is in the address, to share');
  const hidden = await publish({ pack: other, name: 'ReceivedMessage' });
  const shown = await publish({ pack, name: 'ReceivedMessage', correlationId: 'corr-2' });
  await page.locator(`tr[data-id="${shown.id}"]`).waitFor({ timeout: 2000 });
  assert.equal(await page.locator(`tr[data-id="${hidden.id}"]`).count(), 0, 'the other pack is shown');
  assert.equal(await page.locator(`tbody tr:not([data-pack="${pack}"])`).count(), 0);

  await page.getByLabel('Kind').selectOption('command');
  await status.getByText(`kind = command`, { exact: false }).waitFor({ timeout: 5000 });
  assert.equal(
    await page.locator(`tr[data-id="${event.id}"]`).count(),
    0,
    'an event is shown under kind=command',
  );
  assert.equal(await commandRow.count(), 1);
  await page.getByLabel('Kind').selectOption('');
  await status.getByText(`Connected: receiving messages with pack = ${pack}.`).waitFor({ timeout: 5000 });

  // Paused, new messages are counted but the list stays as it is; Resume shows them.
  await page.getByRole('button', { name: 'Pause' }).click();
  const held = await publish({ pack, name: 'ReceivedMessage', correlationId: 'corr-3' });
  await page.getByText('1 new').waitFor({ timeout: 2000 });
  assert.equal(await page.locator(`tr[data-id="${held.id}"]`).count(), 0, 'the paused list moved');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator(`tr[data-id="${held.id}"]`).waitFor({ timeout: 2000 });
  assert.equal(await page.locator('tbody tr').first().getAttribute('data-id'), held.id);

  // Phone width: nothing but the table scrolls sideways.
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth');
  assert.ok(overflow <= 375, `the page is ${overflow} px wide at 375 px`);
  // There the envelope is below the list: choosing a row brings it into view.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.locator(`tr[data-id="${held.id}"] button`).click();
  await detail.getByText('"corr-3"', { exact: false }).waitFor({ timeout: 2000 });
  const top = await detail.locator('pre').evaluate((element) => element.getBoundingClientRect().top);
  assert.ok(top >= 0 && top < 800, `the envelope is at ${top} px, out of view`);
  await screenshot('live-phone');
  assert.deepEqual(errors, []);
});

test('Live opened with filters in its address applies them', async () => {
  const { page, errors } = await browser.newPage();
  const pack = uniquePackName('linked');
  await page.goto(`${console.url}/live?pack=${pack}&kind=event`);
  assert.equal(await page.getByLabel('Pack').inputValue(), pack);
  assert.equal(await page.getByLabel('Kind').inputValue(), 'event');
  await page.getByText(`Connected: receiving messages with pack = ${pack} and kind = event.`).waitFor({
    timeout: 5000,
  });
  const event = await publish({ pack, name: 'Observed' });
  await page.locator(`tr[data-id="${event.id}"]`).waitFor({ timeout: 2000 });
  assert.deepEqual(errors, []);
});
