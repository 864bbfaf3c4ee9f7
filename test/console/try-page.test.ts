import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { uniquePackName } from '../support/bus.ts';
import { startTestPack } from '../support/test-pack.ts';
import { eventually, type FlowsConsole, startFlowsConsole } from './flows-support.ts';

const pack = uniquePackName('trypage');
const posting = JSON.stringify({
  name: 'posting',
  steps: [
    {
      id: 'post',
      event: { packName: pack, name: 'Observed' },
      command: {
        packName: pack,
        name: 'Post',
        input: { channelId: 'C1', message: '{{ Event.Payload.text }}' },
      },
    },
  ],
});

let browser: TestBrowser;
let setup: FlowsConsole;
before(async () => {
  // Launched first: the first run may install chromium, which takes a minute.
  browser = await launchBrowser();
  setup = await startFlowsConsole({
    'echo.json': readFileSync('flows/echo.json', 'utf8'),
    'announce_builds.json': readFileSync('flows/announce_builds.json', 'utf8'),
    'posting.json': posting,
  });
});
after(async () => {
  await browser?.close();
  await setup?.close();
});

test('the echo sample dry-run in Try, showing the rendered command', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${setup.console.url}/try`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Try');
  const event = page.getByLabel('Event (JSON');
  // The first sample is the echo message, filled in once the samples are loaded.
  await eventually(async () => assert.match(await event.inputValue(), /"message": "echo hello"/));
  assert.equal(await page.getByLabel('Sample event').inputValue(), 'slack-echo');

  await page.getByRole('button', { name: 'Dry run' }).click();
  const echo = page.locator('section[data-flow="echo"]');
  await echo.waitFor({ timeout: 5000 });
  const step = echo.locator('li[data-step="get_message"]');
  assert.match((await step.textContent()) ?? '', /fired: it would send slack\.SendMessage/);
  assert.deepEqual(JSON.parse((await step.locator('pre.command').textContent()) ?? ''), {
    pack: 'slack',
    name: 'SendMessage',
    payload: { channelId: 'C0123ECHO', message: '<@U0123ADA>, you said:\n>>> hello' },
  });
  // The other flows say why they did not fire, in words.
  const other = page.locator('section[data-flow="posting"] li[data-step="post"]');
  assert.match(
    (await other.textContent()) ?? '',
    /not fired, because the event did not match \(its pack\): the step listens to pack/,
  );
  await screenshot('try');

  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone`);
  assert.deepEqual(errors, []);
});

test('another sample, a bad event, and publishing for real after a confirmation, linked to its execution', async () => {
  const testPack = await startTestPack(setup.bus, { name: pack });
  try {
    const { page, errors } = await browser.newPage();
    await page.goto(`${setup.console.url}/try`);
    const event = page.getByLabel('Event (JSON');
    await eventually(async () => assert.match(await event.inputValue(), /echo hello/));

    await page.getByLabel('Sample event').selectOption('jobserv-build-67');
    await page.getByRole('button', { name: 'Use this sample' }).click();
    assert.match(await event.inputValue(), /"buildId": "67"/);
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page
      .locator('section[data-flow="announce_builds"] li[data-step="announce_build"] pre.command')
      .waitFor();

    await event.fill('{"pack": "slack", "payload": {}}');
    await page.getByRole('button', { name: 'Dry run' }).click();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /not a valid envelope: .*name/);

    await event.fill(JSON.stringify({ pack, name: 'Observed', payload: { text: 'from Try' } }));
    const dialogs: string[] = [];
    page.once('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.getByRole('button', { name: 'Publish for real' }).click();
    assert.match(dialogs[0] ?? '', new RegExp(`Publish ${pack}\\.Observed on the bus for real\\?`));
    assert.equal(await page.locator('.published').count(), 0, 'dismissed: nothing is published');

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Publish for real' }).click();
    const link = page.getByRole('link', { name: 'Execution of flow posting (step post)' });
    await link.waitFor({ timeout: 5000 });
    const correlationId =
      new URL((await link.getAttribute('href')) ?? '', setup.console.url).searchParams.get('instance') ?? '';
    await eventually(async () => {
      const [execution] = setup.store.executionsOf(correlationId);
      assert.equal(execution?.status, 'succeeded');
    });
    // Chromium logs every 4xx answer to fetch as an error: the bad event's 422 is the only one.
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0] ?? '', /status of 422 .*\/api\/flows\/test/);
  } finally {
    await testPack.stop({ graceMs: 100 });
  }
});
