import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConsoleConfig } from '../../console/console-config.ts';
import { type RunningConsole, startConsole } from '../../console/console-server.ts';
import { MAX_FAILED_LOGINS_PER_MINUTE } from '../../console/login.ts';
import { MemoryBus } from '../../shared/bus/memory-bus.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { testLogger } from '../support/bus.ts';

const token = 'login-test-token-9876543210';

async function startTokenConsole(bus: MemoryBus): Promise<RunningConsole> {
  return startConsole({
    bus,
    logger: testLogger,
    config: parseConsoleConfig({ SWITCHBOARD_CONSOLE_PORT: '0', SWITCHBOARD_CONSOLE_TOKEN: token }),
  });
}

async function signIn(url: string, given: string, next = '/'): Promise<Response> {
  return fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: new URLSearchParams({ token: given, next }).toString(),
  });
}

function cookieOf(response: Response): string {
  const setCookie = response.headers.get('set-cookie') ?? '';
  return setCookie.split(';')[0] ?? '';
}

describe('signing in to a console with a token', () => {
  const bus = new MemoryBus();
  let console: RunningConsole;

  before(async () => {
    console = await startTokenConsole(bus);
  });
  after(async () => {
    await console.close();
    await bus.close();
  });

  test('a browser asking for a page without the token is sent to the login form; the API gets 401', async () => {
    const page = await fetch(`${console.url}/executions?flow=echo`, {
      redirect: 'manual',
      headers: { accept: 'text/html' },
    });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), `/login?next=${encodeURIComponent('/executions?flow=echo')}`);
    const form = await fetch(`${console.url}/login`);
    assert.equal(form.status, 200);
    assert.match(await form.text(), /<form method="post" action="\/login"/);
    const styles = await fetch(`${console.url}/console.css`);
    assert.equal(styles.status, 200, 'the form can look right before signing in');
    await styles.arrayBuffer();
    const api = await fetch(`${console.url}/api/packs`, { headers: { accept: 'text/html' } });
    assert.equal(api.status, 401);
    await api.arrayBuffer();
  });

  test('a wrong token shows the form again with the reason, and sets no cookie', async () => {
    const response = await signIn(console.url, 'not-the-token');
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('set-cookie'), null);
    assert.match(await response.text(), /role="alert">That is not the console token/);
  });

  test('the right token gives an HttpOnly, SameSite=Strict session cookie that opens the API until sign-out', async () => {
    const response = await signIn(console.url, token, '/live');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), '/live');
    const setCookie = response.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^switchboard_session=[\w-]{43}; /);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.doesNotMatch(setCookie, new RegExp(token), 'the cookie is not the token');
    const cookie = cookieOf(response);

    const api = await fetch(`${console.url}/api/packs`, { headers: { cookie } });
    assert.equal(api.status, 200);
    await api.arrayBuffer();

    const out = await fetch(`${console.url}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: console.url },
    });
    assert.equal(out.status, 303);
    const after = await fetch(`${console.url}/api/packs`, { headers: { cookie } });
    assert.equal(after.status, 401, 'the session ended');
    await after.arrayBuffer();
  });

  test('a state-changing request from another origin is refused even with a live session', async () => {
    const cookie = cookieOf(await signIn(console.url, token));
    const response = await fetch(`${console.url}/api/commands/slack/SendMessage`, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'cross_origin');
  });

  test('after signing in it goes back only to a page of this console, never to another site', async () => {
    for (const next of ['//evil.example/x', 'http://evil.example/', '/\\evil.example']) {
      const response = await signIn(console.url, token, next);
      assert.equal(response.headers.get('location'), '/', next);
    }
  });
});

describe('guessing the console token', () => {
  test(`is cut off after ${MAX_FAILED_LOGINS_PER_MINUTE} wrong tokens a minute, the right one included`, async () => {
    const bus = new MemoryBus();
    const console = await startTokenConsole(bus);
    try {
      for (let guess = 0; guess < MAX_FAILED_LOGINS_PER_MINUTE; guess++) {
        const response = await signIn(console.url, `guess-${guess}`);
        assert.equal(response.status, 401);
        await response.arrayBuffer();
      }
      const blocked = await signIn(console.url, token);
      assert.equal(blocked.status, 429);
      assert.equal(blocked.headers.get('retry-after'), '60');
      assert.equal(blocked.headers.get('set-cookie'), null);
      await blocked.arrayBuffer();
    } finally {
      await console.close();
      await bus.close();
    }
  });
});

describe('the login form in a browser', () => {
  const bus = new MemoryBus();
  let console: RunningConsole;
  let browser: TestBrowser;

  before(async () => {
    browser = await launchBrowser();
    console = await startTokenConsole(bus);
  });
  after(async () => {
    await browser?.close();
    await console?.close();
    await bus.close();
  });

  test('opening the console leads to the form; the token leads on to the Overview', async () => {
    const { page, errors, screenshot } = await browser.newPage();
    await page.goto(`${console.url}/`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');
    await screenshot('login');
    await page.getByLabel('Console token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${console.url}/`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Overview');
    assert.deepEqual(errors, []);
  });
});
