import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { showSetting } from '../../console/process-settings.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { testLogger } from '../support/bus.ts';

const SECRET = 'xoxb-must-never-show-1234';

describe('what the console shows of a setting', () => {
  test('a token, secret, password or key says only that it is set', () => {
    for (const name of [
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SMTP_PASSWORD',
      'SWITCHBOARD_API_TOKENS',
      'GITHUB_WEBHOOK_SECRET',
      'SOME_API_KEY',
    ]) {
      assert.deepEqual(showSetting({ name, value: SECRET }), {
        name,
        shown: 'set (hidden)',
        from: 'environment',
        meaning: undefined,
      });
    }
  });

  test('a URL loses its password, inline JSON is hidden, and other values are shown as they are', () => {
    assert.equal(
      showSetting({ name: 'AMQP_URL', value: `amqp://switchboard:${SECRET}@rabbit:5672` }).shown,
      'amqp://switchboard:***@rabbit:5672',
    );
    assert.equal(
      showSetting({ name: 'CI_WEBHOOK_GENERIC_CONFIG', value: `{"argo": {"secret": "${SECRET}"}}` }).shown,
      'inline JSON (hidden)',
    );
    assert.equal(showSetting({ name: 'SWITCHBOARD_FLOWS_DIR', value: './flows' }).shown, './flows');
  });

  test('an unset variable shows its default', () => {
    assert.deepEqual(
      showSetting({ name: 'SWITCHBOARD_CONSOLE_PORT', value: undefined, defaultText: '8090' }),
      {
        name: 'SWITCHBOARD_CONSOLE_PORT',
        shown: '8090',
        from: 'default',
        meaning: undefined,
      },
    );
  });
});

describe('This process, on the Overview', () => {
  const bus = new MemoryBus();
  let console: RunningConsole;
  let browser: TestBrowser;

  before(async () => {
    browser = await launchBrowser();
    console = await startConsole({
      bus,
      logger: testLogger,
      config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0' }),
      settings: [
        { name: 'AMQP_URL', value: `amqp://switchboard:${SECRET}@rabbit:5672` },
        { name: 'SLACK_BOT_TOKEN', value: SECRET, defaultText: 'none', meaning: 'the bot token' },
        { name: 'SWITCHBOARD_FLOWS_DIR', value: undefined, defaultText: './flows' },
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await console?.close();
    await bus.close();
  });

  test('GET /api/settings lists them redacted', async () => {
    const response = await fetch(`${console.url}/api/settings`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.doesNotMatch(text, new RegExp(SECRET));
    const { settings } = JSON.parse(text) as { settings: Array<{ name: string; shown: string }> };
    assert.deepEqual(
      settings.map(({ name, shown }) => [name, shown]),
      [
        ['AMQP_URL', 'amqp://switchboard:***@rabbit:5672'],
        ['SLACK_BOT_TOKEN', 'set (hidden)'],
        ['SWITCHBOARD_FLOWS_DIR', './flows'],
      ],
    );
  });

  test('the page shows each with where its value came from, and never the secret', async () => {
    const { page, errors } = await browser.newPage();
    await page.goto(`${console.url}/`);
    await page.getByText('3 variables, 2 set in the environment').click();
    const row = page.locator('tr[data-setting="SLACK_BOT_TOKEN"]');
    assert.match((await row.textContent()) ?? '', /set \(hidden\).*environment.*the bot token/);
    assert.match(
      (await page.locator('tr[data-setting="SWITCHBOARD_FLOWS_DIR"]').textContent()) ?? '',
      /\.\/flows.*default/,
    );
    assert.doesNotMatch(await page.content(), new RegExp(SECRET));
    assert.deepEqual(errors, []);
  });
});
