import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import type { FlowEngine } from '../../engine/engine.ts';
import { FlowDirectory } from '../../engine/flows/flow-directory.ts';
import { EngineStore } from '../../engine/state/engine-store.ts';
import { TemplateEngine } from '../../engine/templates/template-engine.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { EVENTS_EXCHANGE } from '../../shared/bus/topology.ts';
import { createEnvelope } from '../../shared/envelope.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { testLogger } from '../support/bus.ts';
import { createTestEngine } from '../support/engine.ts';
import { whenDefined } from '../support/eventually.ts';
import { EchoSlack } from './echo-slack.ts';

const FLOWS_DIR = new URL('../../flows', import.meta.url).pathname;

/**
 * Polls from the test, not in the page: page.waitForFunction evaluates its predicate with eval when it
 * has to poll, which the console's CSP (no unsafe-eval) refuses.
 */
async function waitForRows(rows: Locator, count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await rows.count()) !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} rows, found ${await rows.count()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let browser: TestBrowser;
before(async () => {
  // Launched first: the first run may install chromium, which takes a minute.
  browser = await launchBrowser();
});
after(() => browser?.close());

describe('the Executions page with an engine running the echo flow', () => {
  const bus = new MemoryBus();
  const store = EngineStore.open(':memory:');
  let flows: FlowDirectory;
  let engine: FlowEngine;
  let console: RunningConsole;
  let slack: EchoSlack;

  /** Publishes a Slack message; resolves with the echo's execution once the pack answered it. */
  const echo = async (message: string) => {
    const event = createEnvelope({
      kind: 'event',
      pack: 'slack',
      name: 'ReceivedMessage',
      payload: { channelId: 'C1', user: { id: 'U1' }, message },
    });
    await bus.publish({ exchange: EVENTS_EXCHANGE, routingKey: 'slack.ReceivedMessage' }, event);
    return whenDefined(
      () =>
        store
          .listExecutions({ limit: 500 })
          .find((execution) => execution.triggerEvent.id === event.id && execution.status !== 'pending'),
      `the echo of "${message}"`,
    );
  };

  before(async () => {
    const templates = new TemplateEngine({ datastore: (key) => store.datastoreGet(key) });
    flows = await FlowDirectory.open({ dir: FLOWS_DIR, watch: false });
    engine = createTestEngine(bus, store, [...flows.flows()]);
    await engine.start();
    slack = await EchoSlack.start(bus, { holdRetries: true });
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
      engine: { store, flows, templates, flowsDir: FLOWS_DIR },
    });
  });
  after(async () => {
    await console?.close();
    await engine?.stop();
    await flows?.close();
    store.close();
    await bus.close();
  });

  test("the echo flow's execution is listed, and opens as a timeline of its trigger, context, command and result", async () => {
    const execution = await echo('echo hello from the page');
    const { page, errors, screenshot } = await browser.newPage();
    await page.goto(`${console.url}/executions`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Executions');
    const row = page.locator(`tr[data-execution="${execution.id}"]`);
    await row.waitFor({ timeout: 5000 });
    const text = (await row.textContent()) ?? '';
    assert.match(text, /succeeded/);
    assert.match(text, /echo · get_message/);
    assert.match(text, /slack\.SendMessage/);
    await screenshot('executions');

    await row.getByRole('link', { name: `Open instance ${execution.correlationId}` }).click();
    await page.getByRole('heading', { name: /Flow instance/ }).waitFor({ timeout: 5000 });
    assert.match(page.url(), new RegExp(`instance=${execution.correlationId}`));
    const trigger = page.locator('li.trigger');
    assert.match((await trigger.textContent()) ?? '', /Trigger event: slack\.ReceivedMessage/);
    assert.match((await trigger.textContent()) ?? '', /echo hello from the page/);
    const step = page.locator(`li[data-execution="${execution.id}"]`);
    const stepText = (await step.textContent()) ?? '';
    assert.match(stepText, /Step get_message: slack\.SendMessage — succeeded/);
    assert.match(stepText, /"Msg": "hello from the page"/, 'the context the step set');
    assert.match(stepText, /you said:/, 'the command');
    assert.match(stepText, /slack\.MessageSent/, 'the result');
    assert.match(stepText, /Duration\d+ ms|Duration[\d.]+ s/);
    assert.equal(await step.getByRole('button', { name: 'Run again' }).count(), 0, 'nothing to run again');
    assert.deepEqual(errors, []);
  });

  test('the filters and "Older" page through the executions', async () => {
    for (const message of ['echo one', 'echo fail two', 'echo three', 'echo four']) await echo(message);
    const { page, errors } = await browser.newPage();
    await page.goto(`${console.url}/executions?limit=2`);
    const rows = page.locator('tbody tr');
    await rows.first().waitFor({ timeout: 5000 });
    assert.equal(await rows.count(), 2);
    await page.getByRole('button', { name: 'Older' }).click();
    await waitForRows(rows, 4);
    const total = store.listExecutions({ limit: 500 }).length;
    for (let shown = 4; shown < total; ) {
      await page.getByRole('button', { name: 'Older' }).click();
      shown = Math.min(shown + 2, total);
      await waitForRows(rows, shown);
    }
    await page.getByText('the oldest kept included').waitFor({ timeout: 5000 });
    assert.equal(await page.getByRole('button', { name: 'Older' }).count(), 0, 'no page after the last');
    assert.equal(await rows.count(), total);

    await page.goto(`${console.url}/executions`);
    // Loaded first: submitting the form while the list is being fetched would abort that request.
    await rows.first().waitFor({ timeout: 5000 });
    await page.getByLabel('Status').selectOption('failed');
    await page.getByLabel('Flow').fill('echo');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/status=failed/);
    await rows.first().waitFor({ timeout: 5000 });
    const statuses = await page.locator('tbody tr td:nth-child(2) .status').allTextContents();
    assert.ok(statuses.length >= 1);
    assert.deepEqual(new Set(statuses), new Set(['failed']));
    assert.match((await page.locator('caption').textContent()) ?? '', /executions of flow echo, failed/);

    await page.getByLabel('Since').fill('yesterday');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('alert').waitFor({ timeout: 5000 });
    assert.match((await page.getByRole('alert').textContent()) ?? '', /since takes/);
    // The 400 is an answer the page shows, not an error of the page.
    assert.deepEqual(
      errors.filter((error) => !/400/.test(error)),
      [],
    );
  });

  test('a failed execution run again shows the new one and the link, then its status once its result arrives', async () => {
    const failed = await echo('echo fail, then run again');
    assert.equal(failed.status, 'failed');
    const { page, errors, screenshot } = await browser.newPage();
    await page.goto(`${console.url}/executions?instance=${failed.correlationId}`);
    const step = page.locator(`li[data-execution="${failed.id}"]`);
    await step.waitFor({ timeout: 5000 });
    assert.match((await step.textContent()) ?? '', /failed/);
    assert.match((await step.textContent()) ?? '', /channel_not_found/);

    await step.getByRole('button', { name: 'Run again' }).click();
    const confirm = step.getByRole('group', { name: 'Confirm Run again' });
    assert.match((await confirm.textContent()) ?? '', /Send slack\.SendMessage again/);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(
      await step.getByRole('group', { name: 'Confirm Run again' }).count(),
      0,
      'cancel sends nothing',
    );
    assert.equal(store.executionsOf(failed.correlationId).length, 1);

    await step.getByRole('button', { name: 'Run again' }).click();
    await step.getByRole('button', { name: 'Yes, run it again' }).click();
    const retry = await whenDefined(() => store.getExecution(failed.id)?.retriedBy, 'the retry');
    const retried = page.locator(`li[data-execution="${retry}"]`);
    await retried.waitFor({ timeout: 5000 });
    await page.getByText(`Run again as ${retry}`, { exact: false }).first().waitFor({ timeout: 5000 });
    assert.match((await step.textContent()) ?? '', new RegExp(`Run again as ${retry}`));
    assert.match((await retried.textContent()) ?? '', new RegExp(`Run again of ${failed.id}`));
    assert.match((await retried.textContent()) ?? '', /— pending/);
    assert.equal(await step.getByRole('button', { name: 'Run again' }).count(), 0, 'run again once');

    await whenDefined(() => (slack.held.length ? true : undefined), 'the command sent again');
    await slack.release();
    await retried.getByText('— succeeded').waitFor({ timeout: 5000 });
    assert.match((await retried.textContent()) ?? '', /slack\.MessageSent/);
    await screenshot('execution-timeline');

    // The list says it too.
    await page.goto(`${console.url}/executions`);
    const row = page.locator(`tr[data-execution="${failed.id}"]`);
    await row.waitFor({ timeout: 5000 });
    assert.match((await row.textContent()) ?? '', /run again/);
    assert.deepEqual(errors, []);
  });

  test('at phone width the list and the timeline fit the screen, tables scrolling inside', async () => {
    const execution = await echo('echo narrow');
    const { page, errors } = await browser.newPage();
    await page.setViewportSize({ width: 375, height: 800 });
    for (const path of ['/executions', `/executions?instance=${execution.correlationId}`]) {
      await page.goto(`${console.url}${path}`);
      await page.locator(`[data-execution="${execution.id}"]`).first().waitFor({ timeout: 5000 });
      const width = await page.evaluate<number>('document.documentElement.scrollWidth');
      assert.ok(width <= 375, `${path} is ${width} px wide`);
    }
    assert.deepEqual(errors, []);
  });
});

describe('the Executions page without an engine', () => {
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

  test('says that no engine runs here', async () => {
    const { page } = await browser.newPage();
    await page.goto(`${console.url}/executions`);
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 5000 });
    assert.match((await alert.textContent()) ?? '', /no flow engine runs in this process/);
  });
});
