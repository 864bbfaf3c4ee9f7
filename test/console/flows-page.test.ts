import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { type FlowsConsole, startFlowsConsole } from './flows-support.ts';

/** Two steps: the second continues after the first, on its result. */
const relay = JSON.stringify({
  name: 'relay',
  description: 'answers a message, then tells the on-call room it did',
  steps: [
    {
      id: 'answer',
      event: { packName: 'Slack', name: 'ReceivedMessage' },
      command: { packName: 'Slack', name: 'SendMessage', input: { message: 'hi' } },
    },
    {
      id: 'tell_oncall',
      dependsOn: ['answer'],
      event: { packName: 'Slack', name: 'SendMessageSucceeded' },
      command: { packName: 'Matrix', name: 'SendMessage', input: { message: 'answered' } },
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
    'relay.json': relay,
    'typo.json': '{"name": "typo", "steps": [{"event": {"packName": "Slack"}}]}',
  });
});
after(async () => {
  await browser?.close();
  await setup?.close();
});

test('the Flows page loads without console errors and draws the graph of a two-step flow', async () => {
  const { page, errors, screenshot } = await browser.newPage();
  await page.goto(`${setup.console.url}/flows`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Flows');

  const flow = page.locator('section[data-file="relay.json"]');
  await flow.waitFor({ timeout: 5000 });
  assert.match(
    (await flow.locator('.flow-state').textContent()) ?? '',
    /^Loaded: flow relay, version [0-9a-f]{12}$/,
  );
  const graph = flow.locator('svg.step-graph');
  assert.deepEqual(
    await graph.locator('g.step').evaluateAll((nodes) => nodes.map((node) => node.textContent)),
    [
      'answerslack.ReceivedMessage -> slack.SendMessagefired 0, failed 0',
      'tell_oncallslack.SendMessageSucceeded -> matrix.SendMessagefired 0, failed 0',
    ],
  );
  assert.deepEqual(
    await graph
      .locator('path.edge')
      .evaluateAll((edges) => edges.map((edge) => edge.getAttribute('data-edge'))),
    ['answer->tell_oncall'],
  );
  // The arrow runs from the first step's box down to the second's.
  const [first, second] = await graph
    .locator('g.step rect')
    .evaluateAll((rects) =>
      rects.map((rect) => ['y', 'height'].map((name) => Number(rect.getAttribute(name)))),
    );
  const [firstTop = 0, firstHeight = 0] = first ?? [];
  const [secondTop = 0] = second ?? [];
  assert.ok(
    firstTop + firstHeight < secondTop,
    `the second step is drawn below the first: ${first} ${second}`,
  );
  assert.match(
    (await graph.getAttribute('aria-label')) ?? '',
    /tell_oncall: slack\.SendMessageSucceeded to matrix\.SendMessage, after answer/,
  );

  // A one-step flow is one node; a refused file says why, in words.
  assert.equal(await page.locator('section[data-file="echo.json"] g.step').count(), 1);
  const refused = page.locator('section[data-file="typo.json"]');
  assert.match(
    (await refused.locator('.flow-state').textContent()) ?? '',
    /^Refused: nothing of it is in force/,
  );
  assert.match(
    (await refused.locator('.problems').textContent()) ?? '',
    /typo\.json:\/steps\/0\/event: must have required property 'name'/,
  );
  assert.equal(await refused.locator('svg').count(), 0);

  // The source is in a <details>, closed until asked for.
  const source = flow.locator('details', { hasText: 'Source of relay.json' });
  assert.equal(await source.locator('pre').isVisible(), false);
  await source.locator('summary').click();
  assert.equal(JSON.parse((await source.locator('pre').textContent()) ?? '').name, 'relay');

  await screenshot('flows');
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone`);
  assert.deepEqual(errors, []);
});
