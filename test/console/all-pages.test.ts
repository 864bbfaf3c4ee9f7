// Every console page, with real content (an engine, flows, executions, a failure), at desktop and at phone
// width: loads without console errors, explains itself, can be used with the keyboard.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { type ConsoleSite, SITE_PACK, startConsoleSite } from '../support/console-site.ts';

const PAGES = [
  { path: '/', name: 'overview', title: 'Overview' },
  { path: '/flows', name: 'flows', title: 'Flows' },
  { path: '/live', name: 'live', title: 'Live' },
  { path: '/executions', name: 'executions', title: 'Executions' },
  { path: '/dead-letters', name: 'dead-letters', title: 'Dead letters' },
  { path: '/try', name: 'try', title: 'Try' },
  { path: '/send', name: 'send', title: 'Send' },
];

let site: ConsoleSite;
let browser: TestBrowser;

before(async () => {
  browser = await launchBrowser();
  site = await startConsoleSite();
  await site.publishEvent(SITE_PACK, 'Observed', { what: 'a deployment' });
  await site.publishEvent(SITE_PACK, 'Observed', { what: 'trouble' });
  await site.publishEvent('slack', 'ReceivedMessage', {
    channelId: 'C1',
    user: { id: 'U1' },
    message: 'echo hi',
  });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

for (const { path, name, title } of PAGES) {
  test(`${title}: loads without errors, names itself, and marks itself in the navigation`, async () => {
    const { page, errors, screenshot } = await browser.newPage();
    await page.goto(`${site.console.url}${path}`);
    assert.equal((await page.getByRole('heading', { level: 1 }).textContent())?.trim(), title);
    const intro = page.locator('main > h1 + p');
    assert.ok(
      ((await intro.textContent()) ?? '').length > 40,
      'a paragraph under the heading explains the page',
    );
    const current = page.locator('nav a[aria-current="page"]');
    assert.equal(await current.count(), 1);
    assert.equal((await current.textContent())?.trim(), title);
    await sleep(500); // what the page fetches after load
    await screenshot(`page-${name}`);
    assert.deepEqual(errors, []);
  });

  test(`${title}: fits a phone's width and every control has a name`, async () => {
    const { page, errors, screenshot } = await browser.newPage();
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${site.console.url}${path}`);
    await sleep(500);
    // Strings, not functions: they run in the page, and this project's TypeScript has no DOM types.
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px at 375 px`);
    const unnamed = await page.evaluate<string[]>(`
      [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter((control) => !(
          control.labels?.length > 0 ||
          control.getAttribute('aria-label') ||
          control.getAttribute('aria-labelledby') ||
          (control.tagName === 'BUTTON' && control.textContent.trim())
        ))
        .map((control) => control.outerHTML.slice(0, 120))
    `);
    assert.deepEqual(unnamed, [], 'controls without a label');
    await screenshot(`page-${name}-phone`);
    assert.deepEqual(errors, []);
  });

  test(`${title}: the keyboard reaches the page past the navigation`, async () => {
    const { page } = await browser.newPage();
    await page.goto(`${site.console.url}${path}`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate<string>('document.activeElement?.textContent'), 'Skip to the page');
    await page.keyboard.press('Enter');
    // Following a fragment link is not instant: poll for it rather than read the address at once.
    const deadline = Date.now() + 2000;
    while (!page.url().endsWith('#main') && Date.now() < deadline) await sleep(20);
    assert.match(page.url(), /#main$/);
  });
}
